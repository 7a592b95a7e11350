-- OpenStreetMap extracts are a dataset kind; a version may own tables besides its feature
-- table (an OSM version's walking network), dropped with it.
ALTER TABLE catalog.datasets DROP CONSTRAINT IF EXISTS datasets_kind_check;
ALTER TABLE catalog.datasets
    ADD CONSTRAINT datasets_kind_check
    CHECK (kind IN ('parcels', 'solar', 'aed', 'generic', 'buildings', 'roofs', 'addresses', 'osm'));
ALTER TABLE catalog.versions ADD COLUMN companions text[] NOT NULL DEFAULT '{}';
