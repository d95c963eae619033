//! The ledger table: claims upserted and removed per target in one transaction per call
//! (a batch the target confirmed is recorded whole or not at all), read per target or space.

use indicator::Kind;
use rusqlite::{Connection, TransactionBehavior, params};

use super::merge::kind_name;
use super::{from_json, from_millis, millis, parse_kind, to_json};
use crate::error::Result;
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
        let mut remove =
            tx.prepare_cached("DELETE FROM ledger WHERE target = ?1 AND kind = ?2 AND value = ?3")?;
        for (kind, value) in removals {
            removed += remove.execute(params![target, kind_name(*kind), value])?;
        }
    }
    tx.commit()?;
    Ok(removed)
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

pub(super) fn claims_on(
    conn: &Connection,
    space: &str,
    values: &[(Kind, String)],
) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger WHERE space = ?1 AND kind = ?2 AND value = ?3
         ORDER BY target"
    ))?;
    let mut out = Vec::new();
    for (kind, value) in values {
        out.extend(ledger_rows(stmt.query(params![
            space,
            kind_name(*kind),
            value
        ])?)?);
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

pub(super) fn set_claim_space(conn: &Connection, target: &str, space: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE ledger SET space = ?2 WHERE target = ?1 AND space <> ?2",
        params![target, space],
    )?)
}

pub(super) fn library_id(conn: &Connection) -> Result<String> {
    Ok(conn.query_row(
        "SELECT value FROM library_meta WHERE key = 'id'",
        [],
        |row| row.get(0),
    )?)
}
