-- The catalog's search index: what CKAN's package_search and package_show look datasets up by,
-- kept on the dataset row so that a query reads only the page it answers (Land scale:
-- thousands of datasets). The values are the resolved metadata (kind defaults, publisher), which
-- only kreisgeo computes: a trigger counts every change of what they depend on in
-- search_generation, and kreisgeo rewrites the rows whose indexed generation lags before it
-- searches (search_indexed = the generation the values are of).
ALTER TABLE catalog.datasets
    ADD COLUMN search_generation bigint NOT NULL DEFAULT 1,
    ADD COLUMN search_indexed bigint,
    ADD COLUMN ckan_id text,
    ADD COLUMN search_title text,
    ADD COLUMN search_tags text[],
    -- name, title, description and keywords with German stemming: what q's words are found
    -- in (q "Flurstücke" finds "Flurstück").
    ADD COLUMN search_doc tsvector,
    ADD COLUMN search_modified timestamptz;

CREATE FUNCTION catalog.datasets_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.kind, NEW.title, NEW.description, NEW.metadata, NEW.metadata_modified,
        NEW.publisher_id, NEW.active_version, NEW.deleted_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.kind, OLD.title, OLD.description, OLD.metadata, OLD.metadata_modified,
        OLD.publisher_id, OLD.active_version, OLD.deleted_at, OLD.created_at) THEN
        NEW.search_generation := OLD.search_generation + 1;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER datasets_search_changed BEFORE UPDATE ON catalog.datasets
    FOR EACH ROW EXECUTE FUNCTION catalog.datasets_search_changed();

CREATE INDEX datasets_search_stale ON catalog.datasets (id)
    WHERE search_indexed IS DISTINCT FROM search_generation;
CREATE UNIQUE INDEX datasets_ckan_id ON catalog.datasets (ckan_id);
CREATE INDEX datasets_search_modified ON catalog.datasets (search_modified);
CREATE INDEX datasets_search_title ON catalog.datasets (search_title);
CREATE INDEX datasets_search_doc ON catalog.datasets USING gin (search_doc);
CREATE INDEX datasets_search_tags ON catalog.datasets USING gin (search_tags);

-- Writing the index is no change of the dataset: no announcement (migration 0009) for it, so
-- that caches are not dropped by a search. Any other change of a row is announced as before.
DROP TRIGGER datasets_changed ON catalog.datasets;
CREATE TRIGGER datasets_changed AFTER INSERT OR DELETE ON catalog.datasets
    FOR EACH ROW EXECUTE FUNCTION catalog.notify_change();
CREATE TRIGGER datasets_updated AFTER UPDATE ON catalog.datasets
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - ARRAY['search_indexed', 'ckan_id', 'search_title', 'search_tags',
                                 'search_doc', 'search_modified'])
          IS DISTINCT FROM
          (to_jsonb(NEW) - ARRAY['search_indexed', 'ckan_id', 'search_title', 'search_tags',
                                 'search_doc', 'search_modified']))
    EXECUTE FUNCTION catalog.notify_change();

-- A built or removed download changes the dataset's catalog entries (its distributions): it
-- is announced as a change of the dataset.
CREATE FUNCTION catalog.notify_download() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kreisgeo_catalog', v.dataset_id)
       FROM catalog.versions v WHERE v.id = COALESCE(NEW.version_id, OLD.version_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER downloads_changed AFTER INSERT OR DELETE ON catalog.downloads
    FOR EACH ROW EXECUTE FUNCTION catalog.notify_download();

-- A publisher's profile is part of every entry of its datasets: announced as "*", everything.
CREATE FUNCTION catalog.notify_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kreisgeo_catalog', '*');
    RETURN NULL;
END
$$;
CREATE TRIGGER publisher_changed AFTER INSERT OR UPDATE OR DELETE ON catalog.publisher
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.notify_everything();
CREATE TRIGGER publishers_changed AFTER INSERT OR UPDATE OR DELETE ON catalog.publishers
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.notify_everything();
