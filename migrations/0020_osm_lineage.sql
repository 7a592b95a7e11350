-- An OpenStreetMap extract's version is its PBF file read through the OsmChange files applied
-- since: the file is kept (once, by its SHA-256, in chunks below PostgreSQL's 1 GB field limit)
-- and each version names its file and its overlay (the applied changes folded into one gzipped
-- OsmChange document). A file no kept version names is removed with the version.
CREATE TABLE catalog.osm_extracts (
    sha256 text PRIMARY KEY,
    bytes bigint NOT NULL,
    kept_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE catalog.osm_extract_chunks (
    sha256 text NOT NULL REFERENCES catalog.osm_extracts (sha256) ON DELETE CASCADE,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (sha256, seq)
);
CREATE TABLE catalog.osm_lineage (
    version_id bigint PRIMARY KEY REFERENCES catalog.versions (id) ON DELETE CASCADE,
    extract_sha256 text NOT NULL REFERENCES catalog.osm_extracts (sha256),
    overlay bytea,
    changes_applied integer NOT NULL DEFAULT 0
);
CREATE INDEX osm_lineage_extract ON catalog.osm_lineage (extract_sha256);
