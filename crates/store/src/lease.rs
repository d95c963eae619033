//! Leases: one per workflow, held by one process at a time so two never run it together.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
