//! Run reports: what a run did (counts, per-item failures, the error that halted it, API
//! calls per endpoint and status, 429 pauses, time), and the progress hook the CLI draws a
//! bar with and a daemon asks a run to stop through.

use indicator::Kind;
use serde::Serialize;
use store::RunStatus;

use trendmicro::{CallCount, CallStats};

use crate::plan::{Change, Plan};
use crate::recorder::{Items, Record};

/// Item failures written out in a run's record; the rest are counted (the run's items keep a
/// sample of each outcome).
pub const MESSAGES_PER_RUN: usize = 100;

/// The halted message of a run stopped through [`Progress::cancelled`].
pub const STOPPED: &str = "stopped: shutdown requested";

/// Told how far a run has got (the CLI shows a bar on a terminal), and asked whether to stop.
pub trait Progress {
    /// The run will make `total` steps.
    fn start(&self, total: u64);
    /// `steps` more are done.
    fn advance(&self, steps: u64);
    /// Whether the run should stop. Apply asks between batches (calls, for one-at-a-time
    /// targets): what was confirmed so far is in the ledger, nothing more is sent, and the run
    /// is recorded as halted with [`STOPPED`]. A daemon answers true after SIGTERM.
    fn cancelled(&self) -> bool {
        false
    }
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
    /// Claims recorded on objects already as wanted (another claimant put them there).
    pub joined: usize,
    /// Claims dropped on objects other claimants keep.
    pub released: usize,
    /// Removals the brake held (see the plan's `held` and `brake`).
    pub held: usize,
    pub skipped: usize,
    pub deferred: usize,
    /// 1 when the run was skipped: nothing changed since the workflow's last complete run
    /// (see [`crate::unchanged`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub unchanged: usize,
    /// Whether the run read the target back first (`--verify`, a daemon's verifying pass).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    pub failed: Vec<Failure>,
    /// Errors that are not about one item (a Deep Security part that could not be written).
    pub errors: Vec<String>,
    /// What the run saw that a person should know (the plan's notes, entries kept).
    pub notes: Vec<String>,
    /// The error that stopped the workflow (bad key, list full, unreachable, ...).
    pub halted: Option<String>,
    /// Requests sent to the target, retries included.
    pub api_calls: u64,
    pub retries: u64,
    /// Attempts per endpoint and HTTP status (`None`: no response came), retries included.
    pub calls: Vec<CallCount>,
    /// Pauses of the whole target after HTTP 429, and the milliseconds spent in them.
    pub rate_limit_pauses: u64,
    pub paused_ms: u64,
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
            joined: 0,
            released: 0,
            held: plan.held.len(),
            skipped: usize::try_from(plan.skipped_total()).unwrap_or(usize::MAX),
            deferred: plan.deferred,
            unchanged: 0,
            verified: false,
            failed: Vec::new(),
            errors: Vec::new(),
            notes: plan.notes.clone(),
            halted: None,
            api_calls: 0,
            retries: 0,
            calls: Vec::new(),
            rate_limit_pauses: 0,
            paused_ms: 0,
            elapsed_ms: 0,
            plan,
        }
    }

    /// Takes the client's call counts.
    pub(crate) fn record_calls(&mut self, stats: CallStats) {
        self.api_calls = stats.total_calls();
        self.retries = stats.retries;
        self.rate_limit_pauses = stats.rate_limit_pauses;
        self.paused_ms = stats.paused_ms;
        self.calls = stats.calls;
    }

    /// Stops the run when `progress` asks; true when the apply loop must return.
    pub(crate) fn stop_requested(&mut self, progress: &dyn Progress) -> bool {
        let stop = progress.cancelled();
        if stop {
            self.halted = Some(STOPPED.to_owned());
        }
        stop
    }

    pub(crate) fn fail(&mut self, change: &Change, message: &str) {
        self.failed.push(Failure {
            kind: change.kind,
            value: change.value.clone(),
            message: message.to_owned(),
        });
    }

    /// How the run ended ([`crate::recorder::status`]).
    pub fn status(&self) -> RunStatus {
        self.record().status()
    }

    /// Its summary for the run record.
    pub fn record(&self) -> Record {
        Record {
            halted: self.halted.is_some(),
            held: self.held,
            problems: self.failed.len() + self.errors.len(),
            counts: self.counts(),
            messages: self.messages(),
            items: self.items(),
            subject: None,
        }
    }

    /// What the run did, item by item: failures with the target's answer, guard refusals
    /// with the rule, held removals, then the changes sent. A change of a run that halted is
    /// `unconfirmed`: it may or may not have been sent before the halt (the ledger knows, and
    /// the next run settles it).
    fn items(&self) -> Vec<store::RunItem> {
        let mut items = Items::default();
        let mut failed = std::collections::HashSet::new();
        for failure in &self.failed {
            failed.insert((failure.kind, failure.value.as_str()));
            let detail = Some(failure.message.clone());
            items.push("failed", Some(failure.kind), &failure.value, detail, None);
        }
        for drop in &self.plan.drops {
            let detail = Some(crate::recorder::refusal(&drop.rule, &drop.reason));
            items.push("refused", Some(drop.kind), &drop.value, detail, None);
        }
        for change in &self.plan.held {
            items.push(
                "held",
                Some(change.kind),
                &change.value,
                self.plan.brake.clone(),
                None,
            );
        }
        let plan = &self.plan;
        let changes = [
            ("added", &plan.adds),
            ("updated", &plan.updates),
            ("removed", &plan.removals),
            ("joined", &plan.joins),
            ("released", &plan.releases),
            ("restored", &plan.restores),
        ];
        for (outcome, list) in changes {
            let outcome = if self.halted.is_some() {
                "unconfirmed"
            } else {
                outcome
            };
            for change in list
                .iter()
                .filter(|c| !failed.contains(&(c.kind, c.value.as_str())))
            {
                let detail = Some(change.reason.clone());
                items.push(outcome, Some(change.kind), &change.value, detail, None);
            }
        }
        for skip in &self.plan.skips {
            items.push(
                "skipped",
                Some(skip.kind),
                &skip.value,
                Some(skip.reason.clone()),
                None,
            );
        }
        items.into_vec()
    }

    /// The counts stored with the run.
    pub fn counts(&self) -> serde_json::Value {
        let mut counts = serde_json::json!({
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "joined": self.joined,
            "released": self.released,
            "held": self.held,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "failed": self.failed.len(),
            "api_calls": self.api_calls,
            "retries": self.retries,
            "rate_limit_pauses": self.rate_limit_pauses,
            "paused_ms": self.paused_ms,
            "elapsed_ms": self.elapsed_ms,
        });
        // Only skipped runs carry `unchanged`, and only verifying runs `verified`, so the counts
        // of every other run read as before.
        if self.unchanged > 0
            && let Some(map) = counts.as_object_mut()
        {
            map.insert("unchanged".to_owned(), self.unchanged.into());
        }
        if self.verified
            && let Some(map) = counts.as_object_mut()
        {
            map.insert("verified".to_owned(), true.into());
        }
        counts
    }

    /// Every error message, item failures first (the first [`MESSAGES_PER_RUN`], then how many
    /// more: the run's page lists them), for the run record.
    pub fn messages(&self) -> Vec<String> {
        let more = self.failed.len().saturating_sub(MESSAGES_PER_RUN);
        let items = self
            .failed
            .iter()
            .take(MESSAGES_PER_RUN)
            .map(|f| format!("{}:{}: {}", f.kind, f.value, f.message))
            .chain((more > 0).then(|| format!("and {more} more failed items")));
        let brake = self
            .plan
            .brake
            .iter()
            .map(|why| format!("held {} removals: {why}", self.held));
        items
            .chain(self.errors.iter().cloned())
            .chain(brake)
            .chain(self.halted.iter().map(|h| format!("halted: {h}")))
            .collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
