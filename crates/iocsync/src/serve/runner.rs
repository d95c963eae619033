//! Scheduled runs: each tick, the loop asks the [`Scheduler`](engine::schedule::Scheduler)
//! what is due and runs each due workflow exactly as `iocsync run` does, on its own library
//! handle (a handle is `Send` but not `Sync`) and its own thread, so a slow target never holds
//! up the listener or the other workflows; it also lifts webhook-trigger blocks whose TTL passed.
//!
//! Daemons sharing one library share the work: a due run is first taken in the library
//! ([`occurrence::take`]). One another daemon already ran is not run here, and the next is
//! timed from that run; one another process is running (a daemon, a manual `iocsync run`) is
//! asked for again next tick, with nothing recorded. A library that cannot be asked means no
//! work is taken, and the cluster view says so.
//!
//! Shutdown: once the daemon's token is cancelled no run is started, and runs in flight see
//! [`Progress::cancelled`] and stop after the batch in flight; the loop returns when they have
//! all been recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use config::Config;
use engine::occurrence::{self, Taken, Work};
use engine::schedule::Due;
use engine::{EngineError, Progress, RunOptions, RunReport, verify_pass};
use store::{LibraryBackend, RunStatus};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::Shared;

/// How far a run in flight has got, shown on the status page; tells the engine to stop
/// between batches once the daemon shuts down.
pub struct RunProgress {
    pub started_at: DateTime<Utc>,
    pub total: AtomicU64,
    pub done: AtomicU64,
    stop: CancellationToken,
}

