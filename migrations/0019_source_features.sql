-- A dataset fed by several sources is one register merged from each source's last good answer,
-- kept here per source (a source that answers "unchanged" or fails still contributes what it
-- gave last). `staged_at` is when a source's answer last changed: among sources of equal
-- priority the newest answer's attributes win.
CREATE TABLE catalog.source_features (
    source_id bigint NOT NULL REFERENCES catalog.sources (id) ON DELETE CASCADE,
    remote_id text NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    attrs jsonb NOT NULL
);
CREATE INDEX source_features_source ON catalog.source_features (source_id);

ALTER TABLE catalog.sources
    ADD COLUMN priority integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 1000),
    ADD COLUMN staged_sha256 text,
    ADD COLUMN staged_at timestamptz;
