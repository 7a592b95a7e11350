-- A deleted dataset keeps its row (and its metadata) as a tombstone for a while, so that
-- incremental harvesters learn of the deletion; its versions and tables go at once.
ALTER TABLE catalog.datasets ADD COLUMN deleted_at timestamptz;
CREATE INDEX datasets_deleted_idx ON catalog.datasets (deleted_at) WHERE deleted_at IS NOT NULL;
