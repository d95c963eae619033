//! Apply: sends a plan to its target in batches, in priority order, and records in the
//! ledger — one transaction per confirmed batch — exactly the items the target confirmed. A
//! process killed anywhere leaves the ledger a subset of the truth (Vision One upserts by
//! value) or an exact copy of it (Deep Security parts are written whole and placed
//! deterministically), so the next run converges without duplicates or losses.

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::{LedgerEntry, LibraryBackend};
use trendmicro::deep_security::{DeepSecurityClient, MAX_IP_LISTS};
use trendmicro::http_template::{Fields, HttpTemplateClient};
use trendmicro::vision_one::{BatchReport, ItemOutcome, ObjectValue, VisionOneClient};
use trendmicro::xdr_v2::{TaskStatus, ValueType, XdrV2Client};

use crate::config::XdrParams;

use crate::error::EngineError;
use crate::mapping::V1Attributes;
use crate::packing::{PartWrite, item_kind};
use crate::plan::{Change, Plan};
use crate::report::{Failure, Progress, RunReport};

/// The description iocsync gives the IP lists it creates.
const LIST_DESCRIPTION: &str = "[iocsync] managed list: edits are overwritten on the next run";

/// Which Vision One list a plan goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1List {
    Suspicious,
    Exceptions,
}

/// Applies a Vision One plan: removals first, then updates and adds.
pub async fn vision_one(
    client: &VisionOneClient,
    list: V1List,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    batch: usize,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    if !plan.forget.is_empty() {
        library.ledger_remove(&plan.ledger, &plan.forget)?;
    }
    for chunk in plan.removals.chunks(batch.max(1)) {
        let (values, keys) = object_values(chunk, report);
        let result = match list {
            V1List::Suspicious => client.delete_suspicious(&values).await,
            V1List::Exceptions => client.delete_exceptions(&values).await,
        };
        let done = confirmed(&result, &keys, report);
        library.ledger_remove(&plan.ledger, &done)?;
        report.removed += done.len();
        progress.advance(chunk.len() as u64);
        if halt(result, report) {
            return Ok(());
        }
    }
    let sends: Vec<&Change> = plan.updates.iter().chain(&plan.adds).collect();
    for chunk in sends.chunks(batch.max(1)) {
        let now = Utc::now().max(plan.at);
        let mut pending = Vec::with_capacity(chunk.len());
        for change in chunk {
            match serde_json::from_value::<V1Attributes>(change.attributes.clone()) {
                Ok(attributes) => match attributes.object_value(&change.value) {
                    Some(value) => pending.push((*change, attributes, value)),
                    None => report.fail(change, "unknown Vision One value key"),
                },
                Err(error) => report.fail(change, &error.to_string()),
            }
        }
        let result = match list {
            V1List::Suspicious => {
                let objects: Vec<_> = pending
                    .iter()
                    .map(|(_, a, v)| a.suspicious(v.clone(), plan.at))
                    .collect();
                client.add_suspicious(&objects).await
            }
            V1List::Exceptions => {
                let objects: Vec<_> = pending
                    .iter()
                    .map(|(_, a, v)| a.exception(v.clone()))
                    .collect();
                client.add_exceptions(&objects).await
            }
        };
        let mut entries = Vec::new();
        for ((change, attributes, _), item) in pending.iter().zip(&result.items) {
            match &item.outcome {
                outcome if outcome.is_done() => {
                    entries.push(LedgerEntry {
                        target: plan.ledger.clone(),
                        kind: change.kind,
                        value: change.value.clone(),
                        attributes: serde_json::to_value(attributes.pushed_at(plan.at))
                            .unwrap_or_default(),
                        remote_id: None,
                        pushed_at: now,
                    });
                    if plan.adds.contains(change) {
                        report.added += 1;
                    } else {
                        report.updated += 1;
                    }
                }
                outcome => record_failure(change.kind, &change.value, outcome, report),
            }
        }
        library.ledger_upsert(&entries)?;
        progress.advance(chunk.len() as u64);
        if halt(result, report) {
            return Ok(());
        }
    }
    Ok(())
}

fn object_values(
    chunk: &[Change],
    report: &mut RunReport,
) -> (Vec<ObjectValue>, Vec<(Kind, String)>) {
    let mut values = Vec::with_capacity(chunk.len());
    let mut keys = Vec::with_capacity(chunk.len());
    for change in chunk {
        let value = serde_json::from_value::<V1Attributes>(change.attributes.clone())
            .ok()
            .and_then(|a| a.object_value(&change.value));
        match value {
            Some(value) => {
                values.push(value);
                keys.push((change.kind, change.value.clone()));
            }
            None => report.fail(change, "the ledger entry names no Vision One value key"),
        }
    }
    (values, keys)
}

