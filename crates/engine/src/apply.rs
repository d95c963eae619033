//! Apply: sends a plan to its target in batches, in priority order, and records in the
//! ledger — one transaction per confirmed batch ([`LibraryBackend::ledger_apply`]) — exactly
//! the claims whose writes the target confirmed. A process killed anywhere leaves the ledger a
//! subset of the truth (Vision One upserts by value) or an exact copy of it (Deep Security
//! parts are written whole and placed deterministically), so the next run converges without
//! duplicates or losses. Between batches each loop asks [`Progress::cancelled`] and stops
//! cleanly when told to.
//!
//! On per-object targets each batch is decided again when it goes: under the space's lease
//! ([`crate::space`]) the claims on its values are read, [`claims::decide`] says what to write
//! for each, the target is written and the ledger updated. So a plan made before a trigger
//! blocked a value, or before another workflow claimed it, never removes it from under them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::{LedgerEntry, LibraryBackend};
use trendmicro::deep_security::{DeepSecurityClient, IpList, MAX_IP_LISTS};
use trendmicro::http_template::{Fields, HttpTemplateClient};
use trendmicro::vision_one::{BatchReport, ItemOutcome, ObjectValue, VisionOneClient};
use trendmicro::xdr_v2::{TaskStatus, ValueType, XdrV2Client};

use crate::budget;
use crate::claims::{self, Write};
use crate::config::{Capacity, XdrParams};
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::marker::{Maker, Marker};
use crate::plan::{Change, Plan, Seen};
use crate::report::{Failure, Progress, RunReport};
use crate::space;
use crate::targets::deep_security::packing::{PartWrite, item_kind};
use crate::targets::vision_one::mapping::{self as v1, v1_key};

/// Which Vision One list a plan goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1List {
    Suspicious,
    Exceptions,
}

/// One claim change of the plan, re-decided when its batch goes.
#[derive(Debug, Clone)]
struct Work<'p> {
    change: &'p Change,
    /// The claim asked for; `None`: the claim is dropped.
    want: Option<ObjectAttributes>,
}

/// The plan's claim changes: drops first (they make room), then sets in priority order.
fn works<'p>(plan: &'p Plan, report: &mut RunReport) -> (Vec<Work<'p>>, Vec<Work<'p>>) {
    let drops = [&plan.removals, &plan.releases, &plan.restores]
        .into_iter()
        .flatten()
        .map(|change| Work { change, want: None })
        .collect();
    let mut sets = Vec::new();
    for change in [&plan.updates, &plan.adds, &plan.joins]
        .into_iter()
        .flatten()
    {
        match serde_json::from_value::<ObjectAttributes>(change.attributes.clone()) {
            Ok(want) => sets.push(Work {
                change,
                want: Some(want),
            }),
            Err(error) => report.fail(change, &error.to_string()),
        }
    }
    (drops, sets)
}

/// What a batch's values are decided with.
struct Decided<'p> {
    work: Work<'p>,
    write: Write,
}

/// Reads the claims on the batch's values now and decides each write.
fn decide_batch<'p>(
    library: &dyn LibraryBackend,
    plan: &Plan,
    chunk: &[Work<'p>],
    key_of: &dyn Fn(Kind) -> Option<String>,
) -> Result<Vec<Decided<'p>>, EngineError> {
    let values: Vec<(Kind, String)> = chunk
        .iter()
        .map(|w| (w.change.kind, w.change.value.clone()))
        .collect();
    let claims = library.claims_on(&plan.space, &values)?;
    let objects = claims::by_object(&plan.ledger, &claims, key_of);
    Ok(chunk
        .iter()
        .map(|work| {
            let holders = objects
                .get(&(work.change.kind, work.change.value.clone()))
                .cloned()
                .unwrap_or_default();
            let found = Seen::found(work.change.seen.as_ref());
            Decided {
                write: claims::decide(&holders, work.want.as_ref(), found),
                work: work.clone(),
            }
        })
        .collect())
}

