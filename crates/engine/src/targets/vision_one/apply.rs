//! Applying a plan to a Vision One list: batches of objects (a delete call, then one add call
//! that upserts), each re-decided against the claims under the list's lease, with items the
//! service answered with a server error sent again in rounds over the whole run. Up to
//! `overlap` batches (the target's `max_concurrency`) make a window, decided together and sent
//! at once, so latency, not the number of batches, sets the pace. While a window is on the wire
//! the one before it is recorded and the one after it decided, under one lease held for at most
//! four windows (`WINDOWS_PER_LEASE`): the run's own work hides behind the target's latency.

use std::time::Instant;

use indicator::Kind as IndicatorKind;
use store::LibraryBackend;
use trendmicro::vision_one::{BatchReport, ItemOutcome, ObjectValue, VisionOneClient};

use crate::claims::Write;
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::Plan;
use crate::report::{Failure, Progress, RunReport};
use crate::space;
use crate::targets::objects::{Confirmed, Decided, Room, Work, count, decide_batch, works};
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

/// Windows sent under one lease before it is given back: a trigger or another workflow waiting
/// on the list waits at most this many windows.
const WINDOWS_PER_LEASE: usize = 4;

/// Applies a Vision One plan: removals first, then updates and adds.
///
/// Items Vision One answers with a server error are sent again in later rounds over the whole
/// plan, up to `rounds` sends each, with one backoff pause between rounds: pausing inside every
/// batch instead would make a run under a steady trickle of per-item errors pay a pause per
/// batch (measured: 250 s instead of ~3 s for 60,000 objects at 5% item errors).
pub async fn vision_one(
    target: &VisionOne<'_>,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let (drops, sets) = works(plan, report);
    let pipeline = Pipeline {
        target,
        plan,
        progress,
        window: target.batch.max(1) * target.overlap.max(1),
    };
    for items in [drops, sets] {
        if pipeline.rounds(items, library, report).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// A worker of windows: `overlap` batches sent at once make a window. While a window is on the
/// wire, the one before it is recorded and the one after it decided, so the run's own work
/// hides behind the target's latency instead of adding to it.
struct Pipeline<'a> {
    target: &'a VisionOne<'a>,
    plan: &'a Plan,
    progress: &'a dyn Progress,
    window: usize,
}

/// What one round over the items came to.
struct Round<'p> {
    /// Items answered with a server error, for the next round.
    again: Vec<Work<'p>>,
    /// The run halted or was told to stop.
    stopped: bool,
}

impl<'p> Pipeline<'_> {
    /// Sends `items`, then again the ones answered with a server error, after a pause, while
    /// pauses last. True when the run stopped (halted or cancelled).
    async fn rounds(
        &self,
        mut items: Vec<Work<'p>>,
        library: &mut dyn LibraryBackend,
        report: &mut RunReport,
    ) -> Result<bool, EngineError> {
        let mut pauses = self
            .target
            .client
            .retry_pauses(self.target.rounds)
            .peekable();
        let mut first = true;
        while !items.is_empty() {
            let last = pauses.peek().is_none();
            let round = self.round(&items, last, first, library, report).await?;
            if round.stopped {
                return Ok(true);
            }
            match pauses.next() {
                Some(pause) if !round.again.is_empty() => tokio::time::sleep(pause).await,
                _ => break,
            }
            items = round.again;
            first = false;
        }
        Ok(false)
    }

    /// One round: the items in groups of windows, each group under one lease.
    async fn round(
        &self,
        items: &[Work<'p>],
        last: bool,
        first: bool,
        library: &mut dyn LibraryBackend,
        report: &mut RunReport,
    ) -> Result<Round<'p>, EngineError> {
        let mut round = Round {
            again: Vec::new(),
            stopped: false,
        };
        for group in items.chunks(self.window * WINDOWS_PER_LEASE) {
            if report.stop_requested(self.progress) {
                round.stopped = true;
                break;
            }
            let guard = space::lock(library, &self.plan.space).await?;
            let leased = Leased {
                pipeline: self,
                last,
                first,
            };
            let stopped = leased
                .run(&guard, group, library, report, &mut round.again)
                .await;
            guard.release(library)?;
            if stopped? {
                round.stopped = true;
                break;
            }
        }
        Ok(round)
    }
}

/// The windows of one lease.
struct Leased<'a> {
    pipeline: &'a Pipeline<'a>,
    /// The last round: server errors are failures, not sent again.
    last: bool,
    /// The first round: progress advances (later rounds resend what it counted).
    first: bool,
}

