//! Applying a plan to a Vision One list: batches of objects (a delete call, then one add call
//! that upserts), each re-decided against the claims under the list's lease, with items the
//! service answered with a server error sent again in rounds over the whole run. Up to
//! `overlap` batches (the target's `max_concurrency`) are decided together under one lease and
//! sent at once, so latency, not the number of batches, sets the pace; each batch's answer is
//! recorded as it comes.

use indicator::Kind as IndicatorKind;
use store::LibraryBackend;
use trendmicro::vision_one::{BatchReport, ItemOutcome, ObjectValue, VisionOneClient};

use crate::claims::Write;
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::Plan;
use crate::report::{Failure, Progress, RunReport};
use crate::space;
use crate::targets::objects::{
    Confirmed, Decided, Sent, Work, count, decide_batch, in_rounds, room_for_creates, works,
};
use config::Capacity;

use super::Kind;
use super::mapping::{self as v1, v1_key};

/// Everything a Vision One apply needs besides the plan.
pub struct VisionOne<'a> {
    pub client: &'a VisionOneClient,
    pub list: Kind,
    pub batch: usize,
    /// How many sends an item answered with a server error gets, over the whole run.
    pub rounds: u32,
    /// Batches sent at once (1: one after another).
    pub overlap: usize,
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
    // One window of `overlap` batches per lease.
    let batch = target.batch.max(1) * target.overlap.max(1);
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

/// A failure worth another round: a server error on the item (its state is unknown or
/// transiently refused), never a refusal of the value itself.
fn worth_another_round(outcome: &ItemOutcome) -> bool {
    matches!(outcome, ItemOutcome::Failed { status: Some(status), .. } if *status >= 500)
}

fn v1_key_of(kind: IndicatorKind) -> Option<String> {
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
    let mut settled = Settled {
        plan,
        last,
        confirmed,
        again: Vec::new(),
        halted: false,
    };
    let batch = target.batch.max(1);
    if !deletes.is_empty() {
        let sends = deletes
            .chunks(batch)
            .map(|chunk| delete_objects(target, chunk));
        let results = futures::future::join_all(sends).await;
        settled.take(split(deletes, batch), results, report);
    }
    if !writes.is_empty() && !settled.halted {
        let sends = writes
            .chunks(batch)
            .map(|chunk| send_objects(target, plan, chunk));
        let results = futures::future::join_all(sends).await;
        settled.take(split(writes, batch), results, report);
    }
    settled.confirmed.record(library, plan)?;
    Ok(Sent {
        again: settled.again,
        halted: settled.halted,
    })
}

/// `decided` in batches of `batch`, as they were sent.
fn split(decided: Vec<Decided<'_>>, batch: usize) -> Vec<Vec<Decided<'_>>> {
    let mut batches = Vec::new();
    let mut rest = decided.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(batch).collect());
    }
    batches
}

/// What the batches of one window came to.
struct Settled<'a, 'p> {
    plan: &'a Plan,
    last: bool,
    confirmed: Confirmed,
    again: Vec<Work<'p>>,
    halted: bool,
}

impl<'p> Settled<'_, 'p> {
    /// Records each batch's answers, in the order the batches were cut.
    fn take(
        &mut self,
        batches: Vec<Vec<Decided<'p>>>,
        results: Vec<BatchReport>,
        report: &mut RunReport,
    ) {
        for (decided, result) in batches.into_iter().zip(results) {
            settle(
                self.plan,
                decided,
                &result,
                self.last,
                report,
                &mut self.confirmed,
                &mut self.again,
            );
            if !self.halted {
                self.halted = halt(result, report);
            }
        }
    }
}

async fn delete_objects(target: &VisionOne<'_>, deletes: &[Decided<'_>]) -> BatchReport {
    let values: Vec<ObjectValue> = deletes
        .iter()
        .filter_map(|d| object_value(d, None))
        .collect();
    match target.list {
        Kind::Suspicious => target.client.delete_suspicious(&values).await,
        Kind::Exceptions => target.client.delete_exceptions(&values).await,
    }
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
        Kind::Suspicious => {
            let objects: Vec<_> = objects
                .map(|(a, value)| v1::suspicious(a, value, plan.at))
                .collect();
            target.client.add_suspicious(&objects).await
        }
        Kind::Exceptions => {
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

fn record_failure(kind: IndicatorKind, value: &str, outcome: &ItemOutcome, report: &mut RunReport) {
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
