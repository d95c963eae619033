//! The ledger: one entry per claim — a value a claimant (workflow, one-off block, trigger)
//! wants on a target, with the attributes it was pushed with. The basis of every diff.

use chrono::{DateTime, Utc};
use indicator::Kind;
use serde::{Deserialize, Serialize};

/// One claim: a value one claimant (a workflow, the one-off `block`, a trigger) wants on a
/// target, with the attributes it wants it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The ledger key: who claims the value (`<target>/<workflow>`, `<target>/manual`, ...).
    pub key: String,
    /// The list on the target the object lives in; every claim on one object shares it.
    #[serde(default)]
    pub space: String,
    pub kind: Kind,
    pub value: String,
    /// What was sent (score, expiry, description, ...), as the target's mapping produced it.
    pub attributes: serde_json::Value,
    /// The identifier the target gave the item, when it gives one (Deep Security list entries).
    pub remote_id: Option<String>,
    pub pushed_at: DateTime<Utc>,
}
