//! What runs and imports leave behind, in PostgreSQL: run records and their items, feed
//! cursors and guard drops. Plain statements; items and drops go in as arrays.

use chrono::{DateTime, Utc};
use postgres::Client;

use super::{from_json, from_millis, int8, millis, parse_kind, to_json};
use crate::error::{Error, Result};
use crate::run::{GuardDrop, RunItem, RunRecord, RunStatus};

pub(super) fn interrupt_runs(
    conn: &mut Client,
    workflow: &str,
    at: DateTime<Utc>,
) -> Result<usize> {
    let errors = to_json(
        "run errors",
        &["interrupted: its process ended before the run finished"],
    )?;
    let n = conn.execute(
        "UPDATE runs SET status = 'interrupted', finished_at = $2, errors = $3
         WHERE workflow = $1 AND status = 'running'",
        &[&workflow, &millis(at), &errors],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) fn start_run(conn: &mut Client, workflow: &str, at: DateTime<Utc>) -> Result<i64> {
    Ok(conn
        .query_one(
            "INSERT INTO runs (workflow, started_at, status) VALUES ($1, $2, 'running')
             RETURNING id",
            &[&workflow, &millis(at)],
        )?
        .try_get(0)?)
}

pub(super) fn finish_run(
    conn: &mut Client,
    id: i64,
    status: RunStatus,
    counts: &serde_json::Value,
    errors: &[String],
    at: DateTime<Utc>,
) -> Result<bool> {
    let changed = conn.execute(
        "UPDATE runs SET finished_at = $2, status = $3, counts = $4, errors = $5 WHERE id = $1",
        &[
            &id,
            &millis(at),
            &status.as_str(),
            &to_json("run counts", counts)?,
            &to_json("run errors", &errors)?,
        ],
    )?;
    Ok(changed > 0)
}

const RUN_COLUMNS: &str =
    "SELECT id, workflow, started_at, finished_at, status, counts, errors, subject FROM runs";

/// The latest runs (of `name` only, when given), newest first.
pub(super) fn runs(conn: &mut Client, name: Option<&str>, limit: u64) -> Result<Vec<RunRecord>> {
    let rows = conn.query(
        &format!(
            "{RUN_COLUMNS} WHERE ($1::text IS NULL OR workflow = $1)
             ORDER BY started_at DESC, id DESC LIMIT $2"
        ),
        &[&name, &int8(limit)],
    )?;
    rows.iter().map(read_run).collect()
}

pub(super) fn run(conn: &mut Client, id: i64) -> Result<Option<RunRecord>> {
    conn.query_opt(&format!("{RUN_COLUMNS} WHERE id = $1"), &[&id])?
        .as_ref()
        .map(read_run)
        .transpose()
}

fn read_run(row: &postgres::Row) -> Result<RunRecord> {
    let status: &str = row.try_get(4)?;
    let finished: Option<i64> = row.try_get(3)?;
    Ok(RunRecord {
        id: row.try_get(0)?,
        workflow: row.try_get(1)?,
        started_at: from_millis(row.try_get(2)?)?,
        finished_at: finished.map(from_millis).transpose()?,
        status: status
            .parse()
            .map_err(|e| Error::corrupt("run status", status, e))?,
        counts: from_json("run counts", row.try_get(5)?)?,
        errors: from_json("run errors", row.try_get(6)?)?,
        subject: row.try_get(7)?,
    })
}

/// Writes the run's items and subject in one transaction (after any written before).
pub(super) fn record_run_items(
    conn: &mut Client,
    id: i64,
    subject: Option<&str>,
    items: &[RunItem],
) -> Result<()> {
    let mut tx = conn.transaction()?;
    if subject.is_some() {
        tx.execute(
            "UPDATE runs SET subject = $2 WHERE id = $1",
            &[&id, &subject],
        )?;
    }
    // The run's row, locked, orders two writers of one run's items.
    tx.execute("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE", &[&id])?;
    let first: i64 = tx
        .query_one(
            "SELECT coalesce(max(seq) + 1, 0)::int8 FROM run_items WHERE run_id = $1",
            &[&id],
        )?
        .try_get(0)?;
    if !items.is_empty() {
        let seqs: Vec<i64> = (first..).take(items.len()).collect();
        let outcomes: Vec<&str> = items.iter().map(|i| i.outcome.as_str()).collect();
        let kinds: Vec<Option<&str>> = items.iter().map(|i| i.kind.map(|k| k.as_str())).collect();
        let values: Vec<&str> = items.iter().map(|i| i.value.as_str()).collect();
        let details: Vec<Option<&str>> = items.iter().map(|i| i.detail.as_deref()).collect();
        let untils: Vec<Option<i64>> = items.iter().map(|i| i.until.map(millis)).collect();
        tx.execute(
            "INSERT INTO run_items (run_id, seq, outcome, kind, value, detail, until)
             SELECT $1, * FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[],
                                      $6::text[], $7::int8[])",
            &[&id, &seqs, &outcomes, &kinds, &values, &details, &untils],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn run_items(conn: &mut Client, id: i64, limit: u64) -> Result<Vec<RunItem>> {
    let rows = conn.query(
        "SELECT outcome, kind, value, detail, until FROM run_items
         WHERE run_id = $1 ORDER BY seq LIMIT $2",
        &[&id, &int8(limit)],
    )?;
    rows.iter()
        .map(|row| {
            let kind: Option<&str> = row.try_get(1)?;
            let until: Option<i64> = row.try_get(4)?;
            Ok(RunItem {
                outcome: row.try_get(0)?,
                kind: kind.map(parse_kind).transpose()?,
                value: row.try_get(2)?,
                detail: row.try_get(3)?,
                until: until.map(from_millis).transpose()?,
            })
        })
        .collect()
}

pub(super) fn cursor(conn: &mut Client, feed: &str) -> Result<Option<String>> {
    conn.query_opt("SELECT cursor FROM cursors WHERE feed = $1", &[&feed])?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(Error::from)
}

pub(super) fn set_cursor(
    conn: &mut Client,
    feed: &str,
    cursor: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO cursors (feed, cursor, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor,
                                          updated_at = excluded.updated_at",
        &[&feed, &cursor, &millis(at)],
    )?;
    Ok(())
}

pub(super) fn record_drops(conn: &mut Client, drops: &[GuardDrop]) -> Result<()> {
    if drops.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = drops.iter().map(|d| d.kind.as_str()).collect();
    let values: Vec<&str> = drops.iter().map(|d| d.value.as_str()).collect();
    let targets: Vec<Option<&str>> = drops.iter().map(|d| d.target.as_deref()).collect();
    let rules: Vec<&str> = drops.iter().map(|d| d.rule.as_str()).collect();
    let reasons: Vec<&str> = drops.iter().map(|d| d.reason.as_str()).collect();
    let ats: Vec<i64> = drops.iter().map(|d| millis(d.at)).collect();
    // One statement: the drops go in whole or not at all, in the order given (ids ascending).
    conn.execute(
        "INSERT INTO guard_drops (kind, value, target, rule, reason, at)
         SELECT kind, value, target, rule, reason, at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[])
              WITH ORDINALITY AS t(kind, value, target, rule, reason, at, n)
         ORDER BY n",
        &[&kinds, &values, &targets, &rules, &reasons, &ats],
    )?;
    Ok(())
}

pub(super) fn drops(conn: &mut Client, limit: u64) -> Result<Vec<GuardDrop>> {
    let rows = conn.query(
        "SELECT kind, value, target, rule, reason, at FROM guard_drops
         ORDER BY at DESC, id DESC LIMIT $1",
        &[&int8(limit)],
    )?;
    rows.iter()
        .map(|row| {
            Ok(GuardDrop {
                kind: parse_kind(row.try_get(0)?)?,
                value: row.try_get(1)?,
                target: row.try_get(2)?,
                rule: row.try_get(3)?,
                reason: row.try_get(4)?,
                at: from_millis(row.try_get(5)?)?,
            })
        })
        .collect()
}
