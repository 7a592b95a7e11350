-- Every change of a dataset's row (a version switch, settings, metadata, a deletion) is
-- announced at commit, so that every kreisgeo process drops what it cached of that dataset,
-- whichever process or node made the change.
CREATE FUNCTION catalog.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kreisgeo_catalog', COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END
$$;

CREATE TRIGGER datasets_changed AFTER INSERT OR UPDATE OR DELETE ON catalog.datasets
    FOR EACH ROW EXECUTE FUNCTION catalog.notify_change();
