//! What runs leave behind: each run's record and status, and the values guards kept out of
//! an export.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use indicator::Kind;
use serde::{Deserialize, Serialize};

use crate::model::UnknownName;

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
    /// What the run was about beyond its name: the alert id of a trigger call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One item of a run, for its drill-down: a value added, updated, removed, failed (with the
/// target's answer), refused (with the guard's rule), held by the brake, or — for trigger
/// calls — blocked (until its lift) and lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunItem {
    /// `added`, `updated`, `removed`, `failed`, `refused`, `held`, `blocked`, `lifted`, ...
    pub outcome: String,
    /// `None` for an input that is no indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    pub value: String,
    /// The target's answer, the guard's rule and reason, the task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When a trigger's block is lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
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
