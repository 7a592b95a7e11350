-- Version tables loaded from now on carry each feature's size for vector tiles (the longer side
-- of its bounding box, in the table's CRS), computed from the coordinates while they stream in:
-- the tile query thins and orders by it without deserialising every geometry twice. Older
-- versions keep computing it from the geometry.
ALTER TABLE catalog.versions ADD COLUMN tile_sizes boolean NOT NULL DEFAULT false;

-- A condition that keeps a query out of parallel plans (kreisgeo's tile renders: starting a
-- worker takes longer than the few thousand PostGIS calls it would share). Parallel unsafe: the
-- planner then plans the whole query serially; immutable: folded to true before it runs.
CREATE FUNCTION catalog.serial_plan() RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL UNSAFE AS 'SELECT true';
