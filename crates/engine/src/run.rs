//! Running a workflow: read the collection and the claims, read the target back (all of it
//! for `--verify`; before adds, the values about to be added, so an object iocsync did not
//! create is never taken over), plan, apply, and record the run. [`plan_workflow`] is the same
//! without writing, and without the network unless asked to verify.
//!
//! A run that writes holds the workflow's lease in the library for its whole length (see
//! [`lease`](crate::lease)), so two processes (a manual `iocsync run` and the daemon) never run
//! one workflow at once.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig, ListKind};
use indicator::Kind;
use store::{Collection, IndicatorRecord, LedgerEntry, LibraryBackend};
use trendmicro::CallStats;
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::http_template::HttpTemplateClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::XdrV2Client;

use crate::config::{Capacity, Config, Parameters, Product, Target, Workflow};
use crate::error::EngineError;
use crate::lease;
use crate::marker::Marker;
use crate::plan::{self, Plan, PlanInput, Remote};
use crate::report::{Progress, RunReport};
use crate::targets::deep_security::packing::part_name;
use crate::targets::vision_one::apply::V1List;
use crate::targets::vision_one::readback;
use crate::targets::{deep_security, http_template, vision_one, xdr_v2};

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
}

/// Everything a plan is made from, read from the library.
struct Inputs {
    members: Vec<IndicatorRecord>,
    ledger: Vec<LedgerEntry>,
    space: Vec<LedgerEntry>,
    guard: Guard,
    marker: Marker,
}

fn collection(
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
    let list = match workflow.parameters {
        Parameters::Exceptions(_) => ListKind::ExceptionList,
        _ => ListKind::Blocklist,
    };
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
    Ok(Inputs {
        members: library.members(&collection, now, None)?,
        ledger: library.ledger(&workflow.ledger_key())?,
        space: library.space_claims(&workflow.space())?,
        guard: guard_for(config, workflow)?,
        marker: Marker::new(&library.library_id()?),
    })
}

/// The budget of a workflow's list (Vision One lists only).
fn capacity(target: &Target, workflow: &Workflow) -> Option<Capacity> {
    match workflow.parameters {
        Parameters::Blocklist(_) => Some(target.suspicious_capacity()),
        Parameters::Exceptions(_) => Some(target.exception_capacity()),
        Parameters::IpList(_) | Parameters::XdrBlock(_) | Parameters::Http(_) => None,
    }
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
            members: &inputs.members,
            ledger: &inputs.ledger,
            space: &inputs.space,
            guard: &inputs.guard,
            now: options.now,
            manual: options.manual,
            remote: seen.remote,
            remote_parts: seen.remote_parts,
            marker: &inputs.marker,
            capacity: capacity(target, workflow),
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
    let client = Client::build(config.target(&workflow.target)?)?;
    let (plan, _) = plan_with_target(config, library, workflow, &inputs, &client, &options).await?;
    Ok(plan)
}

/// A built client for a workflow's target.
enum Client {
    /// The client, its batch size and how many sends an item with a server error gets.
    VisionOne(VisionOneClient, usize, u32),
    DeepSecurity(DeepSecurityClient),
    Xdr(XdrV2Client),
    Http(HttpTemplateClient),
}

impl Client {
    fn build(target: &Target) -> Result<Client, EngineError> {
        Ok(match target.product {
            Product::VisionOne => {
                let mut config = target.vision_one()?;
                let batch = config.suspicious_batch_size;
                // The engine re-sends items with server errors itself, in rounds over the whole
                // plan (see `targets::vision_one::apply`), so the client sends each item once per call.
                let rounds = std::mem::replace(&mut config.item_attempts, 1);
                Client::VisionOne(VisionOneClient::new(&config)?, batch, rounds)
            }
            Product::DeepSecurity => {
                Client::DeepSecurity(DeepSecurityClient::new(&target.deep_security()?)?)
            }
            Product::XdrV2 => Client::Xdr(XdrV2Client::new(&target.xdr_v2()?)?),
            Product::Http => Client::Http(HttpTemplateClient::new(&target.http_template()?)?),
        })
    }

