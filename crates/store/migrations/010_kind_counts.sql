-- How many indicators each kind holds, by stored status and class, kept by triggers on every
-- insert, delete and change of those columns. A capped workflow reads its best N members of a
-- kind and counts the rest for its plan's skips; 009's covering index made that count read the
-- index alone, but still all of it (0.78 s for 4,500,000 domains), so a plan's cost grew with
-- the library. From this table the count is a few rows, plus the active indicators whose
-- validity has ended since the last status refresh (time alone makes them 'expired'), found on
-- `indicators_lapsing`.
CREATE TABLE kind_counts (
    kind   TEXT    NOT NULL,
    status TEXT    NOT NULL,
    class  TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (kind, status, class)
) WITHOUT ROWID;

INSERT INTO kind_counts (kind, status, class, n)
    SELECT kind, status, class, count(*) FROM indicators GROUP BY kind, status, class;

CREATE TRIGGER kind_counts_insert AFTER INSERT ON indicators BEGIN
    INSERT INTO kind_counts (kind, status, class, n) VALUES (NEW.kind, NEW.status, NEW.class, 1)
        ON CONFLICT (kind, status, class) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER kind_counts_delete AFTER DELETE ON indicators BEGIN
    UPDATE kind_counts SET n = n - 1
        WHERE kind = OLD.kind AND status = OLD.status AND class = OLD.class;
END;

CREATE TRIGGER kind_counts_update AFTER UPDATE OF kind, status, class ON indicators
    WHEN OLD.kind <> NEW.kind OR OLD.status <> NEW.status OR OLD.class <> NEW.class
BEGIN
    UPDATE kind_counts SET n = n - 1
        WHERE kind = OLD.kind AND status = OLD.status AND class = OLD.class;
    INSERT INTO kind_counts (kind, status, class, n) VALUES (NEW.kind, NEW.status, NEW.class, 1)
        ON CONFLICT (kind, status, class) DO UPDATE SET n = n + 1;
END;

-- Active indicators with an end of validity, by kind and that end: the ones time has expired
-- since their status was last refreshed are a range of it.
CREATE INDEX indicators_lapsing ON indicators (kind, valid_until)
    WHERE status = 'active' AND valid_until IS NOT NULL;
