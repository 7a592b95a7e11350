-- Addresses (official house coordinates, ALKIS Lagebezeichnungen) are a dataset kind too.
ALTER TABLE catalog.datasets DROP CONSTRAINT IF EXISTS datasets_kind_check;
ALTER TABLE catalog.datasets
    ADD CONSTRAINT datasets_kind_check
    CHECK (kind IN ('parcels', 'solar', 'aed', 'generic', 'buildings', 'roofs', 'addresses'));
