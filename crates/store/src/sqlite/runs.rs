//! What runs and imports leave behind: run records, TAXII cursors and guard drops. Plain
//! statements; guard drops are written in one transaction per call.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params};

use super::merge::kind_name;
use super::{from_json, from_millis, limit_param, millis, parse_kind, to_json};
use crate::error::{Error, Result};
use crate::run::{GuardDrop, RunItem, RunRecord, RunStatus};

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

const RUN_COLUMNS: &str =
    "SELECT id, workflow, started_at, finished_at, status, counts, errors, subject FROM runs";

pub(super) fn runs(conn: &Connection, limit: u64) -> Result<Vec<RunRecord>> {
    let sql = format!("{RUN_COLUMNS} ORDER BY started_at DESC, id DESC LIMIT ?1");
    read_runs(conn, &sql, params![limit_param(limit)])
}

pub(super) fn runs_named(conn: &Connection, name: &str, limit: u64) -> Result<Vec<RunRecord>> {
    let sql =
        format!("{RUN_COLUMNS} WHERE workflow = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2");
    read_runs(conn, &sql, params![name, limit_param(limit)])
}

pub(super) fn run(conn: &Connection, id: i64) -> Result<Option<RunRecord>> {
    let sql = format!("{RUN_COLUMNS} WHERE id = ?1");
    Ok(read_runs(conn, &sql, params![id])?.pop())
}

fn read_runs(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
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
            subject: row.get(7)?,
        });
    }
    Ok(out)
}

/// Writes the run's items and subject in one transaction (after any written before, so a
/// second call appends).
pub(super) fn record_run_items(
    conn: &mut Connection,
    id: i64,
    subject: Option<&str>,
    items: &[RunItem],
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if subject.is_some() {
        tx.execute(
            "UPDATE runs SET subject = ?2 WHERE id = ?1",
            params![id, subject],
        )?;
    }
    let first: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq) + 1, 0) FROM run_items WHERE run_id = ?1",
        [id],
        |row| row.get(0),
    )?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO run_items (run_id, seq, outcome, kind, value, detail, until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (seq, item) in (first..).zip(items) {
            stmt.execute(params![
                id,
                seq,
                item.outcome,
                item.kind.map(kind_name),
                item.value,
                item.detail,
                item.until.map(millis),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn run_items(conn: &Connection, id: i64, limit: u64) -> Result<Vec<RunItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT outcome, kind, value, detail, until FROM run_items
         WHERE run_id = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![id, limit_param(limit)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: Option<String> = row.get(1)?;
        let until: Option<i64> = row.get(4)?;
        out.push(RunItem {
            outcome: row.get(0)?,
            kind: kind.as_deref().map(parse_kind).transpose()?,
            value: row.get(2)?,
            detail: row.get(3)?,
            until: until.map(from_millis).transpose()?,
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
