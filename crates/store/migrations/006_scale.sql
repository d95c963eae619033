-- Costs that grow with the work, not with the library: a change counter the engine compares to
-- tell an unchanged run, what each workflow remembers of its last complete run, and an index
-- that serves a collection's members of one kind in rank order. Times are Unix milliseconds.

-- One row: how many committed changes could have altered some collection's members (merges,
-- pulls and their withdrawals, status refreshes, disabling, collection edits). It only grows;
-- a workflow whose remembered counter equals it knows the library is as its last run saw it.
CREATE TABLE library_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL
);
INSERT INTO library_changes (id, counter) VALUES (1, 0);

-- The last complete run of each workflow: the change counter it read before reading the
-- collection, a digest of everything else its plan depended on, and when the run must be done
-- in full again even if nothing changed (an expiry or renewal falling due). No row: no run to
-- rely on, the next run is a full one.
CREATE TABLE workflow_state (
    workflow     TEXT    PRIMARY KEY,
    counter      INTEGER NOT NULL,
    digest       TEXT    NOT NULL,
    next_due     INTEGER,
    completed_at INTEGER NOT NULL
);

-- How many times each claimant's claims in each space (one list of one target) were written. A
-- workflow's plan depends on every claim in its space (the list's budget, joins, releases), so
-- its unchanged run compares these with what its last complete run saw. Bumped in the
-- transaction of the ledger write; a claim moved from one space to another bumps both.
CREATE TABLE ledger_changes (
    space    TEXT    NOT NULL,
    claimant TEXT    NOT NULL,
    counter  INTEGER NOT NULL,
    PRIMARY KEY (space, claimant)
) WITHOUT ROWID;

-- A collection's members of one kind in rank order (score, unscored last; then last seen; then
-- value), so a capped workflow reads its top N by walking the index and stops: no sort of the
-- whole kind. This revises 001's choice of no such index: a re-sighting now moves one index
-- entry, the price of plans that do not grow with the library. `value` makes the order total
-- (ties in score and recency are common after a bulk import) without a sort of the tied rows.
CREATE INDEX indicators_by_rank ON indicators (kind, score DESC, last_seen DESC, value);
