//! Running a workflow: read the collection and the claims, read the target back (all of it
//! for `--verify`; before adds, the values about to be added, so an object iocsync did not
//! create is never taken over), plan, apply, and record the run. [`plan_workflow`] is the same
//! without writing, and without the network unless asked to verify.
//!
//! A run that writes holds the workflow's lease in the library for its whole length (see
//! [`crate::lease`]), so two processes (a manual `iocsync run` and the daemon) never run
//! one workflow at once.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig};
use indicator::Kind;
use store::{Collection, LedgerEntry, LibraryBackend};

use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::lease;
use crate::mapping::Describer;
use crate::marker::Marker;
use crate::members::{Members, Reader};
use crate::plan::{self, Plan, PlanInput, Remote};
use crate::recorder::Recorder;
use crate::report::{Progress, RunReport};
use crate::targets::{self, Connection, ReadBack};
use crate::unchanged;
use config::{Config, Workflow};

/// How to run a workflow.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// The engine's notion of now (expiry, renewals, the run record).
    pub now: DateTime<Utc>,
    /// A run by hand (`--manual`): Deep Security "clear IP list on manual run" applies.
    pub manual: bool,
    /// Plan only; nothing is written to the target or the library.
    pub dry_run: bool,
    /// Read the target back first and repair drift, restore vanished objects, remove orphans.
    pub verify: bool,
    /// Let this run's removals past the brake (`--allow-removals`, after a person looked).
    pub allow_removals: bool,
    /// List every skipped member in the plan, not a sample of each reason.
    pub all_skips: bool,
}

/// Everything a plan is made from, read from the library.
struct Inputs {
    members: Members,
    ledger: Vec<LedgerEntry>,
    space: Vec<LedgerEntry>,
    guard: Guard,
    marker: Marker,
}

pub(crate) fn collection(
    config: &Config,
    library: &dyn LibraryBackend,
    name: &str,
) -> Result<Collection, EngineError> {
    if let Some(found) = config.collection(name) {
        return Ok(found.clone());
    }
    library
        .collection(name)?
        .ok_or_else(|| EngineError::UnknownCollection(name.to_owned()))
}

fn guard_for(config: &Config, workflow: &Workflow) -> Result<Guard, EngineError> {
    let list = crate::targets::guard_list(&workflow.parameters);
    let settings = GuardConfig {
        list,
        ..config.guard.clone()
    };
    Ok(Guard::new(&settings)?)
}

fn inputs(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    now: DateTime<Utc>,
) -> Result<Inputs, EngineError> {
    let collection = collection(config, library, &workflow.collection)?;
    let guard = guard_for(config, workflow)?;
    let marker = Marker::new(&library.library_id()?);
    let ledger = library.ledger(&workflow.ledger_key())?;
    let members = Reader {
        library,
        collection: &collection,
        workflow,
        guard: &guard,
        describe: &Describer {
            marker: &marker,
            template: workflow.description.as_ref(),
        },
        claims: &ledger,
        now,
    }
    .read()?;
    Ok(Inputs {
        members,
        ledger,
        space: if per_object(workflow) {
            library.space_claims(&workflow.space())?
        } else {
            // A Deep Security list is its workflow's alone, and its packing reads only the
            // workflow's claims: no second copy of a million of them.
            Vec::new()
        },
        guard,
        marker,
    })
}

/// Whether the workflow's plan decides object by object against every claim in its space
/// (all but Deep Security IP lists, which are packed from the workflow's own claims).
fn per_object(workflow: &Workflow) -> bool {
    !matches!(workflow.parameters, config::Parameters::IpList(_))
}

/// What a plan reads besides its inputs: the target as read back, and run options.
struct Seen<'a> {
    remote: Option<&'a Remote>,
    remote_parts: Option<&'a HashMap<u32, Vec<String>>>,
    wanted_elsewhere: Option<&'a HashSet<(Kind, String)>>,
}

fn make_plan(
    config: &Config,
    workflow: &Workflow,
    inputs: &Inputs,
    seen: &Seen<'_>,
    options: &RunOptions,
) -> Result<Plan, EngineError> {
    let target = config.target(&workflow.target)?;
    Ok(plan::plan(
        workflow,
        &PlanInput {
            members: &inputs.members.records,
            unread: &inputs.members.unread,
            all_skips: options.all_skips,
            ledger: &inputs.ledger,
            space: &inputs.space,
            guard: &inputs.guard,
            now: options.now,
            manual: options.manual,
            remote: seen.remote,
            remote_parts: seen.remote_parts,
            marker: &inputs.marker,
            capacity: targets::capacity(target, &workflow.parameters),
            wanted_elsewhere: seen.wanted_elsewhere,
            allow_removals: options.allow_removals,
        },
    ))
}

