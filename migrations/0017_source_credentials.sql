-- Where a source's credentials are read from at each run: an environment variable or a file,
-- never the catalog itself ("env:NAME" or "file:/absolute/path").
ALTER TABLE catalog.sources ADD COLUMN credentials text
    CHECK (credentials ~ '^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$');
