-- What the engine keeps between runs: the ledger of pushed values, runs, feed cursors and the
-- values guards stopped. Times are Unix milliseconds (UTC).

-- What iocsync pushed to each target, with the attributes it pushed (JSON): the basis of diffs.
CREATE TABLE ledger (
    target     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    attributes TEXT    NOT NULL,
    remote_id  TEXT,
    pushed_at  INTEGER NOT NULL,
    PRIMARY KEY (target, kind, value)
) WITHOUT ROWID;

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow    TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    counts      TEXT    NOT NULL DEFAULT '{}',
    errors      TEXT    NOT NULL DEFAULT '[]'
);

CREATE INDEX runs_by_workflow ON runs (workflow, started_at DESC);

-- Where each feed left off (a TAXII added_after timestamp, a MISP page, ...).
CREATE TABLE cursors (
    feed       TEXT    PRIMARY KEY,
    cursor     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every value a guard kept out of an export, with the rule that stopped it.
CREATE TABLE guard_drops (
    id     INTEGER PRIMARY KEY,
    kind   TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    target TEXT,
    rule   TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    at     INTEGER NOT NULL
);

CREATE INDEX guard_drops_by_time ON guard_drops (at DESC);
