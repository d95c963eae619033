//! Apply: sends a plan to its target in batches, in priority order, and records in the
//! ledger — one transaction per confirmed batch ([`LibraryBackend::ledger_apply`]) — exactly
//! the items the target confirmed. A process killed anywhere leaves the ledger a subset of the
//! truth (Vision One upserts by value) or an exact copy of it (Deep Security parts are written
//! whole and placed deterministically), so the next run converges without duplicates or losses.
//! Between batches each loop asks [`Progress::cancelled`] and stops cleanly when told to.

use std::collections::HashMap;
use std::time::Duration;

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
///
/// Items Vision One answers with a server error are sent again in later rounds over the whole
/// plan, up to `rounds` sends each, with one backoff pause between rounds: pausing inside every
/// batch instead would make a run under a steady trickle of per-item errors pay a pause per
/// batch (measured: 250 s instead of ~3 s for 60,000 objects at 5% item errors).
#[allow(clippy::too_many_arguments)]
pub async fn vision_one<'p>(
    client: &VisionOneClient,
    list: V1List,
    plan: &'p Plan,
    library: &mut dyn LibraryBackend,
    batch: usize,
    rounds: u32,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    forget(library, plan)?;
    let batch = batch.max(1);
    let removals: Vec<&'p Change> = plan.removals.iter().collect();
    let mut remove = async |chunk: &[&'p Change], last: bool, report: &mut RunReport| {
        remove_batch(client, list, plan, &mut *library, chunk, last, report).await
    };
    let pauses = client.retry_pauses(rounds);
    if in_rounds(removals, batch, pauses, progress, report, &mut remove).await? {
        return Ok(());
    }
    let sends: Vec<(&'p Change, bool)> = sends(plan).collect();
    let mut send = async |chunk: &[(&'p Change, bool)], last: bool, report: &mut RunReport| {
        send_batch(client, list, plan, &mut *library, chunk, last, report).await
    };
    in_rounds(
        sends,
        batch,
        client.retry_pauses(rounds),
        progress,
        report,
        &mut send,
    )
    .await?;
    Ok(())
}

/// What one batch left to do: the items to send again, and whether the workflow must stop.
struct Sent<T> {
    again: Vec<T>,
    halted: bool,
}

/// Sends `items` batch by batch, then again the ones each batch returned, after a pause, while
/// pauses last. True when the run stopped (halted or cancelled).
async fn in_rounds<T: Copy>(
    mut items: Vec<T>,
    batch: usize,
    pauses: impl Iterator<Item = Duration>,
    progress: &dyn Progress,
    report: &mut RunReport,
    send: &mut impl AsyncFnMut(&[T], bool, &mut RunReport) -> Result<Sent<T>, EngineError>,
) -> Result<bool, EngineError> {
    let mut pauses = pauses.peekable();
    let mut first = true;
    while !items.is_empty() {
        let last = pauses.peek().is_none();
        let mut again = Vec::new();
        for chunk in items.chunks(batch) {
            if report.stop_requested(progress) {
                return Ok(true);
            }
            let sent = send(chunk, last, report).await?;
            again.extend(sent.again);
            if first {
                progress.advance(chunk.len() as u64);
            }
            if sent.halted {
                return Ok(true);
            }
        }
        match pauses.next() {
            Some(pause) if !again.is_empty() => tokio::time::sleep(pause).await,
            _ => break,
        }
        items = again;
        first = false;
    }
    Ok(false)
}

/// A failure worth another round: a server error on the item (its state is unknown or
/// transiently refused), never a refusal of the value itself.
fn worth_another_round(outcome: &ItemOutcome) -> bool {
    matches!(outcome, ItemOutcome::Failed { status: Some(status), .. } if *status >= 500)
}

async fn remove_batch<'p>(
    client: &VisionOneClient,
    list: V1List,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    chunk: &[&'p Change],
    last: bool,
    report: &mut RunReport,
) -> Result<Sent<&'p Change>, EngineError> {
    let (values, changes) = object_values(chunk, report);
    let result = match list {
        V1List::Suspicious => client.delete_suspicious(&values).await,
        V1List::Exceptions => client.delete_exceptions(&values).await,
    };
    let mut done = Vec::new();
    let mut again = Vec::new();
    for (change, item) in changes.into_iter().zip(&result.items) {
        if item.outcome.is_done() {
            done.push((change.kind, change.value.clone()));
        } else if !last && worth_another_round(&item.outcome) {
            again.push(change);
        } else {
            record_failure(change.kind, &change.value, &item.outcome, report);
        }
    }
    library.ledger_apply(&plan.ledger, &[], &done)?;
    report.removed += done.len();
    Ok(Sent {
        again,
        halted: halt(result, report),
    })
}

