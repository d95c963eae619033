//! What the status page and the JSON API show, gathered in one place: each workflow with its
//! schedule, next run, run in flight and last run; each target with its health, last run and
//! ledger size; and the recent webhook trigger calls and TTL lifts (runs named `hook:<NAME>`
//! and `lift:<NAME>`), each with its values.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use anyhow::Context;
use chrono::{DateTime, Utc};
use config::{Action, Config, Product, Target, Workflow};
use engine::keys::WorkflowKeys;
use serde::Serialize;
use store::{LibraryBackend, RunItem, RunRecord, RunStatus};

use super::Shared;
use super::health::Health;
use super::runner::lock;
use crate::cli::check;

/// How many recent runs are searched for each workflow's last run.
const RECENT_RUNS: u64 = 1000;
/// How many recent trigger calls and lifts are shown.
const RECENT_TRIGGERS: usize = 20;
/// Values shown per trigger call (the run's page has them all).
const VALUES_PER_CALL: u64 = 50;

/// One trigger call or lift: its run, and what became of each value.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerCall {
    #[serde(flatten)]
    pub run: RunRecord,
    pub values: Vec<RunItem>,
}

/// Everything the daemon shows.
#[derive(Debug, Serialize)]
pub struct Status {
    pub generated_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    /// Shutdown was requested: no run is started any more.
    pub stopping: bool,
    pub workflows: Vec<WorkflowStatus>,
    pub targets: Vec<TargetStatus>,
    /// The latest trigger calls and lifts, newest first, with their values.
    pub triggers: Vec<TriggerCall>,
    /// Every configured feed with its last pull.
    pub feeds: Vec<ingest::pull::FeedView>,
    /// The last configuration reload (SIGHUP), if there was one since the start.
    pub reload: Option<Reload>,
    /// The daemons sharing the library and the work each holds.
    pub cluster: super::cluster::View,
}

/// A configuration reload and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Reload {
    pub at: DateTime<Utc>,
    /// Put in force; when not, the daemon kept the configuration it had.
    pub accepted: bool,
    /// Why it was refused.
    pub error: Option<String>,
}

/// One workflow.
#[derive(Debug, Serialize)]
pub struct WorkflowStatus {
    pub name: String,
    pub action: Action,
    pub collection: String,
    pub target: String,
    /// `every 15m` or `cron 0 */6 * * *`; `None` for workflows run only by hand.
    pub schedule: Option<String>,
    pub next_run: Option<DateTime<Utc>>,
    /// Failed runs in a row (retried on the next tick, then less often).
    pub failures: u32,
    pub running: Option<Running>,
    /// The latest finished run.
    pub last_run: Option<RunRecord>,
    /// When its latest successful run (among the last 1,000 runs) finished.
    pub last_success: Option<DateTime<Utc>>,
    /// Entries in this workflow's ledger.
    pub ledger_entries: u64,
}

/// A run in flight.
#[derive(Debug, Serialize)]
pub struct Running {
    pub started_at: DateTime<Utc>,
    pub done: u64,
    pub total: u64,
}

/// One target.
#[derive(Debug, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub product: Product,
    pub health: Health,
    /// The latest finished run of any workflow on this target.
    pub last_run: Option<RunRecord>,
    /// Entries in the ledgers of all its workflows, its triggers and `iocsync block`.
    pub ledger_entries: u64,
    /// How full each capped list is (Vision One: per object type, and the exception list).
    pub rooms: Vec<engine::targets::Room>,
}

/// Reads the library and the daemon's state (blocking: call it off the async threads).
pub fn gather(shared: &Shared) -> anyhow::Result<Status> {
    let config = shared.config();
    let library = config
        .library
        .open()
        .with_context(|| format!("cannot open the library {}", config.library))?;
    let runs = library.runs(RECENT_RUNS)?;
    let mut last: HashMap<&str, &RunRecord> = HashMap::new();
    for run in runs.iter().filter(|run| run.status != RunStatus::Running) {
        last.entry(run.workflow.as_str()).or_insert(run);
    }
    let successes = last_successes(&runs);
    let workflows = config
        .workflows
        .iter()
        .map(|workflow| workflow_status(shared, &*library, workflow, &last, &successes))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let targets = config
        .targets
        .iter()
        .map(|target| target_status(shared, &*library, target, &workflows))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let triggers = trigger_calls(&*library, &runs)?;
    let feeds = ingest::pull::views(&config, &library, Utc::now())?;
    Ok(Status {
        generated_at: Utc::now(),
        started_at: shared.started_at,
        stopping: shared.stop.is_cancelled(),
        workflows,
        targets,
        triggers,
        feeds,
        reload: lock(&shared.last_reload).clone(),
        cluster: super::cluster::view(shared, &*library)?,
    })
}