/// Keeps the creates of a batch that fit the list now (other claimants may have filled it
/// since the plan); the rest wait for a later run, reported as deferred.
fn room_for_creates<'p>(
    library: &dyn LibraryBackend,
    plan: &Plan,
    capacity: Option<&Capacity>,
    decided: Vec<Decided<'p>>,
    report: &mut RunReport,
) -> Result<Vec<Decided<'p>>, EngineError> {
    let Some(capacity) = capacity else {
        return Ok(decided);
    };
    if !decided.iter().any(|d| matches!(d.write, Write::Create(_))) {
        return Ok(decided);
    }
    let mut held: HashMap<String, u64> = HashMap::new();
    for (kind, count) in library.space_counts(&plan.space)? {
        *held
            .entry(budget::bucket_of_kind(capacity, kind))
            .or_default() += count;
    }
    let mut kept = Vec::with_capacity(decided.len());
    for d in decided {
        if matches!(d.write, Write::Create(_)) {
            let count = held
                .entry(budget::bucket_of_kind(capacity, d.work.change.kind))
                .or_default();
            if *count >= capacity.capacity as u64 {
                report.deferred += 1;
                continue;
            }
            *count += 1;
        }
        kept.push(d);
    }
    Ok(kept)
}

/// Counts a confirmed write in the report.
fn count(report: &mut RunReport, write: &Write, set: bool) {
    match (write, set) {
        (Write::Create(_), _) => report.added += 1,
        (Write::Delete, _) => report.removed += 1,
        (Write::Update(_), true) => report.updated += 1,
        (Write::Nothing, true) => report.joined += 1,
        (Write::Update(_) | Write::Nothing, false) => report.released += 1,
    }
}

/// The ledger row of a set claim whose write the target confirmed.
fn claim_entry(plan: &Plan, work: &Work<'_>, remote_id: Option<String>) -> Option<LedgerEntry> {
    let mut want = work.want.clone()?;
    if remote_id.is_some() {
        want.action_id.clone_from(&remote_id);
    }
    Some(LedgerEntry {
        target: plan.ledger.clone(),
        space: plan.space.clone(),
        kind: work.change.kind,
        value: work.change.value.clone(),
        attributes: serde_json::to_value(&want).unwrap_or_default(),
        remote_id,
        pushed_at: plan.at,
    })
}

/// A batch's confirmed claims, recorded in one transaction.
#[derive(Default)]
struct Confirmed {
    upserts: Vec<LedgerEntry>,
    removals: Vec<(Kind, String)>,
}

impl Confirmed {
    fn add(&mut self, plan: &Plan, work: &Work<'_>, remote_id: Option<String>) {
        match claim_entry(plan, work, remote_id) {
            Some(entry) => self.upserts.push(entry),
            None => self
                .removals
                .push((work.change.kind, work.change.value.clone())),
        }
    }

    fn record(self, library: &mut dyn LibraryBackend, plan: &Plan) -> Result<(), EngineError> {
        if !self.upserts.is_empty() || !self.removals.is_empty() {
            library.ledger_apply(&plan.ledger, &self.upserts, &self.removals)?;
        }
        Ok(())
    }
}

/// Everything a Vision One apply needs besides the plan.
pub struct VisionOne<'a> {
    pub client: &'a VisionOneClient,
    pub list: V1List,
    pub batch: usize,
    /// How many sends an item answered with a server error gets, over the whole run.
    pub rounds: u32,
    pub capacity: Option<Capacity>,
}

