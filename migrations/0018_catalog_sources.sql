-- Sources that are another portal's catalog entry: a CKAN package, a DCAT-AP dataset document;
-- the download distribution in the best format is fetched.
ALTER TABLE catalog.sources DROP CONSTRAINT IF EXISTS sources_kind_check;
ALTER TABLE catalog.sources
    ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('ogcapi', 'file', 'wfs', 'overpass', 'ckan', 'dcat'));
