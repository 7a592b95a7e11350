-- The JSON ingest report of each version (counts, problems, source CRS, checksum).
ALTER TABLE catalog.versions ADD COLUMN report jsonb;
