-- Bulk downloads: each file built once per version and format, stored in 1 MiB chunks so that
-- every node serves the same bytes (and a replica has them too), ranges are read chunk by
-- chunk, and pruning a version drops its files with it.
CREATE TABLE catalog.downloads (
    id          bigserial PRIMARY KEY,
    version_id  bigint NOT NULL REFERENCES catalog.versions (id) ON DELETE CASCADE,
    format      text NOT NULL CHECK (format IN ('geojson', 'csv', 'fgb', 'gpkg')),
    srid        integer NOT NULL,
    bytes       bigint NOT NULL,
    sha256      text NOT NULL,
    features    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, format, srid)
);

CREATE TABLE catalog.download_chunks (
    download_id bigint NOT NULL REFERENCES catalog.downloads (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (download_id, seq)
);
-- Mostly compressed formats: no second compression attempt, and substrings read directly.
ALTER TABLE catalog.download_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
