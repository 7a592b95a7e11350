-- API keys scoped to datasets and actions, and the audit log of every admin action.

-- NULL datasets: every dataset, and the catalog-wide settings (the publisher). Keys made before
-- scopes existed keep the full scope they had.
ALTER TABLE catalog.api_keys
    ADD COLUMN datasets text[],
    ADD COLUMN actions text[] NOT NULL DEFAULT '{ingest,metadata,rollback,delete}'
        CHECK (actions <@ '{ingest,metadata,rollback,delete}'::text[] AND cardinality(actions) > 0);

CREATE TABLE catalog.audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    key_id     bigint REFERENCES catalog.api_keys (id),
    action     text NOT NULL,
    -- NULL for catalog-wide actions (the publisher)
    dataset_id text,
    outcome    text NOT NULL CHECK (outcome IN ('accepted', 'succeeded', 'failed', 'denied')),
    status     smallint,
    detail     text,
    request_id text
);
CREATE INDEX audit_log_dataset ON catalog.audit_log (dataset_id, at);
CREATE INDEX audit_log_key ON catalog.audit_log (key_id, at);
