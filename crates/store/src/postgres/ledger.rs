//! The ledger in PostgreSQL: claims upserted and removed per call in one transaction, set-based
//! (arrays), under the ledger's advisory lock so the spaces a write leaves are read and
//! counted without another writer in between; read per target, space or value.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indicator::Kind;
use postgres::{Client, Row};

use super::{count_of, from_json, from_millis, locks, millis, parse_kind, to_json};
use crate::error::{Error, Result};
use crate::ledger::LedgerEntry;

pub(super) fn ledger_apply(
    conn: &mut Client,
    target: &str,
    upserts: &[LedgerEntry],
    removals: &[(Kind, String)],
) -> Result<usize> {
    // One row per (target, kind, value), the last given winning, as one statement per entry
    // would leave it (a remote id given once is kept).
    let mut last: HashMap<(&str, Kind, &str), usize> = HashMap::new();
    let mut rows: Vec<(&LedgerEntry, Option<&str>)> = Vec::new();
    for e in upserts {
        let key = (e.key.as_str(), e.kind, e.value.as_str());
        match last.get(&key) {
            Some(&at) => {
                let remote = e.remote_id.as_deref().or(rows[at].1);
                rows[at] = (e, remote);
            }
            None => {
                last.insert(key, rows.len());
                rows.push((e, e.remote_id.as_deref()));
            }
        }
    }
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::LEDGER])?;
    // A batch joins a few thousand keys to a ledger of any size.
    super::keyed_plans(&mut tx)?;
    let mut touched: BTreeSet<(String, String)> = BTreeSet::new();
    if !rows.is_empty() {
        let targets: Vec<&str> = rows.iter().map(|(e, _)| e.key.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|(e, _)| e.kind.as_str()).collect();
        let values: Vec<&str> = rows.iter().map(|(e, _)| e.value.as_str()).collect();
        let spaces: Vec<&str> = rows.iter().map(|(e, _)| e.space.as_str()).collect();
        let attributes = rows
            .iter()
            .map(|(e, _)| to_json("ledger attributes", &e.attributes))
            .collect::<Result<Vec<String>>>()?;
        let remote_ids: Vec<Option<&str>> = rows.iter().map(|(_, r)| *r).collect();
        let pushed: Vec<i64> = rows.iter().map(|(e, _)| millis(e.pushed_at)).collect();
        // The spaces the claims leave: a claim that moves leaves its old space.
        let left = tx.query(
            "SELECT DISTINCT l.space, l.target
             FROM ledger l JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[])
                  AS t(target, kind, value, space)
               ON l.target = t.target AND l.kind = t.kind AND l.value = t.value
             WHERE l.space <> t.space",
            &[&targets, &kinds, &values, &spaces],
        )?;
        for row in &left {
            touched.insert((row.try_get(0)?, row.try_get(1)?));
        }
        for (e, _) in &rows {
            touched.insert((e.space.clone(), e.key.clone()));
        }
        tx.execute(
            "INSERT INTO ledger AS l (target, kind, value, attributes, remote_id, pushed_at, space)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::int8[], $7::text[])
             ON CONFLICT (target, kind, value) DO UPDATE SET
                attributes = excluded.attributes,
                space = excluded.space,
                remote_id = coalesce(excluded.remote_id, l.remote_id),
                pushed_at = excluded.pushed_at",
            &[
                &targets,
                &kinds,
                &values,
                &attributes,
                &remote_ids,
                &pushed,
                &spaces,
            ],
        )?;
    }
    let mut removed = 0;
    if !removals.is_empty() {
        let kinds: Vec<&str> = removals.iter().map(|(k, _)| k.as_str()).collect();
        let values: Vec<&str> = removals.iter().map(|(_, v)| v.as_str()).collect();
        let gone = tx.query(
            "DELETE FROM ledger l USING unnest($2::text[], $3::text[]) AS t(kind, value)
             WHERE l.target = $1 AND l.kind = t.kind AND l.value = t.value
             RETURNING l.space",
            &[&target, &kinds, &values],
        )?;
        removed = gone.len();
        for row in &gone {
            touched.insert((row.try_get(0)?, target.to_owned()));
        }
    }
    for (space, claimant) in &touched {
        bump_space(&mut tx, space, claimant)?;
    }
    tx.commit()?;
    Ok(removed)
}

