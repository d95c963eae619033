//! The engine's tables: ledger, runs, feed cursors and guard drops. Plain statements; the bulk
//! writers (ledger, drops) run in one transaction per call.

use chrono::{DateTime, Utc};
use indicator::Kind;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::merge::kind_name;
use super::{from_millis, millis, parse_kind};
use crate::engine::{GuardDrop, LedgerEntry, RunRecord, RunStatus};
use crate::error::{Error, Result};

fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what, source })
}

fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, text: String) -> Result<T> {
    serde_json::from_str(&text).map_err(|e| Error::corrupt(what, text, e))
}

fn limit_param(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

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
                e.target,
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
        target: row.get(0)?,
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

pub(super) fn interrupt_runs(
    conn: &Connection,
    workflow: &str,
    at: DateTime<Utc>,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE runs SET status = 'interrupted', finished_at = ?2,
            errors = json_array('interrupted: its process ended before the run finished')
         WHERE workflow = ?1 AND status = 'running'",
        params![workflow, millis(at)],
    )?)
}

pub(super) fn start_run(conn: &Connection, workflow: &str, at: DateTime<Utc>) -> Result<i64> {
    conn.execute(
        "INSERT INTO runs (workflow, started_at, status) VALUES (?1, ?2, 'running')",
        params![workflow, millis(at)],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn finish_run(
    conn: &Connection,
    id: i64,
    status: RunStatus,
    counts: &serde_json::Value,
    errors: &[String],
    at: DateTime<Utc>,
) -> Result<bool> {
    let changed = conn.execute(
        "UPDATE runs SET finished_at = ?2, status = ?3, counts = ?4, errors = ?5 WHERE id = ?1",
        params![
            id,
            millis(at),
            status.as_str(),
            to_json("run counts", counts)?,
            to_json("run errors", &errors)?,
        ],
    )?;
    Ok(changed > 0)
}

pub(super) fn runs(conn: &Connection, limit: u64) -> Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, workflow, started_at, finished_at, status, counts, errors FROM runs
         ORDER BY started_at DESC, id DESC LIMIT ?1",
    )?;
    let mut rows = stmt.query([limit_param(limit)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let status: String = row.get(4)?;
        let finished: Option<i64> = row.get(3)?;
        out.push(RunRecord {
            id: row.get(0)?,
            workflow: row.get(1)?,
            started_at: from_millis(row.get(2)?)?,
            finished_at: finished.map(from_millis).transpose()?,
            status: status
                .parse()
                .map_err(|e| Error::corrupt("run status", &status, e))?,
            counts: from_json("run counts", row.get(5)?)?,
            errors: from_json("run errors", row.get(6)?)?,
        });
    }
    Ok(out)
}

pub(super) fn cursor(conn: &Connection, feed: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM cursors WHERE feed = ?1",
            [feed],
            |row| row.get(0),
        )
        .optional()?)
}

pub(super) fn set_cursor(
    conn: &Connection,
    feed: &str,
    cursor: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO cursors (feed, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![feed, cursor, millis(at)],
    )?;
    Ok(())
}

pub(super) fn record_drops(conn: &mut Connection, drops: &[GuardDrop]) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO guard_drops (kind, value, target, rule, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for d in drops {
            stmt.execute(params![
                kind_name(d.kind),
                d.value,
                d.target,
                d.rule,
                d.reason,
                millis(d.at),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn drops(conn: &Connection, limit: u64) -> Result<Vec<GuardDrop>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, value, target, rule, reason, at FROM guard_drops
         ORDER BY at DESC, id DESC LIMIT ?1",
    )?;
    let mut rows = stmt.query([limit_param(limit)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        out.push(GuardDrop {
            kind: parse_kind(&kind)?,
            value: row.get(1)?,
            target: row.get(2)?,
            rule: row.get(3)?,
            reason: row.get(4)?,
            at: from_millis(row.get(5)?)?,
        });
    }
    Ok(out)
}
