//! Webhook replay memory and workflow leases: small rows several processes share, each
//! changed in one IMMEDIATE transaction so two processes cannot both pass the same check.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{from_millis, millis};
use crate::error::Result;
use crate::lease::{Lease, LeaseHolder};

pub(super) fn remember_signature(
    conn: &mut Connection,
    trigger: &str,
    signature_hash: &[u8; 32],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM hook_signatures WHERE expires_at < ?1",
        [millis(now)],
    )?;
    // ON CONFLICT DO NOTHING changes no row for a known signature: that is the replay.
    let added = tx.execute(
        "INSERT INTO hook_signatures (trigger, signature_hash, seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![
            trigger,
            signature_hash.as_slice(),
            millis(now),
            millis(expires_at)
        ],
    )?;
    tx.commit()?;
    Ok(added == 1)
}

/// A lease row as read: its holder, and when it was taken and expires in milliseconds.
type LeaseRow = (String, LeaseHolder, i64, i64);

const LEASE_COLUMNS: &str = "name, holder, host, pid, taken_at, expires_at, started";

fn lease_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LeaseRow> {
    Ok((
        row.get(0)?,
        LeaseHolder {
            holder: row.get(1)?,
            host: row.get(2)?,
            pid: row.get(3)?,
            started: row.get(6)?,
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn lease((name, holder, taken, expires): LeaseRow) -> Result<Lease> {
    Ok(Lease {
        name,
        holder,
        taken_at: from_millis(taken)?,
        expires_at: from_millis(expires)?,
    })
}

fn read_lease(conn: &Connection, name: &str) -> Result<Option<Lease>> {
    let sql = format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = ?1");
    let row = conn.query_row(&sql, [name], lease_row).optional()?;
    row.map(lease).transpose()
}

pub(super) fn leases(conn: &Connection) -> Result<Vec<Lease>> {
    let sql = format!("SELECT {LEASE_COLUMNS} FROM leases ORDER BY name");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map([], lease_row)?;
    rows.map(|row| lease(row?)).collect()
}

fn same_process(a: &LeaseHolder, b: &LeaseHolder) -> bool {
    a.host == b.host && a.pid == b.pid
}

pub(super) fn take_lease(
    conn: &mut Connection,
    name: &str,
    holder: &LeaseHolder,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    may_take: &(dyn Fn(&Lease) -> bool + Sync),
) -> Result<Option<Lease>> {
    // IMMEDIATE: the read and the write below happen under one write lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(held) = read_lease(&tx, name)?
        && !same_process(&held.holder, holder)
        && !may_take(&held)
    {
        return Ok(Some(held));
    }
    tx.execute(
        "INSERT OR REPLACE INTO leases (name, holder, host, pid, taken_at, expires_at, started)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            name,
            holder.holder,
            holder.host,
            holder.pid,
            millis(now),
            millis(expires_at),
            holder.started,
        ],
    )?;
    tx.commit()?;
    Ok(None)
}

pub(super) fn release_lease(conn: &Connection, name: &str, holder: &LeaseHolder) -> Result<bool> {
    let removed = conn.execute(
        "DELETE FROM leases WHERE name = ?1 AND host = ?2 AND pid = ?3",
        params![name, holder.host, holder.pid],
    )?;
    Ok(removed > 0)
}
