//! What a workflow remembers of its last complete run, so the engine can tell a run with
//! nothing to do without reading the collection: the library's change counter as that run saw
//! it, a digest of everything else its plan depended on, and when time alone (an expiry, a
//! renewal) makes a full run due again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One workflow's memory of its last complete run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowState {
    /// The library's change counter, read *before* the run read the collection: a change
    /// committed while the run was going then still makes the next run a full one.
    pub counter: u64,
    /// A digest of the rest of the plan's inputs (workflow, target, collection definition,
    /// guard), made by the engine; the store only compares it for equality.
    pub digest: String,
    /// When a full run is due again even if nothing changed (the earliest expiry of a member,
    /// renewal of a claim, ...); `None` when time alone changes nothing.
    pub next_due: Option<DateTime<Utc>>,
    /// When that run completed.
    pub completed_at: DateTime<Utc>,
}
