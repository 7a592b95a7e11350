-- API keys for the admin API (only a SHA-256 of the secret is stored) and ingest jobs.
CREATE TABLE catalog.api_keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    -- the public part of the key, used to find it; the secret part is only hashed
    prefix      text NOT NULL UNIQUE,
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE catalog.ingest_jobs (
    id          bigserial PRIMARY KEY,
    dataset_id  text NOT NULL,
    key_id      bigint REFERENCES catalog.api_keys (id),
    state       text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    source_name text NOT NULL,
    bytes       bigint NOT NULL,
    report      jsonb,
    error       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