async fn send_batch<'p>(
    client: &VisionOneClient,
    list: V1List,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    chunk: &[(&'p Change, bool)],
    last: bool,
    report: &mut RunReport,
) -> Result<Sent<(&'p Change, bool)>, EngineError> {
    let now = Utc::now().max(plan.at);
    let mut pending = Vec::with_capacity(chunk.len());
    for &(change, is_add) in chunk {
        match serde_json::from_value::<V1Attributes>(change.attributes.clone()) {
            Ok(attributes) => match attributes.object_value(&change.value) {
                Some(value) => pending.push((change, is_add, attributes, value)),
                None => report.fail(change, "unknown Vision One value key"),
            },
            Err(error) => report.fail(change, &error.to_string()),
        }
    }
    let result = match list {
        V1List::Suspicious => {
            let objects: Vec<_> = pending
                .iter()
                .map(|(_, _, a, v)| a.suspicious(v.clone(), plan.at))
                .collect();
            client.add_suspicious(&objects).await
        }
        V1List::Exceptions => {
            let objects: Vec<_> = pending
                .iter()
                .map(|(_, _, a, v)| a.exception(v.clone()))
                .collect();
            client.add_exceptions(&objects).await
        }
    };
    let mut entries = Vec::new();
    let mut again = Vec::new();
    for ((change, is_add, attributes, _), item) in pending.iter().zip(&result.items) {
        if item.outcome.is_done() {
            entries.push(LedgerEntry {
                target: plan.ledger.clone(),
                kind: change.kind,
                value: change.value.clone(),
                attributes: serde_json::to_value(attributes.pushed_at(plan.at)).unwrap_or_default(),
                remote_id: None,
                pushed_at: now,
            });
            report.count_sent(*is_add);
        } else if !last && worth_another_round(&item.outcome) {
            again.push((*change, *is_add));
        } else {
            record_failure(change.kind, &change.value, &item.outcome, report);
        }
    }
    library.ledger_apply(&plan.ledger, &entries, &[])?;
    Ok(Sent {
        again,
        halted: halt(result, report),
    })
}

/// Updates then adds, each with whether it is an add.
fn sends(plan: &Plan) -> impl Iterator<Item = (&Change, bool)> {
    let updates = plan.updates.iter().map(|c| (c, false));
    updates.chain(plan.adds.iter().map(|c| (c, true)))
}

/// Forgets the ledger entries `--verify` found gone from the target (nothing to send).
fn forget(library: &mut dyn LibraryBackend, plan: &Plan) -> Result<(), EngineError> {
    if !plan.forget.is_empty() {
        library.ledger_apply(&plan.ledger, &[], &plan.forget)?;
    }
    Ok(())
}

fn object_values<'p>(
    chunk: &[&'p Change],
    report: &mut RunReport,
) -> (Vec<ObjectValue>, Vec<&'p Change>) {
    let mut values = Vec::with_capacity(chunk.len());
    let mut changes = Vec::with_capacity(chunk.len());
    for &change in chunk {
        let value = serde_json::from_value::<V1Attributes>(change.attributes.clone())
            .ok()
            .and_then(|a| a.object_value(&change.value));
        match value {
            Some(value) => {
                values.push(value);
                changes.push(change);
            }
            None => report.fail(change, "the ledger entry names no Vision One value key"),
        }
    }
    (values, changes)
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
    let mut directory = None;
    for part in &plan.parts {
        if report.stop_requested(progress) {
            return Ok(());
        }
        match write_part(client, part, &mut directory).await {
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

/// The manager's IP lists by exact name, and how many there are (for the 5,000-list cap).
/// Read with one page walk the first time a part's ID is unknown: a first sync then costs one
/// walk plus one write per part, not one search per part besides.
struct Directory {
    ids: HashMap<String, Vec<u32>>,
    count: usize,
}

impl Directory {
    async fn read(client: &DeepSecurityClient) -> Result<Directory, trendmicro::Error> {
        let lists = client.list_all().await?;
        let mut ids: HashMap<String, Vec<u32>> = HashMap::new();
        for list in &lists {
            ids.entry(list.name.clone()).or_default().push(list.id);
        }
        Ok(Directory {
            ids,
            count: lists.len(),
        })
    }

    /// The list named exactly `name`; several of them is an error (managing one is a guess).
    fn find(&self, name: &str) -> Result<Option<u32>, trendmicro::Error> {
        match self.ids.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([id]) => Ok(Some(*id)),
            Some(ids) => Err(trendmicro::Error::DuplicateListName {
                name: name.to_owned(),
                count: ids.len(),
                ids: ids.to_vec(),
            }),
        }
    }
}

/// Writes one part in place (found by ID, else by exact name, else created); returns its ID,
/// or `None` for an empty part that does not exist (nothing to empty).
async fn write_part(
    client: &DeepSecurityClient,
    part: &PartWrite,
    directory: &mut Option<Directory>,
) -> Result<Option<u32>, trendmicro::Error> {
    if let Some(id) = part.list_id {
        client.modify_items(id, &part.items, None).await?;
        return Ok(Some(id));
    }
    let lists = match directory {
        Some(lists) => lists,
        None => directory.insert(Directory::read(client).await?),
    };
    match lists.find(&part.name)? {
        Some(id) => {
            client.modify_items(id, &part.items, None).await?;
            Ok(Some(id))
        }
        None if part.items.is_empty() => Ok(None),
        None => {
            if lists.count >= MAX_IP_LISTS {
                return Err(trendmicro::Error::CapReached {
                    product: trendmicro::deep_security::PRODUCT,
                    message: format!("the manager already holds {} IP lists", lists.count),
                });
            }
            let list = client
                .create_list(&part.name, LIST_DESCRIPTION, &part.items)
                .await?;
            lists.count += 1;
            lists
                .ids
                .entry(part.name.clone())
                .or_default()
                .push(list.id);
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
    let in_part = |change: &&Change| {
        change.attributes.get("part").and_then(|p| p.as_u64()) == Some(u64::from(part.index))
    };
    let gone: Vec<(Kind, String)> = plan
        .removals
        .iter()
        .filter(in_part)
        .map(|c| (c.kind, c.value.clone()))
        .collect();
    library.ledger_apply(&plan.ledger, &entries, &gone)?;
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
    forget(library, plan)?;
    let removing = plan.removals.iter().map(|c| (c, None));
    let sending = sends(plan).map(|(c, is_add)| (c, Some(is_add)));
    for (change, sent) in removing.chain(sending) {
        if report.stop_requested(progress) {
            return Ok(());
        }
        let outcome = xdr_one(client, params, change, sent.is_none()).await;
        progress.advance(1);
        match outcome {
            Ok(action_id) => match sent {
                None => {
                    let gone = [(change.kind, change.value.clone())];
                    library.ledger_apply(&plan.ledger, &[], &gone)?;
                    report.removed += 1;
                }
                Some(is_add) => {
                    let entry = sent_entry(plan, change, Some(action_id));
                    library.ledger_apply(&plan.ledger, &[entry], &[])?;
                    report.count_sent(is_add);
                }
            },
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
/// each answered call. Removals are sent through the removal template when the target has one
/// (`remove_payload`), each forgotten once answered; without one a webhook has no undo, so a
/// removal only forgets the value.
pub async fn http(
    client: &HttpTemplateClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let undone: &[Change] = if client.can_remove() {
        &plan.removals
    } else {
        let gone: Vec<(Kind, String)> = plan
            .removals
            .iter()
            .map(|c| (c.kind, c.value.clone()))
            .collect();
        library.ledger_apply(&plan.ledger, &[], &gone)?;
        report.removed += gone.len();
        progress.advance(gone.len() as u64);
        &[]
    };
    let calls = undone
        .iter()
        .map(|c| (c, Call::Remove))
        .chain(sends(plan).map(|(c, is_add)| (c, if is_add { Call::Add } else { Call::Update })));
    for (change, call) in calls {
        if report.stop_requested(progress) {
            return Ok(());
        }
        if !http_call(client, plan, change, call, library, report).await? {
            return Ok(());
        }
        progress.advance(1);
    }
    Ok(())
}

/// What one HTTP template call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Add,
    Update,
    Remove,
}

/// Sends one change and records the answer; `false` when the target stopped the run.
async fn http_call(
    client: &HttpTemplateClient,
    plan: &Plan,
    change: &Change,
    call: Call,
    library: &mut dyn LibraryBackend,
    report: &mut RunReport,
) -> Result<bool, EngineError> {
    let attributes = match serde_json::from_value::<V1Attributes>(change.attributes.clone()) {
        Ok(attributes) => attributes,
        Err(error) => {
            report.fail(change, &error.to_string());
            return Ok(true);
        }
    };
    let extra = std::collections::BTreeMap::new();
    let fields = Fields {
        value: &change.value,
        kind: change.kind.as_str(),
        score: attributes.score,
        description: &attributes.description,
        tags: &[],
        extra: &extra,
    };
    let answer = match call {
        Call::Remove => client.remove(&fields).await,
        Call::Add | Call::Update => client.send(&fields).await,
    };
    match answer {
        Ok(_) if call == Call::Remove => {
            let gone = [(change.kind, change.value.clone())];
            library.ledger_apply(&plan.ledger, &[], &gone)?;
            report.removed += 1;
        }
        Ok(_) => {
            let entry = sent_entry(plan, change, None);
            library.ledger_apply(&plan.ledger, &[entry], &[])?;
            report.count_sent(call == Call::Add);
        }
        Err(error) if error.stops_target() => {
            report.halted = Some(error.to_string());
            return Ok(false);
        }
        Err(error) => report.fail(change, &error.to_string()),
    }
    Ok(true)
}

/// The ledger entry of one value a one-at-a-time target (XDR, HTTP) confirmed.
fn sent_entry(plan: &Plan, change: &Change, remote_id: Option<String>) -> LedgerEntry {
    LedgerEntry {
        target: plan.ledger.clone(),
        kind: change.kind,
        value: change.value.clone(),
        attributes: change.attributes.clone(),
        remote_id,
        pushed_at: plan.at,
    }
}
