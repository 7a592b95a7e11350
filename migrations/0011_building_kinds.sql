-- Buildings and roof surfaces (from CityGML LoD2 or ALKIS) are dataset kinds of their own.
ALTER TABLE catalog.datasets DROP CONSTRAINT IF EXISTS datasets_kind_check;
ALTER TABLE catalog.datasets
    ADD CONSTRAINT datasets_kind_check
    CHECK (kind IN ('parcels', 'solar', 'aed', 'generic', 'buildings', 'roofs'));
