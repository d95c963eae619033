-- The library: indicators merged from sightings, with one vote per reporting source, tags,
-- and saved collections. Times are Unix milliseconds (UTC).

CREATE TABLE indicators (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    display     TEXT,
    -- Highest score among the sources that have not revoked it (all sources once all have).
    score       INTEGER CHECK (score BETWEEN 0 AND 10),
    class       TEXT    NOT NULL CHECK (class IN ('indicator', 'asset')),
    -- Derived from disabled, revoked and valid_until; kept as a column so the engine can find
    -- what changed status. Refreshed by every merge and by refresh_status(now).
    status      TEXT    NOT NULL CHECK (status IN ('active', 'expired', 'revoked', 'disabled')),
    -- Every source that reported it has revoked it.
    revoked     INTEGER NOT NULL DEFAULT 0,
    -- Switched off by a person; survives later sightings.
    disabled    INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    valid_until INTEGER,
    -- How many sightings were merged into it.
    sightings   INTEGER NOT NULL DEFAULT 1,
    updated_at  INTEGER NOT NULL,
    UNIQUE (kind, value)
);

-- No index on score or last_seen: every re-sighting changes them, so such an index would be
-- rewritten on every merge, while a collection query sorts once (about a second per million).

-- One row per (indicator, source): that source's latest score and whether it revoked it.
CREATE TABLE indicator_sources (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    source       TEXT    NOT NULL,
    score        INTEGER CHECK (score BETWEEN 0 AND 10),
    revoked      INTEGER NOT NULL DEFAULT 0,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, source)
) WITHOUT ROWID;

CREATE TABLE indicator_tags (
    indicator_id INTEGER NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    tag          TEXT    NOT NULL,
    PRIMARY KEY (indicator_id, tag)
) WITHOUT ROWID;

-- Saved filters; the definition is the JSON form of store::Collection.
CREATE TABLE collections (
    name       TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