/// The keys whose items the target confirmed; failures go to the report.
fn confirmed(
    result: &BatchReport,
    keys: &[(Kind, String)],
    report: &mut RunReport,
) -> Vec<(Kind, String)> {
    let mut done = Vec::new();
    for (key, item) in keys.iter().zip(&result.items) {
        if item.outcome.is_done() {
            done.push(key.clone());
        } else {
            record_failure(key.0, &key.1, &item.outcome, report);
        }
    }
    done
}

fn record_failure(kind: Kind, value: &str, outcome: &ItemOutcome, report: &mut RunReport) {
    let message = match outcome {
        ItemOutcome::Rejected { status, message } | ItemOutcome::Failed { status, message } => {
            match status {
                Some(status) => format!("HTTP {status}: {message}"),
                None => message.clone(),
            }
        }
        // Not sent because the run halted: the halt is reported once, the item waits.
        ItemOutcome::Skipped | ItemOutcome::Applied | ItemOutcome::AlreadyAbsent => return,
    };
    report.failed.push(Failure {
        kind,
        value: value.to_owned(),
        message,
    });
}

/// Records a halting error; true when the workflow must stop.
fn halt(result: BatchReport, report: &mut RunReport) -> bool {
    match result.halted {
        Some(error) => {
            report.halted = Some(error.to_string());
            true
        }
        None => false,
    }
}

/// Applies a Deep Security plan: one write per changed part, each followed by its ledger
/// update.
pub async fn deep_security(
    client: &DeepSecurityClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let mut list_count: Option<usize> = None;
    for part in &plan.parts {
        match write_part(client, part, &mut list_count).await {
            Ok(id) => record_part(library, plan, part, id, report)?,
            Err(error) => {
                let stop = error.stops_target();
                report.errors.push(format!("{}: {error}", part.name));
                if stop {
                    report.halted = Some(error.to_string());
                    return Ok(());
                }
            }
        }
        progress.advance(1);
    }
    Ok(())
}

/// Writes one part in place (found by ID, else by exact name, else created); returns its ID,
/// or `None` for an empty part that does not exist (nothing to empty).
async fn write_part(
    client: &DeepSecurityClient,
    part: &PartWrite,
    list_count: &mut Option<usize>,
) -> Result<Option<u32>, trendmicro::Error> {
    let id = match part.list_id {
        Some(id) => Some(id),
        None => client
            .find_list_by_name(&part.name)
            .await?
            .map(|list| list.id),
    };
    match id {
        Some(id) => {
            client.modify_items(id, &part.items, None).await?;
            Ok(Some(id))
        }
        None if part.items.is_empty() => Ok(None),
        None => {
            let count = match *list_count {
                Some(count) => count,
                None => client.count_lists().await?,
            };
            if count >= MAX_IP_LISTS {
                return Err(trendmicro::Error::CapReached {
                    product: trendmicro::deep_security::PRODUCT,
                    message: format!("the manager already holds {count} IP lists"),
                });
            }
            let list = client
                .create_list(&part.name, LIST_DESCRIPTION, &part.items)
                .await?;
            *list_count = Some(count + 1);
            Ok(Some(list.id))
        }
    }
}

fn record_part(
    library: &mut dyn LibraryBackend,
    plan: &Plan,
    part: &PartWrite,
    id: Option<u32>,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let now: DateTime<Utc> = plan.at;
    let entries: Vec<LedgerEntry> = part
        .items
        .iter()
        .map(|item| LedgerEntry {
            target: plan.ledger.clone(),
            kind: item_kind(item),
            value: item.clone(),
            attributes: serde_json::json!({ "part": part.index }),
            remote_id: id.map(|id| id.to_string()),
            pushed_at: now,
        })
        .collect();
    library.ledger_upsert(&entries)?;
    let in_part = |change: &&Change| {
        change.attributes.get("part").and_then(|p| p.as_u64()) == Some(u64::from(part.index))
    };
    let gone: Vec<(Kind, String)> = plan
        .removals
        .iter()
        .filter(in_part)
        .map(|c| (c.kind, c.value.clone()))
        .collect();
    library.ledger_remove(&plan.ledger, &gone)?;
    report.added += plan.adds.iter().filter(in_part).count();
    report.removed += gone.len();
    Ok(())
}

