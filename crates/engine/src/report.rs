//! Run reports: what a run did (counts, per-item failures, the error that halted it, API
//! calls, time), and the progress hook the CLI draws a bar with.

use indicator::Kind;
use serde::Serialize;
use store::RunStatus;

use crate::plan::{Change, Plan};

/// Told how far a run has got (the CLI shows a bar on a terminal).
pub trait Progress {
    /// The run will make `total` steps.
    fn start(&self, total: u64);
    /// `steps` more are done.
    fn advance(&self, steps: u64);
}

/// A progress hook that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _total: u64) {}
    fn advance(&self, _steps: u64) {}
}

/// One item the target refused or that kept failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: Kind,
    pub value: String,
    pub message: String,
}

/// The outcome of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's id in the library (`None` for a dry run, which is not recorded).
    pub run_id: Option<i64>,
    pub workflow: String,
    pub target: String,
    pub dry_run: bool,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub skipped: usize,
    pub deferred: usize,
    pub failed: Vec<Failure>,
    /// Errors that are not about one item (a Deep Security part that could not be written).
    pub errors: Vec<String>,
    /// The error that stopped the workflow (bad key, list full, unreachable, ...).
    pub halted: Option<String>,
    /// Requests sent to the target, retries included.
    pub api_calls: u64,
    pub retries: u64,
    pub elapsed_ms: u64,
    pub plan: Plan,
}

impl RunReport {
    /// An empty report for `plan`.
    pub fn new(plan: Plan, dry_run: bool) -> Self {
        RunReport {
            run_id: None,
            workflow: plan.workflow.clone(),
            target: plan.target.clone(),
            dry_run,
            added: 0,
            updated: 0,
            removed: 0,
            skipped: plan.skips.len(),
            deferred: plan.deferred,
            failed: Vec::new(),
            errors: Vec::new(),
            halted: None,
            api_calls: 0,
            retries: 0,
            elapsed_ms: 0,
            plan,
        }
    }

    pub(crate) fn fail(&mut self, change: &Change, message: &str) {
        self.failed.push(Failure {
            kind: change.kind,
            value: change.value.clone(),
            message: message.to_owned(),
        });
    }

    /// How the run ended.
    pub fn status(&self) -> RunStatus {
        if self.halted.is_some() {
            RunStatus::Failed
        } else if self.failed.is_empty() && self.errors.is_empty() {
            RunStatus::Succeeded
        } else {
            RunStatus::Partial
        }
    }

    /// The counts stored with the run.
    pub fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "failed": self.failed.len(),
            "api_calls": self.api_calls,
            "retries": self.retries,
            "elapsed_ms": self.elapsed_ms,
        })
    }

    /// Every error message, item failures first, for the run record.
    pub fn messages(&self) -> Vec<String> {
        let items = self
            .failed
            .iter()
            .map(|f| format!("{}:{}: {}", f.kind, f.value, f.message));
        items
            .chain(self.errors.iter().cloned())
            .chain(self.halted.iter().map(|h| format!("halted: {h}")))
            .collect()
    }
}