impl Progress for RunProgress {
    fn start(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    fn advance(&self, steps: u64) {
        self.done.fetch_add(steps, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Every tick until `shared.stop` is cancelled: runs the due workflows and lifts trigger blocks
/// whose TTL has passed; then waits for the runs (and the lift) in flight.
pub async fn schedule(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(shared.options.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut runs = JoinSet::new();
    // One lift of expired trigger blocks at a time, off the tick loop (it calls targets).
    let mut lifting: Option<JoinHandle<()>> = None;
    loop {
        tokio::select! {
            () = shared.stop.cancelled() => break,
            Some(joined) = runs.join_next() => {
                log_panic(joined);
                continue;
            }
            _ = ticker.tick() => {}
        }
        let now = Utc::now();
        for feed in lock(&shared.feed_scheduler).due(now) {
            runs.spawn(super::pulls::pull_scheduled(Arc::clone(&shared), feed));
        }
        let due = lock(&shared.scheduler).due(now);
        for workflow in due {
            runs.spawn(run_scheduled(Arc::clone(&shared), workflow, now));
        }
        super::cluster::beat(&shared);
        if lifting.as_ref().is_none_or(JoinHandle::is_finished) {
            let triggers = Arc::clone(&shared.triggers);
            lifting = Some(tokio::spawn(async move {
                triggers.lift_due(Utc::now()).await;
            }));
        }
    }
    if !runs.is_empty() {
        tracing::info!(
            runs = runs.len(),
            "shutdown requested: waiting for the batches in flight"
        );
    }
    if let Some(lift) = lifting
        && let Err(error) = lift.await
    {
        tracing::error!(%error, "lifting trigger blocks panicked");
    }
    while let Some(joined) = runs.join_next().await {
        log_panic(joined);
    }
}

fn log_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined {
        tracing::error!(%error, "a scheduled run panicked");
    }
}

/// Locks a mutex, taking the data even if a panicking thread poisoned it: every writer leaves
/// the daemon's state consistent between statements.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one workflow that fell due `at` (the run's "now", so its record shows the schedule
/// kept) unless another process has it, and tells the scheduler and the metrics how it went.
async fn run_scheduled(shared: Arc<Shared>, due: Due, at: DateTime<Utc>) {
    let Due {
        name: workflow,
        since,
    } = due;
    let progress = Arc::new(RunProgress {
        started_at: at,
        total: AtomicU64::new(0),
        done: AtomicU64::new(0),
        stop: shared.stop.clone(),
    });
    let config = shared.config();
    if config.workflow(&workflow).is_err() {
        // A reload removed it between falling due and now: nothing to run or record.
        tracing::info!(
            workflow,
            "run skipped: the workflow was removed by a reload"
        );
        lock(&shared.scheduler).finished(&workflow, true, Utc::now());
        return;
    }
    let Some(_slot) = run_slot(&shared, &workflow).await else {
        // Shutdown came first: the run never started, so there is nothing to record.
        lock(&shared.scheduler).finished(&workflow, false, Utc::now());
        return;
    };
    lock(&shared.running).insert(workflow.clone(), Arc::clone(&progress));
    let started = Instant::now();
    let name = workflow.clone();
    let run_progress = Arc::clone(&progress);
    let turn = tokio::task::spawn_blocking(move || {
        let occurrence = Occurrence { since, at };
        run_if_ours(&config, &name, occurrence, &run_progress)
    })
    .await
    .unwrap_or_else(|error| Turn::Ran(Box::new(Err(anyhow::anyhow!("the run panicked: {error}")))));
    let outcome = match turn {
        Turn::Ran(outcome) => *outcome,
        other => {
            lock(&shared.running).remove(&workflow);
            elsewhere(&shared, &workflow, since, other);
            return;
        }
    };
    if let Some(busy) = held_elsewhere(&outcome) {
        // Another process took the workflow between the take and the run: skip this tick,
        // record nothing, and try again on the next one.
        tracing::info!(workflow, reason = %busy, "run skipped");
        lock(&shared.running).remove(&workflow);
        lock(&shared.scheduler).running_elsewhere(&workflow, since, Utc::now());
        return;
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = match &outcome {
        Ok(report) => report.status(),
        Err(_) => RunStatus::Failed,
    };
    log_outcome(&workflow, status, &outcome);
    shared
        .metrics
        .record_run(&workflow, status, outcome.as_ref().ok(), seconds);
    lock(&shared.running).remove(&workflow);
    let succeeded = matches!(
        status,
        RunStatus::Succeeded | RunStatus::Partial | RunStatus::Held
    );
    lock(&shared.scheduler).finished(&workflow, succeeded, Utc::now());
}

/// The occurrence a scheduled run is for.
struct Occurrence {
    /// When it began by this daemon's schedule ([`Due::since`]).
    since: DateTime<Utc>,
    /// When it fell due here: the run's "now".
    at: DateTime<Utc>,
}

/// What became of a due run.
enum Turn {
    /// It ran here (boxed: a report is large, and most turns in a cluster are elsewhere).
    Ran(Box<anyhow::Result<RunReport>>),
    /// Another process has it ([`Taken::Done`] or [`Taken::Running`]).
    Elsewhere(Taken),
    /// The library could not be asked: no work is taken.
    Unreachable(anyhow::Error),
}

/// Tells the scheduler of `workflow`'s occurrence (begun `since`) that another process has
/// it, or that the library could not be asked.
fn elsewhere(shared: &Shared, workflow: &str, since: DateTime<Utc>, turn: Turn) {
    let now = Utc::now();
    if let Turn::Unreachable(error) = &turn {
        super::cluster::unreachable(shared, error);
    }
    let mut scheduler = lock(&shared.scheduler);
    match turn {
        Turn::Elsewhere(Taken::Done { at }) => {
            tracing::info!(workflow, %at, "run not needed: another process ran this occurrence");
            scheduler.ran_elsewhere(workflow, at);
        }
        Turn::Elsewhere(Taken::Running(lease)) => {
            tracing::info!(workflow, holder = %lease.holder, "run skipped: the workflow is already running in another process");
            scheduler.running_elsewhere(workflow, since, now);
        }
        _ => {
            scheduler.running_elsewhere(workflow, since, now);
        }
    }
}

/// Waits for one of the `serve.max_concurrent_runs` run slots; `None` when shutdown is
/// requested first.
async fn run_slot<'a>(
    shared: &'a Shared,
    workflow: &str,
) -> Option<tokio::sync::SemaphorePermit<'a>> {
    if let Ok(slot) = shared.run_slots.try_acquire() {
        return Some(slot);
    }
    tracing::info!(
        workflow,
        limit = shared.options.config.serve.max_concurrent_runs,
        "run waits for a slot: serve.max_concurrent_runs runs are in flight"
    );
    tokio::select! {
        slot = shared.run_slots.acquire() => slot.ok(),
        () = shared.stop.cancelled() => None,
    }
}

/// Whether the run of `workflow` taken for `occurrence` is its verifying pass
/// ([`verify_pass::due`]); a mark that cannot be read makes it one (drift is what a pass finds).
fn verify_due(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &str,
    occurrence: &Occurrence,
) -> bool {
    let Some(every) = config.workflow(workflow).ok().and_then(|w| w.verify_every) else {
        return false;
    };
    verify_pass::due(library, workflow, every, occurrence.at)
        .unwrap_or_else(|error| {
            tracing::warn!(workflow, %error, "cannot read when the workflow was last verified: this run verifies");
            true
        })
}

/// The lease error of a run that did not start because another process holds its workflow.
fn held_elsewhere(outcome: &anyhow::Result<RunReport>) -> Option<&EngineError> {
    let error = outcome.as_ref().err()?.downcast_ref::<EngineError>()?;
    matches!(error, EngineError::Busy(_)).then_some(error)
}

fn log_outcome(workflow: &str, status: RunStatus, outcome: &anyhow::Result<RunReport>) {
    match outcome {
        Ok(report) if status == RunStatus::Failed => tracing::warn!(
            workflow,
            halted = report.halted,
            added = report.added,
            removed = report.removed,
            "run failed"
        ),
        Ok(report) if status == RunStatus::Held => tracing::warn!(
            workflow,
            held = report.held,
            reason = report.plan.brake.as_deref().unwrap_or_default(),
            added = report.added,
            updated = report.updated,
            "run finished with removals held by the brake: review `iocsync plan`, release with `iocsync run --allow-removals`"
        ),
        Ok(report) if status == RunStatus::Partial => tracing::warn!(
            workflow, %status, added = report.added, updated = report.updated,
            removed = report.removed, failed = report.failed.len(),
            first_failure = report.failed.first().map(|f| format!("{}: {}", f.value, f.message)),
            "run finished, some items failed"
        ),
        Ok(report) => tracing::info!(
            workflow, %status, added = report.added, updated = report.updated,
            removed = report.removed, failed = report.failed.len(), "run finished"
        ),
        Err(error) => tracing::error!(workflow, error = format!("{error:#}"), "run failed"),
    }
}

/// Takes the occurrence of `workflow` begun `since` ([`occurrence::take`]) and runs it on
/// this thread when it is this daemon's; gives the lease back whatever the run did.
fn run_if_ours(
    config: &Config,
    workflow: &str,
    occurrence: Occurrence,
    progress: &RunProgress,
) -> Turn {
    let opened = config
        .library
        .open_existing()
        .with_context(|| format!("cannot open the library {}", config.library));
    let mut library = match opened {
        Ok(library) => library,
        Err(error) => return Turn::Unreachable(error),
    };
    let work = Work::Workflow(workflow);
    match occurrence::take(&mut *library, work, occurrence.since) {
        Ok(Taken::Mine) => {}
        Ok(taken) => return Turn::Elsewhere(taken),
        Err(error) => return Turn::Unreachable(error.into()),
    }
    let verify = verify_due(config, &*library, workflow, &occurrence);
    let outcome = run_once(config, &mut *library, workflow, progress, verify);
    if let Err(error) = occurrence::release(&mut *library, work) {
        tracing::warn!(workflow, %error, "cannot give the workflow's lease back; it lapses");
    }
    Turn::Ran(Box::new(outcome))
}

/// One run on this thread: its own library handle and runtime, as `iocsync run` has. An error
/// the engine returns before it recorded the run is recorded here as a failed run, so the
/// status page and `iocsync runs` show every attempt.
fn run_once(
    config: &Config,
    library: &mut dyn LibraryBackend,
    workflow: &str,
    progress: &RunProgress,
    verify: bool,
) -> anyhow::Result<RunReport> {
    let before = library.runs(1)?.first().map_or(0, |run| run.id);
    let options = RunOptions {
        now: progress.started_at,
        manual: false,
        dry_run: false,
        verify,
        allow_removals: false,
        all_skips: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(engine::run_workflow(
        config, library, workflow, options, progress,
    ));
    outcome.map_err(|error| {
        if matches!(error, EngineError::Busy(_)) {
            return anyhow::Error::new(error);
        }
        let message = error.to_string();
        if let Err(record) = record_failure(library, workflow, before, &message) {
            tracing::error!(workflow, error = %record, "cannot record the failed run");
        }
        anyhow::Error::new(error)
    })
}

/// Makes sure the failed run of `workflow` started after run `before` is recorded as failed
/// with `message`: closes it if the engine left it open, records one if the engine failed
/// before recording it.
fn record_failure(
    library: &mut dyn LibraryBackend,
    workflow: &str,
    before: i64,
    message: &str,
) -> store::Result<()> {
    let now = Utc::now();
    let errors = [message.to_owned()];
    let counts = serde_json::json!({});
    let recent = library.runs(50)?;
    let ours = recent
        .iter()
        .find(|run| run.id > before && run.workflow == workflow);
    match ours {
        Some(run) if run.status == RunStatus::Running => {
            library.finish_run(run.id, RunStatus::Failed, &counts, &errors, now)?;
        }
        Some(_) => {}
        None => {
            let id = library.start_run(workflow, now)?;
            library.finish_run(id, RunStatus::Failed, &counts, &errors, now)?;
        }
    }
    Ok(())
}
