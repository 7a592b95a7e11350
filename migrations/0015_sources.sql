-- Datasets fed from remote sources (issue 22): another portal's OGC API Features collection, a
-- file by URL. What the last request learnt (validators for conditional requests) and how the
-- last run ended are kept with the source.
CREATE TABLE catalog.sources (
    id            bigserial PRIMARY KEY,
    dataset_id    text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('ogcapi', 'file')),
    url           text NOT NULL,
    -- The dataset kind the features are loaded as (aed, parcels …).
    dataset_kind  text NOT NULL DEFAULT 'generic',
    crs           integer,
    interval_s    integer NOT NULL DEFAULT 3600 CHECK (interval_s >= 10),
    -- (canonical attribute, source column) pairs, as `ingest --map`.
    mapping       jsonb NOT NULL DEFAULT '[]',
    page_size     integer NOT NULL DEFAULT 1000 CHECK (page_size BETWEEN 1 AND 10000),
    etag          text,
    last_modified text,
    last_run_at   timestamptz,
    last_ok_at    timestamptz,
    last_status   text CHECK (last_status IN ('new-version', 'unchanged', 'failed')),
    last_error    text,
    last_version  bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, url)
);
CREATE INDEX sources_dataset ON catalog.sources (dataset_id);