/// Applies an XDR v2 plan one value at a time: each block or restore-block is followed until
/// its task is final, and only a successful task changes the ledger (with the task's action
/// ID).
pub async fn xdr(
    client: &XdrV2Client,
    params: &XdrParams,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    if !plan.forget.is_empty() {
        library.ledger_remove(&plan.ledger, &plan.forget)?;
    }
    let removing = plan.removals.iter().map(|c| (c, true));
    let sending = plan.updates.iter().chain(&plan.adds).map(|c| (c, false));
    for (change, remove) in removing.chain(sending) {
        let outcome = xdr_one(client, params, change, remove).await;
        progress.advance(1);
        match outcome {
            Ok(_) if remove => {
                library.ledger_remove(&plan.ledger, &[(change.kind, change.value.clone())])?;
                report.removed += 1;
            }
            Ok(action_id) => {
                library.ledger_upsert(&[LedgerEntry {
                    target: plan.ledger.clone(),
                    kind: change.kind,
                    value: change.value.clone(),
                    attributes: change.attributes.clone(),
                    remote_id: Some(action_id),
                    pushed_at: plan.at,
                }])?;
                if plan.adds.contains(change) {
                    report.added += 1;
                } else {
                    report.updated += 1;
                }
            }
            Err(XdrOutcome::Item(message)) => report.fail(change, &message),
            Err(XdrOutcome::Halt(error)) => {
                report.halted = Some(error.to_string());
                return Ok(());
            }
        }
    }
    Ok(())
}

enum XdrOutcome {
    Item(String),
    Halt(trendmicro::Error),
}

async fn xdr_one(
    client: &XdrV2Client,
    params: &XdrParams,
    change: &Change,
    remove: bool,
) -> Result<String, XdrOutcome> {
    let attributes = serde_json::from_value::<V1Attributes>(change.attributes.clone())
        .map_err(|error| XdrOutcome::Item(error.to_string()))?;
    let value_type: ValueType = serde_json::from_value(serde_json::json!(attributes.key))
        .map_err(|_| XdrOutcome::Item(format!("unknown XDR value type `{}`", attributes.key)))?;
    let started = if remove {
        client
            .restore_block(
                value_type,
                &change.value,
                &attributes.description,
                &params.product_id,
            )
            .await
    } else {
        client
            .block(
                value_type,
                &change.value,
                &attributes.description,
                &params.product_id,
            )
            .await
    };
    let halt_or_item = |error: trendmicro::Error| {
        if error.stops_target() {
            XdrOutcome::Halt(error)
        } else {
            XdrOutcome::Item(error.to_string())
        }
    };
    let action_id = started.map_err(halt_or_item)?;
    match client
        .wait_final(&action_id, params.task_timeout)
        .await
        .map_err(halt_or_item)?
    {
        TaskStatus::Success | TaskStatus::Finished => Ok(action_id.0),
        other => Err(XdrOutcome::Item(format!(
            "task {action_id} ended `{other}`"
        ))),
    }
}

/// Applies an HTTP template plan: one call per new or changed value, the ledger updated after
/// each answered call. A webhook has no undo, so a removal only forgets the value.
pub async fn http(
    client: &HttpTemplateClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let gone: Vec<(Kind, String)> = plan
        .removals
        .iter()
        .map(|c| (c.kind, c.value.clone()))
        .collect();
    library.ledger_remove(&plan.ledger, &gone)?;
    report.removed += gone.len();
    let extra = std::collections::BTreeMap::new();
    for change in plan.updates.iter().chain(&plan.adds) {
        let attributes = match serde_json::from_value::<V1Attributes>(change.attributes.clone()) {
            Ok(attributes) => attributes,
            Err(error) => {
                report.fail(change, &error.to_string());
                continue;
            }
        };
        let fields = Fields {
            value: &change.value,
            kind: change.kind.as_str(),
            score: attributes.score,
            description: &attributes.description,
            tags: &[],
            extra: &extra,
        };
        match client.send(&fields).await {
            Ok(_) => {
                library.ledger_upsert(&[LedgerEntry {
                    target: plan.ledger.clone(),
                    kind: change.kind,
                    value: change.value.clone(),
                    attributes: change.attributes.clone(),
                    remote_id: None,
                    pushed_at: plan.at,
                }])?;
                if plan.adds.contains(change) {
                    report.added += 1;
                } else {
                    report.updated += 1;
                }
            }
            Err(error) if error.stops_target() => {
                report.halted = Some(error.to_string());
                return Ok(());
            }
            Err(error) => report.fail(change, &error.to_string()),
        }
        progress.advance(1);
    }
    Ok(())
}
