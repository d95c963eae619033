-- Ownership: who wants each value on a target, the library's identity, and run outcomes for
-- the removal brake and for runs whose process died. Times are Unix milliseconds (UTC).

-- A ledger row is one *claim*: the ledger key in `target` names the claimant (a workflow, the
-- one-off `block`, a trigger) and `space` the list on a target the object lives in (a Vision
-- One list, an XDR block list, a Deep Security IP-list family). A value leaves the target only
-- when the last claim on it in its space goes. Rows written before this migration get their
-- space from the engine, which knows each claimant's target and list.
ALTER TABLE ledger ADD COLUMN space TEXT NOT NULL DEFAULT '';
CREATE INDEX ledger_by_space ON ledger (space, kind, value);

-- Facts about the library itself. `id` is random, made once with the library, and written into
-- the marker of every object it creates, so a run tells objects of this library (orphans, when
-- no ledger row knows them) from objects of another iocsync and from foreign ones.
CREATE TABLE library_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO library_meta (key, value) VALUES ('id', lower(hex(randomblob(4))));

-- Runs gain `held` (finished, but the brake held its removals) and `interrupted` (its process
-- died; marked when another process takes the workflow's lease over).
CREATE TABLE runs_004 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow    TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL CHECK (status IN
                    ('running', 'succeeded', 'partial', 'failed', 'held', 'interrupted')),
    counts      TEXT    NOT NULL DEFAULT '{}',
    errors      TEXT    NOT NULL DEFAULT '[]'
);
INSERT INTO runs_004 (id, workflow, started_at, finished_at, status, counts, errors)
    SELECT id, workflow, started_at, finished_at, status, counts, errors FROM runs;
DROP TABLE runs;
ALTER TABLE runs_004 RENAME TO runs;
CREATE INDEX runs_by_workflow ON runs (workflow, started_at DESC);

-- A lease holder on this host is judged by its pid *and* its process start stamp, so a pid
-- reused by another process does not keep a dead holder's lease alive.
ALTER TABLE leases ADD COLUMN started TEXT;
