//! The library's change counter and each workflow's memory of its last complete run, in
//! PostgreSQL. The counter is bumped inside the transaction that makes the change (the row
//! lock on `library_changes` orders concurrent bumps), so a reader never sees one without
//! the other.

use postgres::{Client, GenericClient};

use super::{from_millis, millis};
use crate::error::{Error, Result};
use crate::state::WorkflowState;

/// Counts one change; run inside the transaction that makes it.
pub(super) fn bump(conn: &mut impl GenericClient) -> Result<()> {
    conn.execute(
        "UPDATE library_changes SET counter = counter + 1 WHERE id = 1",
        &[],
    )?;
    Ok(())
}

pub(super) fn counter(conn: &mut impl GenericClient) -> Result<u64> {
    let n: i64 = conn
        .query_one("SELECT counter FROM library_changes WHERE id = 1", &[])?
        .try_get(0)?;
    u64::try_from(n).map_err(|e| Error::corrupt("change counter", n.to_string(), e))
}

pub(super) fn workflow_state(conn: &mut Client, workflow: &str) -> Result<Option<WorkflowState>> {
    let Some(row) = conn.query_opt(
        "SELECT counter, digest, next_due, completed_at FROM workflow_state WHERE workflow = $1",
        &[&workflow],
    )?
    else {
        return Ok(None);
    };
    let counter: i64 = row.try_get(0)?;
    let next_due: Option<i64> = row.try_get(2)?;
    Ok(Some(WorkflowState {
        counter: u64::try_from(counter)
            .map_err(|e| Error::corrupt("workflow change counter", counter.to_string(), e))?,
        digest: row.try_get(1)?,
        next_due: next_due.map(from_millis).transpose()?,
        completed_at: from_millis(row.try_get(3)?)?,
    }))
}

pub(super) fn set_workflow_state(
    conn: &mut Client,
    workflow: &str,
    state: &WorkflowState,
) -> Result<()> {
    let counter = i64::try_from(state.counter)
        .map_err(|e| Error::corrupt("workflow change counter", state.counter.to_string(), e))?;
    conn.execute(
        "INSERT INTO workflow_state (workflow, counter, digest, next_due, completed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workflow) DO UPDATE SET
            counter = excluded.counter, digest = excluded.digest,
            next_due = excluded.next_due, completed_at = excluded.completed_at",
        &[
            &workflow,
            &counter,
            &state.digest,
            &state.next_due.map(millis),
            &millis(state.completed_at),
        ],
    )?;
    Ok(())
}

pub(super) fn forget_workflow_state(conn: &mut Client, workflow: &str) -> Result<bool> {
    Ok(conn.execute(
        "DELETE FROM workflow_state WHERE workflow = $1",
        &[&workflow],
    )? > 0)
}