impl<'p> Leased<'_> {
    /// Sends the windows of `group`, each decided while the one before it is on the wire and
    /// recorded while the one after it is. True when the run must stop.
    async fn run(
        &self,
        guard: &space::SpaceGuard,
        group: &[Work<'p>],
        library: &mut dyn LibraryBackend,
        report: &mut RunReport,
        again: &mut Vec<Work<'p>>,
    ) -> Result<bool, EngineError> {
        let Pipeline {
            target,
            plan,
            progress,
            window,
        } = *self.pipeline;
        let mut room = Room::new(target.capacity.as_ref());
        let mut windows = group.chunks(window).peekable();
        let mut decided = match windows.peek() {
            Some(works) => decide(&*library, plan, works, &mut room, report)?,
            None => return Ok(false),
        };
        let mut unrecorded = Confirmed::default();
        let mut renewed = Instant::now();
        while let Some(works) = windows.next() {
            // Windows held back by rate limits may outlast the lease's term: renew it.
            if renewed.elapsed() >= space::RENEW_EVERY {
                guard.renew(library)?;
                renewed = Instant::now();
            }
            let (confirmed, deletes, writes) = sort(plan, decided, report);
            let following = windows.peek().copied();
            // The window goes out first; recording the last one and deciding the next run
            // while it is answered.
            let sends = send_window(target, plan, &deletes, &writes);
            let meanwhile = async {
                tokio::task::yield_now().await;
                std::mem::take(&mut unrecorded).record(library, plan)?;
                following
                    .map(|works| decide(&*library, plan, works, &mut room, report))
                    .transpose()
            };
            let (results, next) = tokio::join!(sends, meanwhile);
            let next = next?;
            let settled = self.settle(confirmed, deletes, writes, results, report);
            unrecorded = settled.confirmed;
            again.extend(settled.again);
            if self.first {
                progress.advance(works.len() as u64);
            }
            let stop = settled.halted || report.stop_requested(progress);
            match next {
                Some(next) if !stop => decided = next,
                _ => {
                    unrecorded.record(library, plan)?;
                    return Ok(stop);
                }
            }
        }
        unrecorded.record(library, plan)?;
        Ok(false)
    }
}

impl<'a> Leased<'a> {
    /// Takes a window's answers, batch by batch in the order they were cut.
    fn settle<'p>(
        &self,
        confirmed: Confirmed,
        deletes: Vec<Decided<'p>>,
        writes: Vec<Decided<'p>>,
        answers: Answers,
        report: &mut RunReport,
    ) -> Settled<'a, 'p> {
        let mut settled = Settled {
            plan: self.pipeline.plan,
            last: self.last,
            confirmed,
            again: Vec::new(),
            halted: false,
        };
        let batch = self.pipeline.target.batch.max(1);
        settled.take(split(deletes, batch), answers.deletes, report);
        settled.take(split(writes, batch), answers.writes, report);
        settled
    }
}

/// Reads the claims on a window's values and decides each write, keeping the creates that fit.
fn decide<'p>(
    library: &dyn LibraryBackend,
    plan: &Plan,
    works: &[Work<'p>],
    room: &mut Room<'_>,
    report: &mut RunReport,
) -> Result<Vec<Decided<'p>>, EngineError> {
    let decided = decide_batch(library, plan, works, &v1_key_of)?;
    room.keep(library, plan, decided, report)
}

/// A window's decisions: those that need no write (confirmed at once), deletes and writes.
fn sort<'p>(
    plan: &Plan,
    decided: Vec<Decided<'p>>,
    report: &mut RunReport,
) -> (Confirmed, Vec<Decided<'p>>, Vec<Decided<'p>>) {
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
    (confirmed, deletes, writes)
}

/// A window's answers, batch by batch.
struct Answers {
    deletes: Vec<BatchReport>,
    /// Empty when a delete halted the run (the writes were not sent).
    writes: Vec<BatchReport>,
}

/// Sends a window: its delete batches at once, then (unless one halted) its write batches.
async fn send_window(
    target: &VisionOne<'_>,
    plan: &Plan,
    deletes: &[Decided<'_>],
    writes: &[Decided<'_>],
) -> Answers {
    let batch = target.batch.max(1);
    let sends = deletes
        .chunks(batch)
        .map(|chunk| delete_objects(target, chunk));
    let deletes = futures::future::join_all(sends).await;
    if deletes.iter().any(|d| d.halted.is_some()) {
        return Answers {
            deletes,
            writes: Vec::new(),
        };
    }
    let sends = writes
        .chunks(batch)
        .map(|chunk| send_objects(target, plan, chunk));
    let writes = futures::future::join_all(sends).await;
    Answers { deletes, writes }
}

/// A failure worth another round: a server error on the item (its state is unknown or
/// transiently refused), never a refusal of the value itself.
fn worth_another_round(outcome: &ItemOutcome) -> bool {
    matches!(outcome, ItemOutcome::Failed { status: Some(status), .. } if *status >= 500)
}

fn v1_key_of(kind: IndicatorKind) -> Option<String> {
    v1_key(kind).map(str::to_owned)
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
