-- Whether a geometry stored in a projected CRS lies on the globe once transformed to WGS 84
-- longitude/latitude. False, not an error, when PROJ cannot transform it at all (coordinates far
-- outside the projection's domain, as with a wrong --crs), so that validation can report the
-- feature instead of failing the whole ingest. Only called on the rare data that needs it.
CREATE FUNCTION catalog.on_globe(g geometry) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN ST_Transform(g, 4326) @ ST_MakeEnvelope(-180, -90, 180, 90, 4326);
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END
$$;