    fn stats(&self) -> CallStats {
        match self {
            Client::VisionOne(client, ..) => client.stats(),
            Client::DeepSecurity(client) => client.stats(),
            Client::Xdr(client) => client.stats(),
            Client::Http(client) => client.stats(),
        }
    }
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
    let me = lease::lease_holder();
    lease::take(library, &name, &me)?;
    let keeper = lease::Keeper::start(&*library, &name, &me, lease::RENEW_EVERY);
    let outcome = match library.interrupt_runs(&name, Utc::now()) {
        Ok(_) => run_leased(config, library, &name, options, progress).await,
        Err(error) => Err(error.into()),
    };
    keeper.stop();
    let released = library.release_lease(&lease::name(&name), &me);
    let report = outcome?;
    released?;
    Ok(report)
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
        library.set_claim_space(&workflow.ledger_key(), &workflow.space())?;
    }
    let inputs = inputs(config, &*library, workflow, options.now)?;
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
    let client = Client::build(target)?;
    let run_id = if options.dry_run {
        None
    } else {
        Some(library.start_run(&workflow.name, options.now)?)
    };
    let planned = plan_with_target(config, &*library, workflow, &inputs, &client, &options).await;
    let mut report = match planned {
        Ok((plan, _)) => RunReport::new(plan, options.dry_run),
        // The target failed while being read (bad key, unreachable): the run is recorded as
        // halted, with its calls, and nothing is sent.
        Err(EngineError::Target(error)) if run_id.is_some() => {
            let plan = make_plan(config, workflow, &inputs, &offline, &options)?;
            let mut report = RunReport::new(plan, false);
            report.halted = Some(error.to_string());
            report.run_id = run_id;
            return record(library, workflow, report, &client, started, &options);
        }
        Err(error) => return Err(error),
    };
    let Some(run_id) = run_id else {
        report.record_calls(client.stats());
        report.elapsed_ms = elapsed_ms(started);
        return Ok(report);
    };
    report.run_id = Some(run_id);
    library.record_drops(&report.plan.drops)?;
    let plan = report.plan.clone();
    let steps = match &client {
        Client::DeepSecurity(_) => plan.parts.len(),
        Client::VisionOne(..) | Client::Xdr(_) | Client::Http(_) => plan.changes(),
    };
    progress.start(steps as u64);
    let applied = apply_plan(
        config,
        workflow,
        &inputs,
        &client,
        &plan,
        library,
        progress,
        &mut report,
    )
    .await;
    if let Err(error) = &applied {
        report.halted = Some(error.to_string());
    }
    let report = record(library, workflow, report, &client, started, &options)?;
    applied.map(|()| report)
}