/// Counts one write of `claimant`'s claims in `space`.
fn bump_space(conn: &mut impl postgres::GenericClient, space: &str, claimant: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO ledger_changes AS c (space, claimant, counter) VALUES ($1, $2, 1)
         ON CONFLICT (space, claimant) DO UPDATE SET counter = c.counter + 1",
        &[&space, &claimant],
    )?;
    Ok(())
}

pub(super) fn ledger_changes(conn: &mut Client, space: &str) -> Result<Vec<(String, u64)>> {
    let rows = conn.query(
        "SELECT claimant, counter FROM ledger_changes WHERE space = $1 ORDER BY claimant",
        &[&space],
    )?;
    rows.iter()
        .map(|row| {
            let counter: i64 = row.try_get(1)?;
            Ok((
                row.try_get(0)?,
                u64::try_from(counter)
                    .map_err(|e| Error::corrupt("ledger change counter", counter.to_string(), e))?,
            ))
        })
        .collect()
}

/// The columns of a ledger row, in the order [`ledger_row`] reads them.
const LEDGER_COLUMNS: &str = "target, space, kind, value, attributes, remote_id, pushed_at";

fn ledger_row(row: &Row) -> Result<LedgerEntry> {
    Ok(LedgerEntry {
        key: row.try_get(0)?,
        space: row.try_get(1)?,
        kind: parse_kind(row.try_get(2)?)?,
        value: row.try_get(3)?,
        attributes: from_json("ledger attributes", row.try_get(4)?)?,
        remote_id: row.try_get(5)?,
        pushed_at: from_millis(row.try_get(6)?)?,
    })
}

pub(super) fn ledger(conn: &mut Client, target: &str) -> Result<Vec<LedgerEntry>> {
    conn.query(
        &format!("SELECT {LEDGER_COLUMNS} FROM ledger WHERE target = $1 ORDER BY kind, value"),
        &[&target],
    )?
    .iter()
    .map(ledger_row)
    .collect()
}

pub(super) fn ledger_count(conn: &mut Client, target: &str) -> Result<u64> {
    let n: i64 = conn
        .query_one("SELECT count(*) FROM ledger WHERE target = $1", &[&target])?
        .try_get(0)?;
    Ok(count_of(n))
}

pub(super) fn space_claims(conn: &mut Client, space: &str) -> Result<Vec<LedgerEntry>> {
    conn.query(
        &format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger WHERE space = $1 ORDER BY kind, value, target"
        ),
        &[&space],
    )?
    .iter()
    .map(ledger_row)
    .collect()
}

/// One statement per kind (in kind-name order, as SQLite's).
pub(super) fn claims_on(
    conn: &mut Client,
    space: &str,
    values: &[(Kind, String)],
) -> Result<Vec<LedgerEntry>> {
    let mut by_kind: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for (kind, value) in values {
        by_kind.entry(kind.as_str()).or_default().push(value);
    }
    let sql = format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger
         WHERE space = $1 AND kind = $2 AND value = ANY($3::text[])
         ORDER BY value, target"
    );
    let mut out = Vec::new();
    for (kind, values) in by_kind {
        for row in conn.query(&sql, &[&space, &kind, &values])? {
            out.push(ledger_row(&row)?);
        }
    }
    Ok(out)
}

pub(super) fn space_counts(conn: &mut Client, space: &str) -> Result<Vec<(Kind, u64)>> {
    conn.query(
        "SELECT kind, count(DISTINCT value) FROM ledger WHERE space = $1
         GROUP BY kind ORDER BY kind",
        &[&space],
    )?
    .iter()
    .map(|row| {
        let count: i64 = row.try_get(1)?;
        Ok((parse_kind(row.try_get(0)?)?, count_of(count)))
    })
    .collect()
}

pub(super) fn set_claim_space(conn: &mut Client, target: &str, space: &str) -> Result<usize> {
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::LEDGER])?;
    let left: Vec<String> = tx
        .query(
            "SELECT DISTINCT space FROM ledger WHERE target = $1 AND space <> $2",
            &[&target, &space],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let moved = tx.execute(
        "UPDATE ledger SET space = $2 WHERE target = $1 AND space <> $2",
        &[&target, &space],
    )?;
    if moved > 0 {
        for old in &left {
            bump_space(&mut tx, old, target)?;
        }
        bump_space(&mut tx, space, target)?;
    }
    tx.commit()?;
    Ok(usize::try_from(moved).unwrap_or(usize::MAX))
}

pub(super) fn library_id(conn: &mut Client) -> Result<String> {
    Ok(conn
        .query_one("SELECT value FROM library_meta WHERE key = 'id'", &[])?
        .try_get(0)?)
}