/// Plans `workflow` without writing anything; with `verify`, reads the target first (as
/// `run --verify` would), otherwise touches no network.
pub async fn plan_workflow(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &str,
    options: RunOptions,
) -> Result<Plan, EngineError> {
    let workflow = config.workflow(workflow)?;
    let inputs = inputs(config, library, workflow, options.now)?;
    if !options.verify {
        let seen = Seen {
            remote: None,
            remote_parts: None,
            wanted_elsewhere: None,
        };
        return make_plan(config, workflow, &inputs, &seen, &options);
    }
    let connection = Connection::open(config.target(&workflow.target)?, workflow)?;
    plan_with_target(config, library, workflow, &inputs, &connection, &options).await
}

/// Runs `workflow` once: plan, apply, record. A run that writes first takes the workflow's
/// lease ([`EngineError::Busy`], nothing recorded, when another process holds it) and gives it
/// back when done, whatever the outcome. Taking the lease marks the runs a dead holder left
/// `running` as `interrupted`.
pub async fn run_workflow(
    config: &Config,
    library: &mut dyn LibraryBackend,
    workflow: &str,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, EngineError> {
    if options.dry_run {
        return run_leased(config, library, workflow, options, progress).await;
    }
    let name = config.workflow(workflow)?.name.clone();
    lease::holding(library, &name, async |library: &mut dyn LibraryBackend| {
        library.interrupt_runs(&name, Utc::now())?;
        run_leased(config, library, &name, options, progress).await
    })
    .await
}

/// [`run_workflow`] once the lease is held (or not needed: a dry run writes nothing).
async fn run_leased(
    config: &Config,
    library: &mut dyn LibraryBackend,
    workflow: &str,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport, EngineError> {
    let started = Instant::now();
    let workflow = config.workflow(workflow)?;
    let target = config.target(&workflow.target)?;
    if !options.dry_run {
        // Claims written before spaces existed join their space.
        crate::claims::join_space(library, &workflow.ledger_key(), &workflow.space())?;
    }
    let collection = collection(config, &*library, &workflow.collection)?;
    let before = match unchanged::check(config, &*library, workflow, &collection, &options)? {
        unchanged::Check::Unchanged => {
            return record_unchanged(library, workflow, started, &options);
        }
        unchanged::Check::Full(before) => before,
    };
    let mut inputs = inputs(config, &*library, workflow, options.now)?;
    let members_due = unchanged::members_due(&collection, &inputs.members.records);
    let settle = |library: &mut dyn LibraryBackend, report: &RunReport| {
        let Some(before) = before else { return };
        let settled = unchanged::settle(
            library,
            workflow,
            before,
            members_due,
            &inputs.ledger,
            report,
            options.now,
        );
        // Not remembering a run only costs the next one a full run.
        if let Err(error) = settled {
            tracing::warn!(workflow = %workflow.name, %error, "cannot remember the run: the next run reads everything");
        }
    };
    let offline = Seen {
        remote: None,
        remote_parts: None,
        wanted_elsewhere: None,
    };
    if options.dry_run && !options.verify {
        let plan = make_plan(config, workflow, &inputs, &offline, &options)?;
        let mut report = RunReport::new(plan, true);
        report.elapsed_ms = elapsed_ms(started);
        return Ok(report);
    }
    let connection = Connection::open(target, workflow)?;
    let run = if options.dry_run {
        None
    } else {
        Some(Recorder::start(library, &workflow.name, options.now)?)
    };
    if options.verify && run.is_some() {
        crate::verify_pass::mark(library, &workflow.name, options.now)?;
    }
    let planned =
        plan_with_target(config, &*library, workflow, &inputs, &connection, &options).await;
    let mut report = match planned {
        Ok(plan) => RunReport::new(plan, options.dry_run),
        // The target failed while being read (bad key, unreachable): the run is recorded as
        // halted, with its calls, and nothing is sent.
        Err(EngineError::Target(error)) if run.is_some() => {
            let plan = make_plan(config, workflow, &inputs, &offline, &options)?;
            let mut report = RunReport::new(plan, false);
            report.halted = Some(error.to_string());
            report.verified = options.verify;
            report.run_id = run.map(|r| r.id());
            let report = record(
                library,
                workflow,
                report,
                run,
                &connection,
                started,
                &options,
            )?;
            settle(library, &report);
            return Ok(report);
        }
        Err(error) => return Err(error),
    };
    report.verified = options.verify;
    let Some(recorder) = run else {
        report.record_calls(connection.stats());
        report.elapsed_ms = elapsed_ms(started);
        return Ok(report);
    };
    report.run_id = Some(recorder.id());
    library.record_drops(&report.plan.drops)?;
    // The plan is made: what it was made from need not stay while it applies (a million
    // members on a large Deep Security workflow), nor need the plan be copied.
    inputs.members = Members::default();
    let plan = std::mem::replace(&mut report.plan, Plan::empty(workflow, options.now));
    let steps = connection.steps(&plan);
    progress.start(steps as u64);
    let applied = connection
        .apply(
            target,
            workflow,
            &inputs.marker,
            &plan,
            library,
            progress,
            &mut report,
        )
        .await;
    report.plan = plan;
    if let Err(error) = &applied {
        report.halted = Some(error.to_string());
    }
    let report = record(
        library,
        workflow,
        report,
        run,
        &connection,
        started,
        &options,
    )?;
    settle(library, &report);
    applied.map(|()| report)
}

/// Records a run that [`unchanged::check`] found nothing to do for.
fn record_unchanged(
    library: &mut dyn LibraryBackend,
    workflow: &Workflow,
    started: Instant,
    options: &RunOptions,
) -> Result<RunReport, EngineError> {
    let recorder = Recorder::start(library, &workflow.name, options.now)?;
    let mut report = unchanged::report(workflow, options.now);
    report.run_id = Some(recorder.id());
    report.elapsed_ms = elapsed_ms(started);
    recorder.finish(library, &report.record(), options.now)?;
    Ok(report)
}

/// Closes the run with its calls, time, counts and messages (a held brake is logged).
fn record(
    library: &mut dyn LibraryBackend,
    workflow: &Workflow,
    mut report: RunReport,
    run: Option<Recorder>,
    connection: &Connection<'_>,
    started: Instant,
    options: &RunOptions,
) -> Result<RunReport, EngineError> {
    report.record_calls(connection.stats());
    report.elapsed_ms = elapsed_ms(started);
    if let Some(why) = &report.plan.brake {
        tracing::warn!(
            workflow = %workflow.name,
            held = report.held,
            reason = %why,
            "removals held by the brake: review `iocsync plan {}`, then `iocsync run {} --allow-removals`",
            workflow.name,
            workflow.name
        );
    }
    if let Some(run) = run {
        run.finish(library, &report.record(), options.now)?;
    }
    Ok(report)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Plans with what the target holds: all of it when verifying; otherwise the values a first
/// plan would add that no claim knows, where the target can tell (one of them may be an
/// analyst's object, which must be left alone).
async fn plan_with_target(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    inputs: &Inputs,
    connection: &Connection<'_>,
    options: &RunOptions,
) -> Result<Plan, EngineError> {
    let mut seen = Seen {
        remote: None,
        remote_parts: None,
        wanted_elsewhere: None,
    };
    if options.verify {
        let wanted;
        match connection
            .read_back(workflow, &inputs.marker, &inputs.ledger)
            .await?
        {
            ReadBack::Parts(parts) => {
                seen.remote_parts = Some(&parts);
                return make_plan(config, workflow, inputs, &seen, options);
            }
            ReadBack::Objects(remote) => {
                wanted = wanted_by_others(config, library, workflow, options);
                seen.wanted_elsewhere = wanted.as_ref();
                seen.remote = Some(&remote);
                return make_plan(config, workflow, inputs, &seen, options);
            }
            ReadBack::Nothing => {}
        }
    }
    let first = make_plan(config, workflow, inputs, &seen, options)?;
    let adds: Vec<&crate::plan::Change> = first.adds.iter().collect();
    if adds.is_empty() {
        return Ok(first);
    }
    match connection.look_up(&inputs.marker, &adds).await? {
        None => Ok(first),
        Some(remote) if remote.objects.is_empty() && !remote.complete => {
            Ok(crate::plan::looked_up_nothing(first))
        }
        Some(remote) => {
            seen.remote = Some(&remote);
            make_plan(config, workflow, inputs, &seen, options)
        }
    }
}

/// The values other workflows on `workflow`'s list want (a verify leaves their orphans
/// alone); `None` when one of them cannot be planned (its collection is missing, say), so
/// nothing it might want is removed.
fn wanted_by_others(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    options: &RunOptions,
) -> Option<HashSet<(Kind, String)>> {
    let mut wanted = HashSet::new();
    let space = workflow.space();
    let seen = Seen {
        remote: None,
        remote_parts: None,
        wanted_elsewhere: None,
    };
    for other in config
        .workflows
        .iter()
        .filter(|w| w.name != workflow.name && w.space() == space)
    {
        let planned = inputs(config, library, other, options.now)
            .and_then(|inputs| Ok((make_plan(config, other, &inputs, &seen, options)?, inputs)));
        let (plan, inputs) = match planned {
            Ok(planned) => planned,
            Err(error) => {
                tracing::warn!(workflow = %other.name, %error, "cannot tell what this workflow wants: no orphan is removed");
                return None;
            }
        };
        let leaving: HashSet<&str> = plan
            .removals
            .iter()
            .chain(&plan.releases)
            .map(|c| c.value.as_str())
            .collect();
        for change in plan.adds.iter().chain(&plan.updates).chain(&plan.joins) {
            wanted.insert((change.kind, change.value.clone()));
        }
        for entry in &inputs.ledger {
            if !leaving.contains(entry.value.as_str()) {
                wanted.insert((entry.kind, entry.value.clone()));
            }
        }
    }
    Some(wanted)
}
