//! Running a workflow: read the collection and the ledger, read the target back when asked
//! (`--verify`), plan, apply, and record the run. [`plan_workflow`] is the same without the
//! network, for `iocsync plan`.
//!
//! A run that writes holds the workflow's lease in the library for its whole length (see
//! [`lease`](crate::lease)), so two processes (a manual `iocsync run` and the daemon) never run
//! one workflow at once.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig, ListKind};
use store::{Collection, IndicatorRecord, LedgerEntry, LibraryBackend};
use trendmicro::CallStats;
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::http_template::HttpTemplateClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::XdrV2Client;

use crate::apply::{self, V1List};
use crate::config::{Config, Parameters, Product, Target, Workflow};
use crate::error::EngineError;
use crate::lease;
use crate::mapping::V1Attributes;
use crate::packing::part_name;
use crate::plan::{self, Plan, PlanInput, RemoteV1};
use crate::report::{Progress, RunReport};

/// How to run a workflow.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// The engine's notion of now (expiry, renewals, the run record).
    pub now: DateTime<Utc>,
    /// A run by hand (`--manual`): Deep Security "clear IP list on manual run" applies.
    pub manual: bool,
    /// Plan only; nothing is written to the target or the library.
    pub dry_run: bool,
    /// Read the target back first and repair drift.
    pub verify: bool,
}

/// Everything a plan is made from, read from the library.
struct Inputs {
    members: Vec<IndicatorRecord>,
    ledger: Vec<LedgerEntry>,
    guard: Guard,
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
        guard: guard_for(config, workflow)?,
    })
}

/// Plans `workflow` without touching the network or writing anything.
pub fn plan_workflow(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &str,
    now: DateTime<Utc>,
    manual: bool,
) -> Result<Plan, EngineError> {
    let workflow = config.workflow(workflow)?;
    let inputs = inputs(config, library, workflow, now)?;
    Ok(plan::plan(
        workflow,
        &PlanInput {
            members: &inputs.members,
            ledger: &inputs.ledger,
            guard: &inputs.guard,
            now,
            manual,
            remote_v1: None,
            remote_parts: None,
        },
    ))
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
                // plan (see `apply::vision_one`), so the client sends each item once per call.
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
/// back when done, whatever the outcome.
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
    let outcome = run_leased(config, library, &name, options, progress).await;
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
    let inputs = inputs(config, &*library, workflow, options.now)?;
    let client = if options.dry_run && !options.verify {
        None
    } else {
        Some(Client::build(target)?)
    };
    let (remote_v1, remote_parts) = match (&client, options.verify) {
        (Some(client), true) => read_back(client, workflow, &inputs.ledger).await?,
        _ => (None, None),
    };
    let plan = plan::plan(
        workflow,
        &PlanInput {
            members: &inputs.members,
            ledger: &inputs.ledger,
            guard: &inputs.guard,
            now: options.now,
            manual: options.manual,
            remote_v1: remote_v1.as_ref(),
            remote_parts: remote_parts.as_ref(),
        },
    );
    let mut report = RunReport::new(plan, options.dry_run);
    let Some(client) = client.filter(|_| !options.dry_run) else {
        report.elapsed_ms = elapsed_ms(started);
        return Ok(report);
    };
    let run_id = library.start_run(&workflow.name, options.now)?;
    report.run_id = Some(run_id);
    library.record_drops(&report.plan.drops)?;
    let plan = report.plan.clone();
    let steps = match &client {
        Client::DeepSecurity(_) => plan.parts.len(),
        Client::VisionOne(..) | Client::Xdr(_) | Client::Http(_) => plan.changes(),
    };
    progress.start(steps as u64);
    let applied = match &client {
        Client::VisionOne(v1, batch, rounds) => {
            let list = match workflow.parameters {
                Parameters::Exceptions(_) => V1List::Exceptions,
                _ => V1List::Suspicious,
            };
            apply::vision_one(
                v1,
                list,
                &plan,
                library,
                *batch,
                *rounds,
                progress,
                &mut report,
            )
            .await
        }
        Client::DeepSecurity(ds) => {
            apply::deep_security(ds, &plan, library, progress, &mut report).await
        }
        Client::Http(http) => apply::http(http, &plan, library, progress, &mut report).await,
        Client::Xdr(xdr) => match &workflow.parameters {
            Parameters::XdrBlock(params) => {
                apply::xdr(xdr, params, &plan, library, progress, &mut report).await
            }
            _ => Err(wrong_product(workflow, Product::XdrV2)),
        },
    };
    report.record_calls(client.stats());
    report.elapsed_ms = elapsed_ms(started);
    if let Err(error) = &applied {
        report.halted = Some(error.to_string());
    }
    library.finish_run(
        run_id,
        report.status(),
        &report.counts(),
        &report.messages(),
        Utc::now().max(options.now),
    )?;
    applied.map(|()| report)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

type ReadBack = (Option<RemoteV1>, Option<HashMap<u32, Vec<String>>>);

/// Reads what the target holds now, for `--verify`.
async fn read_back(
    client: &Client,
    workflow: &Workflow,
    ledger: &[LedgerEntry],
) -> Result<ReadBack, EngineError> {
    match (client, &workflow.parameters) {
        (Client::VisionOne(v1, ..), Parameters::Exceptions(_)) => {
            let listed = v1.list_exceptions(None).await?;
            let remote = listed
                .into_iter()
                .map(|item| {
                    let attributes =
                        V1Attributes::new(item.value.key(), item.description.unwrap_or_default());
                    (
                        (attributes.key.clone(), item.value.value().to_owned()),
                        attributes,
                    )
                })
                .collect();
            Ok((Some(remote), None))
        }
        (Client::VisionOne(v1, ..), _) => {
            let listed = v1.list_suspicious(None).await?;
            let remote = listed
                .into_iter()
                .map(|item| {
                    let attributes = V1Attributes {
                        scan_action: item.scan_action,
                        risk_level: item.risk_level,
                        ..V1Attributes::new(item.value.key(), item.description.unwrap_or_default())
                    };
                    (
                        (attributes.key.clone(), item.value.value().to_owned()),
                        attributes,
                    )
                })
                .collect();
            Ok((Some(remote), None))
        }
        (Client::DeepSecurity(ds), Parameters::IpList(params)) => {
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
            Ok((None, Some(parts)))
        }
        // XDR v2 has no list to read back: its ledger is the only record.
        (Client::Xdr(_) | Client::Http(_), _) => Ok((None, None)),
        (Client::DeepSecurity(_), _) => Err(wrong_product(workflow, Product::DeepSecurity)),
    }
}

fn wrong_product(workflow: &Workflow, product: Product) -> EngineError {
    EngineError::WrongProduct {
        target: workflow.target.clone(),
        product,
        what: format!("workflow `{}`", workflow.name),
    }
}
