//! The ledger table: claims upserted and removed per target in one transaction per call
//! (a batch the target confirmed is recorded whole or not at all), read per target or space.

use indicator::Kind;
use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::merge::kind_name;
use super::{from_json, from_millis, millis, parse_kind, to_json};
use crate::error::{Error, Result};
use crate::ledger::LedgerEntry;

/// Upserts and removals for one target in one transaction: a batch the target confirmed is
/// recorded whole or not at all.
pub(super) fn ledger_apply(
    conn: &mut Connection,
    target: &str,
    upserts: &[LedgerEntry],
    removals: &[(Kind, String)],
) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut removed = 0;
    // Every (space, claimant) this call writes, counted once each at the end.
    let mut touched = spaces_left(&tx, upserts)?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO ledger (target, kind, value, attributes, remote_id, pushed_at, space)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (target, kind, value) DO UPDATE SET
                attributes = excluded.attributes,
                space = excluded.space,
                remote_id = coalesce(excluded.remote_id, remote_id),
                pushed_at = excluded.pushed_at",
        )?;
        for e in upserts {
            touched.insert((e.space.clone(), e.key.clone()));
            upsert.execute(params![
                e.key,
                kind_name(e.kind),
                e.value,
                to_json("ledger attributes", &e.attributes)?,
                e.remote_id,
                millis(e.pushed_at),
                e.space,
            ])?;
        }
        let mut remove = tx.prepare_cached(
            "DELETE FROM ledger WHERE target = ?1 AND kind = ?2 AND value = ?3 RETURNING space",
        )?;
        for (kind, value) in removals {
            let space: Option<String> = remove
                .query_row(params![target, kind_name(*kind), value], |row| row.get(0))
                .optional()?;
            if let Some(space) = space {
                touched.insert((space, target.to_owned()));
                removed += 1;
            }
        }
    }
    for (space, claimant) in &touched {
        bump_space(&tx, space, claimant)?;
    }
    tx.commit()?;
    Ok(removed)
}

/// The (space, claimant) pairs that claims about to be upserted leave: a claim that moves to
/// another space leaves its old one, and both change. Read a thousand values per statement.
fn spaces_left(conn: &Connection, upserts: &[LedgerEntry]) -> Result<BTreeSet<(String, String)>> {
    let mut groups: BTreeMap<(&str, &str, &'static str), Vec<&str>> = BTreeMap::new();
    for e in upserts {
        groups
            .entry((e.key.as_str(), e.space.as_str(), kind_name(e.kind)))
            .or_default()
            .push(e.value.as_str());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT space FROM ledger
         WHERE target = ?1 AND kind = ?2 AND value IN (SELECT value FROM json_each(?3))
           AND space <> ?4",
    )?;
    let mut left = BTreeSet::new();
    for ((key, space, kind), values) in groups {
        for chunk in values.chunks(CLAIMS_ON_CHUNK) {
            let list = to_json("claimed values", &chunk)?;
            let rows = stmt.query_map(params![key, kind, list, space], |row| row.get(0))?;
            for old in rows {
                left.insert((old?, key.to_owned()));
            }
        }
    }
    Ok(left)
}

/// Counts one write of `claimant`'s claims in `space` (see `ledger_changes` in migration 006).
fn bump_space(conn: &Connection, space: &str, claimant: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO ledger_changes (space, claimant, counter) VALUES (?1, ?2, 1)
         ON CONFLICT (space, claimant) DO UPDATE SET counter = counter + 1",
    )?
    .execute(params![space, claimant])?;
    Ok(())
}

pub(super) fn ledger_changes(conn: &Connection, space: &str) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT claimant, counter FROM ledger_changes WHERE space = ?1 ORDER BY claimant",
    )?;
    let mut rows = stmt.query([space])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let counter: i64 = row.get(1)?;
        out.push((
            row.get(0)?,
            u64::try_from(counter)
                .map_err(|e| Error::corrupt("ledger change counter", counter.to_string(), e))?,
        ));
    }
    Ok(out)
}

/// The columns of a ledger row, in the order [`ledger_row`] reads them.
const LEDGER_COLUMNS: &str = "target, space, kind, value, attributes, remote_id, pushed_at";

fn ledger_row(row: &rusqlite::Row<'_>) -> Result<LedgerEntry> {
    let kind: String = row.get(2)?;
    Ok(LedgerEntry {
        key: row.get(0)?,
        space: row.get(1)?,
        kind: parse_kind(&kind)?,
        value: row.get(3)?,
        attributes: from_json("ledger attributes", row.get(4)?)?,
        remote_id: row.get(5)?,
        pushed_at: from_millis(row.get(6)?)?,
    })
}

fn ledger_rows(mut rows: rusqlite::Rows<'_>) -> Result<Vec<LedgerEntry>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(ledger_row(row)?);
    }
    Ok(out)
}

pub(super) fn ledger(conn: &Connection, target: &str) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger WHERE target = ?1 ORDER BY kind, value"
    ))?;
    ledger_rows(stmt.query([target])?)
}

pub(super) fn space_claims(conn: &Connection, space: &str) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger WHERE space = ?1 ORDER BY kind, value, target"
    ))?;
    ledger_rows(stmt.query([space])?)
}

/// How many values one statement of [`claims_on`] reads.
const CLAIMS_ON_CHUNK: usize = 1000;

/// One statement per kind and per thousand values, not one per value: a batch of a sync asks
/// for a thousand values at once, and a statement per value was a tenth of a sync's CPU.
pub(super) fn claims_on(
    conn: &Connection,
    space: &str,
    values: &[(Kind, String)],
) -> Result<Vec<LedgerEntry>> {
    let mut by_kind: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for (kind, value) in values {
        by_kind.entry(kind_name(*kind)).or_default().push(value);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger
         WHERE space = ?1 AND kind = ?2 AND value IN (SELECT value FROM json_each(?3))
         ORDER BY value, target"
    ))?;
    let mut out = Vec::new();
    for (kind, values) in by_kind {
        for chunk in values.chunks(CLAIMS_ON_CHUNK) {
            let list = to_json("claimed values", &chunk)?;
            out.extend(ledger_rows(stmt.query(params![space, kind, list])?)?);
        }
    }
    Ok(out)
}

pub(super) fn space_counts(conn: &Connection, space: &str) -> Result<Vec<(Kind, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, COUNT(DISTINCT value) FROM ledger WHERE space = ?1 GROUP BY kind",
    )?;
    let mut rows = stmt.query([space])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        let count: i64 = row.get(1)?;
        out.push((parse_kind(&kind)?, u64::try_from(count).unwrap_or(0)));
    }
    Ok(out)
}

pub(super) fn set_claim_space(conn: &mut Connection, target: &str, space: &str) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let left: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT space FROM ledger WHERE target = ?1 AND space <> ?2",
        )?;
        let rows = stmt.query_map(params![target, space], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let moved = tx.execute(
        "UPDATE ledger SET space = ?2 WHERE target = ?1 AND space <> ?2",
        params![target, space],
    )?;
    if moved > 0 {
        for old in &left {
            bump_space(&tx, old, target)?;
        }
        bump_space(&tx, space, target)?;
    }
    tx.commit()?;
    Ok(moved)
}

pub(super) fn library_id(conn: &Connection) -> Result<String> {
    Ok(conn.query_row(
        "SELECT value FROM library_meta WHERE key = 'id'",
        [],
        |row| row.get(0),
    )?)
}