/// Closes the run with its calls, time, counts and messages (a held brake is logged).
fn record(
    library: &mut dyn LibraryBackend,
    workflow: &Workflow,
    mut report: RunReport,
    client: &Client,
    started: Instant,
    options: &RunOptions,
) -> Result<RunReport, EngineError> {
    report.record_calls(client.stats());
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
    if let Some(run_id) = report.run_id {
        library.finish_run(
            run_id,
            report.status(),
            &report.counts(),
            &report.messages(),
            Utc::now().max(options.now),
        )?;
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn apply_plan(
    config: &Config,
    workflow: &Workflow,
    inputs: &Inputs,
    client: &Client,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let target = config.target(&workflow.target)?;
    match (client, &workflow.parameters) {
        (Client::VisionOne(v1, batch, rounds), parameters) => {
            let list = match parameters {
                Parameters::Exceptions(_) => V1List::Exceptions,
                _ => V1List::Suspicious,
            };
            let destination = vision_one::apply::VisionOne {
                client: v1,
                list,
                batch: *batch,
                rounds: *rounds,
                capacity: capacity(target, workflow),
            };
            vision_one::apply::vision_one(&destination, plan, library, progress, report).await
        }
        (Client::DeepSecurity(ds), _) => {
            let destination = deep_security::apply::DeepSecurity {
                client: ds,
                target: &target.name,
                marker: &inputs.marker,
                adopt_existing: workflow.adopt_existing,
            };
            deep_security::apply::deep_security(&destination, plan, library, progress, report).await
        }
        (Client::Http(http), _) => {
            http_template::apply::http(http, plan, library, progress, report).await
        }
        (Client::Xdr(xdr), Parameters::XdrBlock(params)) => {
            xdr_v2::apply::xdr(xdr, params, plan, library, progress, report).await
        }
        (Client::Xdr(_), _) => Err(wrong_product(workflow, Product::XdrV2)),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Plans with what the target holds: all of it when verifying; otherwise, on Vision One, the
/// values a first plan would add that no claim knows (one of them may be an analyst's object,
/// which must be left alone). Returns the plan and the read-back.
async fn plan_with_target(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    inputs: &Inputs,
    client: &Client,
    options: &RunOptions,
) -> Result<(Plan, Option<Remote>), EngineError> {
    let mut seen = Seen {
        remote: None,
        remote_parts: None,
        wanted_elsewhere: None,
    };
    let parts;
    let wanted;
    if options.verify {
        match client {
            Client::DeepSecurity(ds) => {
                parts = read_parts(ds, workflow, &inputs.ledger).await?;
                seen.remote_parts = Some(&parts);
                let plan = make_plan(config, workflow, inputs, &seen, options)?;
                return Ok((plan, None));
            }
            Client::VisionOne(v1, ..) => {
                let remote = readback::whole_list(v1, workflow, &inputs.marker).await?;
                wanted = wanted_by_others(config, library, workflow, options);
                seen.wanted_elsewhere = wanted.as_ref();
                seen.remote = Some(&remote);
                let plan = make_plan(config, workflow, inputs, &seen, options)?;
                return Ok((plan, Some(remote)));
            }
            // XDR v2 and webhooks have nothing to read back: their ledger is the only record.
            Client::Xdr(_) | Client::Http(_) => {}
        }
    }
    let first = make_plan(config, workflow, inputs, &seen, options)?;
    let Client::VisionOne(v1, ..) = client else {
        return Ok((first, None));
    };
    let unclaimed: Vec<&crate::plan::Change> = first.adds.iter().collect();
    if unclaimed.is_empty() {
        return Ok((first, None));
    }
    let remote = readback::look_up(v1, workflow, &inputs.marker, &unclaimed).await?;
    seen.remote = Some(&remote);
    let plan = make_plan(config, workflow, inputs, &seen, options)?;
    Ok((plan, Some(remote)))
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

/// Deep Security part contents, for `--verify`.
async fn read_parts(
    ds: &DeepSecurityClient,
    workflow: &Workflow,
    ledger: &[LedgerEntry],
) -> Result<HashMap<u32, Vec<String>>, EngineError> {
    let Parameters::IpList(params) = &workflow.parameters else {
        return Err(wrong_product(workflow, Product::DeepSecurity));
    };
    let mut parts = HashMap::new();
    let indexes: std::collections::BTreeSet<u32> = ledger
        .iter()
        .filter_map(|e| e.attributes.get("part").and_then(|p| p.as_u64()))
        .filter_map(|p| u32::try_from(p).ok())
        .collect();
    for index in indexes {
        if let Some(list) = ds
            .find_list_by_name(&part_name(&params.list_name, index))
            .await?
        {
            parts.insert(index, list.items);
        }
    }
    Ok(parts)
}

fn wrong_product(workflow: &Workflow, product: Product) -> EngineError {
    EngineError::WrongProduct {
        target: workflow.target.clone(),
        product,
        what: format!("workflow `{}`", workflow.name),
    }
}