/// Applies a Vision One plan: removals first, then updates and adds.
///
/// Items Vision One answers with a server error are sent again in later rounds over the whole
/// plan, up to `rounds` sends each, with one backoff pause between rounds: pausing inside every
/// batch instead would make a run under a steady trickle of per-item errors pay a pause per
/// batch (measured: 250 s instead of ~3 s for 60,000 objects at 5% item errors).
pub async fn vision_one<'p>(
    target: &VisionOne<'_>,
    plan: &'p Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let (drops, sets) = works(plan, report);
    let batch = target.batch.max(1);
    for items in [drops, sets] {
        let mut send = async |chunk: &[Work<'p>], last: bool, report: &mut RunReport| {
            v1_batch(target, plan, &mut *library, chunk, last, report).await
        };
        let pauses = target.client.retry_pauses(target.rounds);
        if in_rounds(items, batch, pauses, progress, report, &mut send).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// What one batch left to do: the items to send again, and whether the workflow must stop.
struct Sent<T> {
    again: Vec<T>,
    halted: bool,
}

/// Sends `items` batch by batch, then again the ones each batch returned, after a pause, while
/// pauses last. True when the run stopped (halted or cancelled).
async fn in_rounds<T: Clone>(
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

fn v1_key_of(kind: Kind) -> Option<String> {
    v1_key(kind).map(str::to_owned)
}

/// One Vision One batch under the space's lease.
async fn v1_batch<'p>(
    target: &VisionOne<'_>,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    chunk: &[Work<'p>],
    last: bool,
    report: &mut RunReport,
) -> Result<Sent<Work<'p>>, EngineError> {
    let guard = space::lock(library, &plan.space).await?;
    let sent = v1_batch_locked(target, plan, library, chunk, last, report).await;
    guard.release(library)?;
    sent
}

async fn v1_batch_locked<'p>(
    target: &VisionOne<'_>,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    chunk: &[Work<'p>],
    last: bool,
    report: &mut RunReport,
) -> Result<Sent<Work<'p>>, EngineError> {
    let decided = decide_batch(&*library, plan, chunk, &v1_key_of)?;
    let decided = room_for_creates(&*library, plan, target.capacity.as_ref(), decided, report)?;
    let mut confirmed = Confirmed::default();
    let mut deletes = Vec::new();
    let mut writes = Vec::new();
    for d in decided {
        match &d.write {
            Write::Nothing => {
                count(report, &d.write, d.work.want.is_some());
                confirmed.add(plan, &d.work, None);
            }
            Write::Delete => deletes.push(d),
            Write::Create(_) | Write::Update(_) => writes.push(d),
        }
    }
    let mut again = Vec::new();
    let mut halted = false;
    if !deletes.is_empty() {
        let values = deletes
            .iter()
            .map(|d| object_value(d, None))
            .collect::<Vec<_>>();
        let values: Vec<ObjectValue> = values.into_iter().flatten().collect();
        let result = match target.list {
            V1List::Suspicious => target.client.delete_suspicious(&values).await,
            V1List::Exceptions => target.client.delete_exceptions(&values).await,
        };
        settle(
            plan,
            deletes,
            &result,
            last,
            report,
            &mut confirmed,
            &mut again,
        );
        halted |= halt(result, report);
    }
    if !writes.is_empty() && !halted {
        let result = send_objects(target, plan, &writes).await;
        settle(
            plan,
            writes,
            &result,
            last,
            report,
            &mut confirmed,
            &mut again,
        );
        halted |= halt(result, report);
    }
    confirmed.record(library, plan)?;
    Ok(Sent { again, halted })
}

/// The API value a write acts on (the value key of the object's kind).
fn object_value(d: &Decided<'_>, attributes: Option<&ObjectAttributes>) -> Option<ObjectValue> {
    let key = attributes
        .map(|a| a.key.clone())
        .filter(|k| !k.is_empty())
        .or_else(|| v1_key_of(d.work.change.kind))?;
    ObjectValue::from_key(&key, d.work.change.value.clone())
}

async fn send_objects(target: &VisionOne<'_>, plan: &Plan, writes: &[Decided<'_>]) -> BatchReport {
    let objects = writes.iter().filter_map(|d| {
        let (Write::Create(attributes) | Write::Update(attributes)) = &d.write else {
            return None;
        };
        Some((attributes, object_value(d, Some(attributes))?))
    });
    match target.list {
        V1List::Suspicious => {
            let objects: Vec<_> = objects
                .map(|(a, value)| v1::suspicious(a, value, plan.at))
                .collect();
            target.client.add_suspicious(&objects).await
        }
        V1List::Exceptions => {
            let objects: Vec<_> = objects.map(|(a, value)| v1::exception(a, value)).collect();
            target.client.add_exceptions(&objects).await
        }
    }
}

