-- What each run did, item by item, for the status page's drill-down: the values it added,
-- updated or removed, the ones that failed (with the target's answer), the ones the guard
-- refused (with the rule), the removals the brake held, and for trigger calls each value's
-- outcome and when its block is lifted. Runs keep a sample per outcome (their counts hold
-- the totals), so a 60,000-object first sync does not write 60,000 rows.
CREATE TABLE run_items (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    outcome TEXT    NOT NULL,
    kind    TEXT,
    value   TEXT    NOT NULL,
    detail  TEXT,
    until   INTEGER,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- What a run was about beyond its name: the alert id of a trigger call.
ALTER TABLE runs ADD COLUMN subject TEXT;
