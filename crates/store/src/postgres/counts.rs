//! Indicators counted per kind, stored status and class from `kind_counts` (migration 003):
//! a kind's members counted in a few rows when the collection filters on nothing the totals
//! do not know (see [`Collection::counted_from_totals`]), and the table's rows folded together
//! by merges, which alone make many of them.

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::{Client, GenericClient};

use super::{count_of, millis};
use crate::collection::Collection;
use crate::error::Result;

/// How many rows `kind_counts` may hold before a merge folds them (one per kind, status and
/// class per statement that changed indicators; a sum over a few thousand is still quick).
const FOLD_AT: i64 = 4096;

/// A kind's members from the totals, corrected for the active indicators whose validity ended
/// since their status was refreshed (their effective status is `expired`).
pub(super) fn count_from_totals(
    conn: &mut Client,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<u64> {
    let class = collection.class.map(|c| c.as_str());
    let statuses: Vec<&str> = collection.status.iter().map(|s| s.as_str()).collect();
    let stored: i64 = conn
        .query_one(
            "SELECT coalesce(sum(n), 0)::int8 FROM kind_counts
             WHERE kind = $1 AND ($2::text IS NULL OR class = $2) AND status = ANY($3)",
            &[&kind.as_str(), &class, &statuses],
        )?
        .try_get(0)?;
    let sign = collection.lapse_sign();
    let lapsed: i64 = if sign == 0 {
        0
    } else {
        conn.query_one(
            "SELECT count(*) FROM indicators
             WHERE kind = $1 AND status = 'active' AND valid_until IS NOT NULL
               AND valid_until < $2 AND ($3::text IS NULL OR class = $3)",
            &[&kind.as_str(), &millis(now), &class],
        )?
        .try_get(0)?
    };
    Ok(count_of(stored + sign * lapsed))
}

/// Folds `kind_counts` into one row per kind, status and class once it holds more than
/// [`FOLD_AT`]; run inside a transaction holding the indicators' lock (so no other fold runs,
/// and rows other connections are adding, not yet visible, are left for the next).
pub(super) fn fold(tx: &mut impl GenericClient) -> Result<()> {
    let rows: i64 = tx
        .query_one("SELECT count(*) FROM kind_counts", &[])?
        .try_get(0)?;
    if rows > FOLD_AT {
        tx.execute(
            "WITH gone AS (DELETE FROM kind_counts RETURNING kind, status, class, n)
             INSERT INTO kind_counts (kind, status, class, n)
             SELECT kind, status, class, sum(n) FROM gone
             GROUP BY kind, status, class HAVING sum(n) <> 0",
            &[],
        )?;
    }
    Ok(())
}