/// Records each item's answer: confirmed, to send again, or failed.
fn settle<'p>(
    plan: &Plan,
    decided: Vec<Decided<'p>>,
    result: &BatchReport,
    last: bool,
    report: &mut RunReport,
    confirmed: &mut Confirmed,
    again: &mut Vec<Work<'p>>,
) {
    let mut answers = result.items.iter();
    for d in decided {
        let Some(item) = answers.next() else {
            record_failure(
                d.work.change.kind,
                &d.work.change.value,
                &ItemOutcome::Skipped,
                report,
            );
            continue;
        };
        if item.outcome.is_done() {
            count(report, &d.write, d.work.want.is_some());
            confirmed.add(plan, &d.work, None);
        } else if !last && worth_another_round(&item.outcome) {
            again.push(d.work);
        } else {
            record_failure(
                d.work.change.kind,
                &d.work.change.value,
                &item.outcome,
                report,
            );
        }
    }
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

/// Everything a Deep Security apply needs besides the plan.
pub struct DeepSecurity<'a> {
    pub client: &'a DeepSecurityClient,
    pub target: &'a str,
    pub marker: &'a Marker,
    /// Take over a list of the configured name that iocsync did not create.
    pub adopt_existing: bool,
}

/// Applies a Deep Security plan: one write per changed part, each followed by its ledger
/// update.
pub async fn deep_security(
    ds: &DeepSecurity<'_>,
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
        match write_part(ds, part, &mut directory).await {
            Ok((id, kept)) => {
                if kept > 0 {
                    report.notes.push(format!(
                        "{}: kept {kept} entries someone else added to the list",
                        part.name
                    ));
                }
                record_part(library, plan, part, id, report)?;
            }
            Err(PartError::Foreign(error)) => {
                report.halted = Some(error.to_string());
                return Ok(());
            }
            Err(PartError::Target(error)) => {
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

/// Why a part was not written.
enum PartError {
    Target(trendmicro::Error),
    /// A list of the part's name that iocsync may not touch: the run stops.
    Foreign(EngineError),
}

impl From<trendmicro::Error> for PartError {
    fn from(error: trendmicro::Error) -> Self {
        PartError::Target(error)
    }
}

/// The manager's IP lists by exact name, and how many there are (for the 5,000-list cap).
/// Read with one page walk the first time a part's ID is unknown: a first sync then costs one
/// walk plus one write per part, not one search per part besides.
struct Directory {
    lists: HashMap<String, Vec<IpList>>,
    count: usize,
}

impl Directory {
    async fn read(client: &DeepSecurityClient) -> Result<Directory, trendmicro::Error> {
        let all = client.list_all().await?;
        let count = all.len();
        let mut lists: HashMap<String, Vec<IpList>> = HashMap::new();
        for list in all {
            lists.entry(list.name.clone()).or_default().push(list);
        }
        Ok(Directory { lists, count })
    }

    /// The list named exactly `name`; several of them is an error (managing one is a guess).
    fn find(&self, name: &str) -> Result<Option<&IpList>, trendmicro::Error> {
        match self.lists.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([list]) => Ok(Some(list)),
            Some(lists) => Err(trendmicro::Error::DuplicateListName {
                name: name.to_owned(),
                count: lists.len(),
                ids: lists.iter().map(|l| l.id).collect(),
            }),
        }
    }
}

/// The description iocsync gives the IP lists it creates.
fn list_description(marker: &Marker) -> String {
    format!(
        "{} managed list: iocsync adds and removes its own entries; entries added here are kept (a manual run with clear_on_manual_run removes them)",
        marker.text()
    )
}

/// Writes one part in place (found by ID, else by exact name — only a list this library made,
/// or one adopted on purpose — else created); returns its ID (`None` for an empty part that
/// does not exist) and how many entries others added were kept.
async fn write_part(
    ds: &DeepSecurity<'_>,
    part: &PartWrite,
    directory: &mut Option<Directory>,
) -> Result<(Option<u32>, usize), PartError> {
    if let Some(id) = part.list_id {
        let kept = rewrite(ds, part, id, None).await?;
        return Ok((Some(id), kept));
    }
    let lists = match directory {
        Some(lists) => lists,
        None => directory.insert(Directory::read(ds.client).await?),
    };
    if let Some(list) = lists.find(&part.name)? {
        let id = list.id;
        let maker = ds.marker.maker(list.description.as_deref());
        if maker != Maker::ThisLibrary && !ds.adopt_existing {
            return Err(PartError::Foreign(EngineError::ForeignList {
                target: ds.target.to_owned(),
                name: part.name.clone(),
                id,
                maker: maker.describe(),
            }));
        }
        let description = (maker != Maker::ThisLibrary).then(|| list_description(ds.marker));
        let kept = rewrite(ds, part, id, description.as_deref()).await?;
        return Ok((Some(id), kept));
    }
    if part.items.is_empty() {
        return Ok((None, 0));
    }
    if lists.count >= MAX_IP_LISTS {
        return Err(PartError::Target(trendmicro::Error::CapReached {
            product: trendmicro::deep_security::PRODUCT,
            message: format!("the manager already holds {} IP lists", lists.count),
        }));
    }
    let list = ds
        .client
        .create_list(&part.name, &list_description(ds.marker), &part.items)
        .await?;
    lists.count += 1;
    lists
        .lists
        .entry(part.name.clone())
        .or_default()
        .push(list.clone());
    Ok((Some(list.id), 0))
}

/// Writes iocsync's entries of a part into list `id`, keeping the entries someone else added
/// (unless the part clears the list); returns how many were kept.
async fn rewrite(
    ds: &DeepSecurity<'_>,
    part: &PartWrite,
    id: u32,
    description: Option<&str>,
) -> Result<usize, trendmicro::Error> {
    let mut items = part.items.clone();
    let mut kept = 0;
    let ours_description = list_description(ds.marker);
    let mut description = description.map(str::to_owned);
    if part.clear {
        description.get_or_insert(ours_description);
    } else {
        let ours: std::collections::HashSet<&String> =
            part.items.iter().chain(&part.ours_before).collect();
        let list = ds.client.describe(id).await?;
        // A list adopted from a lost library gets this library's marker.
        if ds.marker.maker(list.description.as_deref()) != Maker::ThisLibrary {
            description.get_or_insert(ours_description);
        }
        for item in list.items {
            if !ours.contains(&item) {
                items.push(item);
                kept += 1;
            }
        }
    }
    ds.client
        .modify_items(id, &items, description.as_deref())
        .await?;
    Ok(kept)
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
            space: plan.space.clone(),
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

/// One-at-a-time targets (XDR v2, HTTP templates): each claim change is decided and sent
/// alone, under the space's lease, and recorded once answered.
async fn one_at_a_time(
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
    key_of: &dyn Fn(Kind) -> Option<String>,
    send: &mut impl AsyncFnMut(&Decided<'_>) -> Result<Option<String>, ItemError>,
) -> Result<(), EngineError> {
    let (drops, sets) = works(plan, report);
    for work in drops.into_iter().chain(sets) {
        if report.stop_requested(progress) {
            return Ok(());
        }
        let guard = space::lock(library, &plan.space).await?;
        let outcome = one(plan, &mut *library, &work, report, key_of, send).await;
        guard.release(library)?;
        progress.advance(1);
        if !outcome? {
            return Ok(());
        }
    }
    Ok(())
}

/// Why one value's call failed.
enum ItemError {
    /// This value only: reported, the run goes on.
    Item(String),
    /// The target stops the run (bad key, unreachable).
    Halt(trendmicro::Error),
}

impl ItemError {
    fn of(error: trendmicro::Error) -> ItemError {
        if error.stops_target() {
            ItemError::Halt(error)
        } else {
            ItemError::Item(error.to_string())
        }
    }
}

/// Decides, sends and records one change; `false` when the run must stop.
async fn one(
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    work: &Work<'_>,
    report: &mut RunReport,
    key_of: &dyn Fn(Kind) -> Option<String>,
    send: &mut impl AsyncFnMut(&Decided<'_>) -> Result<Option<String>, ItemError>,
) -> Result<bool, EngineError> {
    let Some(d) = decide_batch(&*library, plan, std::slice::from_ref(work), key_of)?.pop() else {
        return Ok(true);
    };
    let mut confirmed = Confirmed::default();
    match send(&d).await {
        Ok(remote_id) => {
            count(report, &d.write, work.want.is_some());
            confirmed.add(plan, work, remote_id);
        }
        Err(ItemError::Item(message)) => report.fail(work.change, &message),
        Err(ItemError::Halt(error)) => {
            report.halted = Some(error.to_string());
            return Ok(false);
        }
    }
    confirmed.record(library, plan)?;
    Ok(true)
}

/// Applies an XDR v2 plan one value at a time: each block or restore-block is followed until
/// its task is final, and only a successful task changes the ledger (with the task's action
/// ID). XDR v2 blocks carry nothing to update: a claim that only changes attributes is
/// recorded without a call.
pub async fn xdr(
    client: &XdrV2Client,
    params: &XdrParams,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let key_of = |kind: Kind| {
        ValueType::for_kind(kind)
            .ok()
            .map(|t| t.as_str().to_owned())
    };
    let mut send = async |d: &Decided<'_>| match &d.write {
        Write::Create(attributes) => xdr_one(client, params, d, attributes, false)
            .await
            .map(Some),
        Write::Delete => {
            let attributes = ObjectAttributes::new(
                key_of(d.work.change.kind).unwrap_or_default(),
                String::new(),
            );
            xdr_one(client, params, d, &attributes, true)
                .await
                .map(Some)
        }
        Write::Update(_) | Write::Nothing => Ok(None),
    };
    one_at_a_time(plan, library, progress, report, &key_of, &mut send).await
}

async fn xdr_one(
    client: &XdrV2Client,
    params: &XdrParams,
    d: &Decided<'_>,
    attributes: &ObjectAttributes,
    remove: bool,
) -> Result<String, ItemError> {
    let value_type: ValueType = serde_json::from_value(serde_json::json!(attributes.key))
        .map_err(|_| ItemError::Item(format!("unknown XDR value type `{}`", attributes.key)))?;
    let value = &d.work.change.value;
    let started = if remove {
        client
            .restore_block(
                value_type,
                value,
                &attributes.description,
                &params.product_id,
            )
            .await
    } else {
        client
            .block(
                value_type,
                value,
                &attributes.description,
                &params.product_id,
            )
            .await
    };
    let action_id = started.map_err(ItemError::of)?;
    match client
        .wait_final(&action_id, params.task_timeout)
        .await
        .map_err(ItemError::of)?
    {
        TaskStatus::Success | TaskStatus::Finished => Ok(action_id.0),
        other => Err(ItemError::Item(format!("task {action_id} ended `{other}`"))),
    }
}

/// Applies an HTTP template plan: one call per new or changed object, the ledger updated after
/// each answered call. An object whose last claim goes is undone through the removal template
/// when the target has one (`remove_payload`); without one a webhook has no undo, so the
/// claim is only forgotten.
pub async fn http(
    client: &HttpTemplateClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let key_of = |kind: Kind| Some(kind.as_str().to_owned());
    let extra = std::collections::BTreeMap::new();
    let mut send = async |d: &Decided<'_>| {
        let (attributes, remove) = match &d.write {
            Write::Create(attributes) | Write::Update(attributes) => (attributes.clone(), false),
            Write::Delete if client.can_remove() => {
                let old =
                    serde_json::from_value::<ObjectAttributes>(d.work.change.attributes.clone())
                        .unwrap_or_else(|_| ObjectAttributes::new(String::new(), String::new()));
                (old, true)
            }
            Write::Delete | Write::Nothing => return Ok(None),
        };
        let fields = Fields {
            value: &d.work.change.value,
            kind: d.work.change.kind.as_str(),
            score: attributes.score,
            description: &attributes.description,
            tags: &[],
            extra: &extra,
        };
        let answer = if remove {
            client.remove(&fields).await
        } else {
            client.send(&fields).await
        };
        answer.map(|_| None).map_err(ItemError::of)
    };
    one_at_a_time(plan, library, progress, report, &key_of, &mut send).await
}
