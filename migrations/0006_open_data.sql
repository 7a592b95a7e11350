-- Open-data metadata (DCAT-AP.de): what a county says once about itself, and per dataset what
-- only that dataset can say. Both as JSON documents validated by kreisgeo (src/opendata).
CREATE TABLE catalog.publisher (
    -- one row: the county's profile
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    profile jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE catalog.datasets ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE catalog.datasets ADD COLUMN metadata_modified timestamptz;
