-- A version's copy for Web Mercator tiles: every row with its geometry transformed to
-- EPSG:3857 once, built in the background after the version is loaded (`tiles::mercator`).
-- ST_Transform of every feature was a fifth of a dense tile's time in PostgreSQL. NULL until
-- the copy is there; the copy is also one of the version's companions, dropped with it.
ALTER TABLE catalog.versions ADD COLUMN tile_table text;
