-- A capped workflow reads only its best N members of a kind and counts the rest (the plan says
-- how many were left over the cap). 006's rank index served the read but not the count: the
-- effective status (status, valid_until) and the class lived only in the table, so a count
-- visited every row. With them at the end of the index, the count reads the index alone
-- (about four times faster on a million members) and the ranked read is unchanged.
DROP INDEX indicators_by_rank;
CREATE INDEX indicators_by_rank
    ON indicators (kind, score DESC, last_seen DESC, value, status, valid_until, class);
