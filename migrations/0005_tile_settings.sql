-- How a dataset's vector tiles are cut: feature cap, the zoom attributes start at, and which
-- attributes. Empty means kreisgeo's defaults.
ALTER TABLE catalog.datasets ADD COLUMN tiles jsonb NOT NULL DEFAULT '{}';
