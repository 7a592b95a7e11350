-- Several publishers on one portal ("Einer für alle": the county runs it for its
-- municipalities). catalog.publisher stays the portal's own (the county's); each further
-- publisher has an id (its CKAN organization name) and a profile of the same shape. A dataset
-- belongs to one (NULL: the county's); an API key may be bound to one publisher's datasets.
CREATE TABLE catalog.publishers (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{1,99}$'),
    profile    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE catalog.datasets ADD COLUMN publisher_id text REFERENCES catalog.publishers (id);
CREATE INDEX datasets_publisher ON catalog.datasets (publisher_id);
ALTER TABLE catalog.api_keys ADD COLUMN publisher_id text REFERENCES catalog.publishers (id);
