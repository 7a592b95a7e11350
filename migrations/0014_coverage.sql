-- The AED coverage (issue 21) is a dataset kind of its own; what it is computed from is kept,
-- so that a new version of the defibrillators, the network or the addresses recomputes it.
ALTER TABLE catalog.datasets DROP CONSTRAINT IF EXISTS datasets_kind_check;
ALTER TABLE catalog.datasets
    ADD CONSTRAINT datasets_kind_check
    CHECK (kind IN ('parcels', 'solar', 'aed', 'generic', 'buildings', 'roofs', 'addresses', 'osm',
                    'coverage'));
CREATE TABLE catalog.coverage (
    dataset_id text PRIMARY KEY,
    aed text NOT NULL,
    network text NOT NULL,
    addresses text NOT NULL,
    threshold_min float8 NOT NULL,
    speed_kmh float8 NOT NULL,
    snap_max_m float8 NOT NULL,
    -- The moment of the "open at a given time" minutes, local German time; NULL: the moment of
    -- each computation.
    at text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
