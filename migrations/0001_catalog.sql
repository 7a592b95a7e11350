-- The catalog: which datasets exist, their versions, and which version each one serves.
-- Feature data lives in schema "data", one table per dataset version (see src/ingest).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE SCHEMA IF NOT EXISTS catalog;
CREATE SCHEMA IF NOT EXISTS data;

CREATE TABLE catalog.datasets (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,47}$'),
    kind           text NOT NULL CHECK (kind IN ('parcels', 'solar', 'aed', 'generic')),
    title          text NOT NULL,
    description    text,
    active_version bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.versions (
    id            bigserial PRIMARY KEY,
    dataset_id    text NOT NULL REFERENCES catalog.datasets (id) ON DELETE CASCADE,
    table_name    text NOT NULL UNIQUE,
    source_name   text NOT NULL,
    source_format text NOT NULL,
    source_sha256 text NOT NULL,
    source_crs    integer NOT NULL,
    -- [{ "name": sql column, "original": name in the source, "type": "integer"|"float"|... }]
    columns       jsonb NOT NULL,
    has_z         boolean NOT NULL DEFAULT false,
    feature_count bigint NOT NULL,
    -- extent in CRS84: minx, miny, maxx, maxy; NULL when every geometry is empty/null
    bbox          double precision[],
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX versions_dataset_idx ON catalog.versions (dataset_id, id DESC);

ALTER TABLE catalog.datasets
    ADD CONSTRAINT datasets_active_version_fk
    FOREIGN KEY (active_version) REFERENCES catalog.versions (id) DEFERRABLE INITIALLY DEFERRED;
