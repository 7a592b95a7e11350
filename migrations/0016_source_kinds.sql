-- More kinds of sources: a WFS 2.0 GetFeature request (paged), an Overpass API query.
ALTER TABLE catalog.sources DROP CONSTRAINT IF EXISTS sources_kind_check;
ALTER TABLE catalog.sources
    ADD CONSTRAINT sources_kind_check CHECK (kind IN ('ogcapi', 'file', 'wfs', 'overpass'));
-- The Overpass QL of an overpass source.
ALTER TABLE catalog.sources ADD COLUMN query text;
