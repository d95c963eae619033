//! Records the engine keeps in the library between runs: the ledger of what was pushed to each
//! target, runs, feed cursors and the values guards stopped.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use indicator::Kind;
use serde::{Deserialize, Serialize};

use crate::model::UnknownName;

/// One claim: a value one claimant (a workflow, the one-off `block`, a trigger) wants on a
/// target, with the attributes it wants it with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The ledger key: who claims the value (`<target>/<workflow>`, `<target>/manual`, ...).
    pub target: String,
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

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// Finished, but some items were refused or failed.
    Partial,
    Failed,
    /// Finished, but the removal brake held its removals until a person releases them.
    Held,
    /// Its process died before it finished (found when another process took its lease).
    Interrupted,
}

impl RunStatus {
    const NAMES: &[&str] = &[
        "running",
        "succeeded",
        "partial",
        "failed",
        "held",
        "interrupted",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Held => "held",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "partial" => Ok(RunStatus::Partial),
            "failed" => Ok(RunStatus::Failed),
            "held" => Ok(RunStatus::Held),
            "interrupted" => Ok(RunStatus::Interrupted),
            _ => Err(UnknownName {
                what: "run status",
                value: s.to_owned(),
                expected: RunStatus::NAMES,
            }),
        }
    }
}

/// One execution of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: i64,
    pub workflow: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Per-outcome counts (added, updated, removed, skipped, failed, ...).
    pub counts: serde_json::Value,
    pub errors: Vec<String>,
}

/// A value a guard kept out of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardDrop {
    pub kind: Kind,
    pub value: String,
    /// The target the export was for, when there was one.
    pub target: Option<String>,
    /// The rule that stopped it (`builtin:special-range`, `allowlist:cidr:10.0.0.0/8`, ...).
    pub rule: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A process holding (or asking for) a lease: what it is, where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// What holds it, for people (`iocsync run`, `iocsync serve`).
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// When the process started, as this host tells it (`None` where it cannot): with the pid,
    /// it tells a live holder from a new process that was given a dead holder's pid.
    #[serde(default)]
    pub started: Option<String>,
}

impl fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {} on {})", self.holder, self.pid, self.host)
    }
}

/// A named lease (one per workflow) held until released or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub holder: LeaseHolder,
    pub taken_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