/// The recent trigger calls and lifts, newest first, each with its values.
fn trigger_calls(
    library: &dyn LibraryBackend,
    runs: &[RunRecord],
) -> anyhow::Result<Vec<TriggerCall>> {
    use engine::keys::runs::{lift_of, trigger_of};
    runs.iter()
        .filter(|run| {
            trigger_of(&run.workflow)
                .or(lift_of(&run.workflow))
                .is_some()
        })
        .take(RECENT_TRIGGERS)
        .map(|run| {
            Ok(TriggerCall {
                run: run.clone(),
                values: library.run_items(run.id, VALUES_PER_CALL)?,
            })
        })
        .collect()
}

fn target_status(
    shared: &Shared,
    library: &dyn LibraryBackend,
    target: &Target,
    workflows: &[WorkflowStatus],
) -> anyhow::Result<TargetStatus> {
    let ours = workflows.iter().filter(|w| w.target == target.name);
    let by_hand = ledger_outside_workflows(&shared.config(), library, &target.name)?;
    let health = lock(&shared.health).get(&target.name).cloned();
    Ok(TargetStatus {
        name: target.name.clone(),
        product: target.product(),
        health: health.unwrap_or_else(|| Health::initial(check::probeable(target.product()))),
        last_run: ours
            .clone()
            .filter_map(|w| w.last_run.as_ref())
            .max_by_key(|run| run.id)
            .cloned(),
        ledger_entries: by_hand + ours.map(|w| w.ledger_entries).sum::<u64>(),
        rooms: engine::targets::rooms(target, library)?,
    })
}

/// Entries pushed to `target` outside its workflows: `iocsync block` and webhook triggers.
fn ledger_outside_workflows(
    config: &Config,
    library: &dyn LibraryBackend,
    target: &str,
) -> anyhow::Result<u64> {
    let triggers = config
        .triggers
        .iter()
        .filter(|trigger| trigger.target == target)
        .map(|trigger| engine::keys::trigger_ledger(target, &trigger.name));
    let mut entries = 0;
    for key in triggers.chain([engine::keys::manual_ledger(target)]) {
        entries += library.ledger_count(&key)?;
    }
    Ok(entries)
}

/// When each run name last finished successfully, among `runs` (newest first).
pub(crate) fn last_successes(runs: &[RunRecord]) -> HashMap<&str, DateTime<Utc>> {
    let mut successes = HashMap::new();
    for run in runs.iter().filter(|run| run.status == RunStatus::Succeeded) {
        if let Some(at) = run.finished_at {
            successes.entry(run.workflow.as_str()).or_insert(at);
        }
    }
    successes
}

fn workflow_status(
    shared: &Shared,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    last: &HashMap<&str, &RunRecord>,
    successes: &HashMap<&str, DateTime<Utc>>,
) -> anyhow::Result<WorkflowStatus> {
    let (next_run, failures) = lock(&shared.scheduler)
        .slot(&workflow.name)
        .map_or((None, 0), |slot| (slot.next, slot.failures));
    let running = lock(&shared.running)
        .get(&workflow.name)
        .map(|progress| Running {
            started_at: progress.started_at,
            done: progress.done.load(Ordering::Relaxed),
            total: progress.total.load(Ordering::Relaxed),
        });
    Ok(WorkflowStatus {
        name: workflow.name.clone(),
        action: workflow.parameters.action(),
        collection: workflow.collection.clone(),
        target: workflow.target.clone(),
        schedule: workflow.schedule.as_ref().map(ToString::to_string),
        next_run,
        failures,
        running,
        last_run: last.get(workflow.name.as_str()).map(|run| (*run).clone()),
        last_success: successes.get(workflow.name.as_str()).copied(),
        ledger_entries: library.ledger_count(&workflow.ledger_key())?,
    })
}
