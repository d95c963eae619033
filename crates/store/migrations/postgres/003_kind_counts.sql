-- How many indicators each kind holds, by stored status and class (SQLite's 010), so a capped
-- plan counts what it leaves unread from a few rows instead of a pass over a kind's millions.
-- Statement triggers add one row per kind, status and class a statement changed, never update
-- one: a merge split over two connections (see merge.rs) writes its halves at once, and two
-- writers of one counter row would wait on each other. Merges fold the rows together now and
-- then (`counts::fold`); a count sums them.
CREATE TABLE kind_counts (
    kind   text   COLLATE "C" NOT NULL,
    status text   NOT NULL,
    class  text   NOT NULL,
    n      bigint NOT NULL
);
CREATE INDEX kind_counts_by_kind ON kind_counts (kind);

INSERT INTO kind_counts (kind, status, class, n)
    SELECT kind, status, class, count(*) FROM indicators GROUP BY kind, status, class;

CREATE FUNCTION kind_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kind_counts (kind, status, class, n)
        SELECT kind, status, class, count(*) FROM added GROUP BY kind, status, class;
    RETURN NULL;
END $$;

CREATE FUNCTION kind_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kind_counts (kind, status, class, n)
        SELECT kind, status, class, -count(*) FROM removed GROUP BY kind, status, class;
    RETURN NULL;
END $$;

CREATE FUNCTION kind_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kind_counts (kind, status, class, n)
        SELECT kind, status, class, sum(n) FROM (
            SELECT kind, status, class, -1 AS n FROM before_change
            UNION ALL
            SELECT kind, status, class, 1 AS n FROM after_change
        ) AS moved
        GROUP BY kind, status, class HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER kind_counts_insert AFTER INSERT ON indicators
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION kind_counts_added();
CREATE TRIGGER kind_counts_delete AFTER DELETE ON indicators
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION kind_counts_removed();
CREATE TRIGGER kind_counts_update AFTER UPDATE ON indicators
    REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change
    FOR EACH STATEMENT EXECUTE FUNCTION kind_counts_changed();

-- Active indicators with an end of validity (SQLite's indicators_lapsing).
CREATE INDEX indicators_lapsing ON indicators (kind, valid_until)
    WHERE status = 'active' AND valid_until IS NOT NULL;
