//! Webhook replay memory and workflow leases in PostgreSQL. A signature is remembered by an
//! `INSERT ... ON CONFLICT DO NOTHING` (of two racing inserts the unique key lets one in); a
//! lease is decided under a transaction-scoped advisory lock on its name, so the read, the
//! caller's `may_take` and the write happen as one step across processes.

use chrono::{DateTime, Utc};
use postgres::Client;

use super::{from_millis, locks, millis};
use crate::error::{Error, Result};
use crate::lease::{Lease, LeaseHolder};

pub(super) fn remember_signature(
    conn: &mut Client,
    trigger: &str,
    signature_hash: &[u8; 32],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM hook_signatures WHERE expires_at < $1",
        &[&millis(now)],
    )?;
    let added = tx.execute(
        "INSERT INTO hook_signatures (trigger, signature_hash, seen_at, expires_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[
            &trigger,
            &signature_hash.as_slice(),
            &millis(now),
            &millis(expires_at),
        ],
    )?;
    tx.commit()?;
    Ok(added == 1)
}

const LEASE_COLUMNS: &str = "name, holder, host, pid, taken_at, expires_at, started";

fn lease(row: &postgres::Row) -> Result<Lease> {
    let pid: i64 = row.try_get(3)?;
    Ok(Lease {
        name: row.try_get(0)?,
        holder: LeaseHolder {
            holder: row.try_get(1)?,
            host: row.try_get(2)?,
            pid: u32::try_from(pid).map_err(|e| Error::corrupt("lease pid", pid.to_string(), e))?,
            started: row.try_get(6)?,
        },
        taken_at: from_millis(row.try_get(4)?)?,
        expires_at: from_millis(row.try_get(5)?)?,
    })
}

pub(super) fn leases(conn: &mut Client) -> Result<Vec<Lease>> {
    let sql = format!("SELECT {LEASE_COLUMNS} FROM leases ORDER BY name");
    conn.query(&sql, &[])?.iter().map(lease).collect()
}

fn same_process(a: &LeaseHolder, b: &LeaseHolder) -> bool {
    a.host == b.host && a.pid == b.pid
}

pub(super) fn take_lease(
    conn: &mut Client,
    name: &str,
    holder: &LeaseHolder,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    may_take: &(dyn Fn(&Lease) -> bool + Sync),
) -> Result<Option<Lease>> {
    let mut tx = conn.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&locks::LEASE, &name],
    )?;
    let sql = format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1");
    if let Some(row) = tx.query_opt(&sql, &[&name])? {
        let held = lease(&row)?;
        if !same_process(&held.holder, holder) && !may_take(&held) {
            return Ok(Some(held));
        }
    }
    tx.execute(
        "INSERT INTO leases (name, holder, host, pid, taken_at, expires_at, started)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder, host = excluded.host, pid = excluded.pid,
            taken_at = excluded.taken_at, expires_at = excluded.expires_at,
            started = excluded.started",
        &[
            &name,
            &holder.holder,
            &holder.host,
            &i64::from(holder.pid),
            &millis(now),
            &millis(expires_at),
            &holder.started,
        ],
    )?;
    tx.commit()?;
    Ok(None)
}

pub(super) fn release_lease(conn: &mut Client, name: &str, holder: &LeaseHolder) -> Result<bool> {
    let removed = conn.execute(
        "DELETE FROM leases WHERE name = $1 AND host = $2 AND pid = $3",
        &[&name, &holder.host, &i64::from(holder.pid)],
    )?;
    Ok(removed > 0)
}
