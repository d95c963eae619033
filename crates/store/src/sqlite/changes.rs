//! The library's change counter and each workflow's memory of its last complete run.
//!
//! The counter is bumped by a statement run inside the very transaction that makes the change
//! (a merge chunk, a pull, a status refresh, a collection edit), so a reader never sees the
//! change without the bump nor the bump without the change. Ledger, run and lease writes do not
//! bump it: they change no collection's members.

use rusqlite::{Connection, OptionalExtension, params};

use super::{from_millis, millis};
use crate::error::{Error, Result};
use crate::state::WorkflowState;

/// Counts one change; run inside the transaction that makes it.
pub(super) fn bump(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE library_changes SET counter = counter + 1 WHERE id = 1")?
        .execute([])?;
    Ok(())
}

pub(super) fn counter(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT counter FROM library_changes WHERE id = 1")?
        .query_row([], |row| row.get(0))?;
    u64::try_from(n).map_err(|e| Error::corrupt("change counter", n.to_string(), e))
}

pub(super) fn workflow_state(conn: &Connection, workflow: &str) -> Result<Option<WorkflowState>> {
    let row = conn
        .prepare_cached(
            "SELECT counter, digest, next_due, completed_at FROM workflow_state
             WHERE workflow = ?1",
        )?
        .query_row([workflow], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((counter, digest, next_due, completed_at)) = row else {
        return Ok(None);
    };
    Ok(Some(WorkflowState {
        counter: u64::try_from(counter)
            .map_err(|e| Error::corrupt("workflow change counter", counter.to_string(), e))?,
        digest,
        next_due: next_due.map(from_millis).transpose()?,
        completed_at: from_millis(completed_at)?,
    }))
}

pub(super) fn set_workflow_state(
    conn: &Connection,
    workflow: &str,
    state: &WorkflowState,
) -> Result<()> {
    // A counter beyond i64 cannot come from this library (it counts commits).
    let counter = i64::try_from(state.counter)
        .map_err(|e| Error::corrupt("workflow change counter", state.counter.to_string(), e))?;
    conn.prepare_cached(
        "INSERT INTO workflow_state (workflow, counter, digest, next_due, completed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (workflow) DO UPDATE SET
            counter = excluded.counter, digest = excluded.digest,
            next_due = excluded.next_due, completed_at = excluded.completed_at",
    )?
    .execute(params![
        workflow,
        counter,
        state.digest,
        state.next_due.map(millis),
        millis(state.completed_at),
    ])?;
    Ok(())
}

pub(super) fn forget_workflow_state(conn: &Connection, workflow: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM workflow_state WHERE workflow = ?1")?
        .execute([workflow])?
        > 0)
}
