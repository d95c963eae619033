-- Feeds the daemon pulls: the state of each one's last pull and of the snapshot in force, and
-- the feed's own date for each vote. Times are Unix milliseconds (UTC).

-- What the source itself said about the value's date (a first-seen column, a STIX `modified`,
-- a MISP timestamp); `last_seen` is when a pull last listed it.
ALTER TABLE indicator_sources ADD COLUMN reported_at INTEGER;

CREATE TABLE feeds (
    name          TEXT    PRIMARY KEY,
    -- The last pull attempt: when it ended, how (applied, unchanged, held, failed) and why.
    last_pull     INTEGER NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'held', 'failed')),
    reason        TEXT,
    -- Counts of the last pull that read the feed: values listed, new to this source, withdrawn
    -- from it, invalid records.
    listed        INTEGER NOT NULL DEFAULT 0,
    new           INTEGER NOT NULL DEFAULT 0,
    withdrawn     INTEGER NOT NULL DEFAULT 0,
    invalid       INTEGER NOT NULL DEFAULT 0,
    -- Values the source stands behind after the last pull (votes not withdrawn).
    live          INTEGER NOT NULL DEFAULT 0,
    -- The snapshot (or increment) in force: when it was applied, when a pull last confirmed
    -- it (applied, or found unchanged), and what identifies its download.
    applied_at    INTEGER,
    confirmed_at  INTEGER,
    etag          TEXT,
    last_modified TEXT,
    content_hash  TEXT,
    -- The content hash of a held download: `pull --accept` applies that download only.
    held_hash     TEXT,
    -- Incremental feeds (TAXII, MISP): where the next pull starts, committed with the data.
    cursor        TEXT
);
