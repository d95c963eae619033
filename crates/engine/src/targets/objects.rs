//! Apply on per-object targets (Vision One lists, XDR v2 blocks, HTTP templates): the plan's
//! claim changes re-decided when their batch goes. Under the space's lease ([`crate::space`])
//! the claims on the batch's values are read, [`claims::decide`] says what to write for each,
//! the target is written and the ledger updated — one transaction per confirmed batch — so a
//! plan made before a trigger blocked a value, or before another workflow claimed it, never
//! removes it from under them. A process killed anywhere leaves the ledger a subset of the
//! truth, and the next run converges without duplicates or losses. Between batches the loops
//! ask [`Progress::cancelled`] and stop cleanly when told to.

use std::borrow::Cow;
use std::collections::HashMap;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use indicator::Kind;
use store::{LedgerEntry, LibraryBackend};

use crate::budget;
use crate::claims::{self, Write};
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::{Change, Plan, Seen};
use crate::report::{Progress, RunReport};
use crate::space;
use config::Capacity;

/// One claim change of the plan, re-decided when its batch goes.
#[derive(Debug, Clone)]
pub(crate) struct Work<'p> {
    pub(crate) change: &'p Change,
    /// The claim asked for; `None`: the claim is dropped.
    pub(crate) want: Option<Cow<'p, ObjectAttributes>>,
}

/// The plan's claim changes: drops first (they make room), then sets in priority order.
pub(crate) fn works<'p>(plan: &'p Plan, report: &mut RunReport) -> (Vec<Work<'p>>, Vec<Work<'p>>) {
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
        match change.attributes.object() {
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
pub(crate) struct Decided<'p> {
    pub(crate) work: Work<'p>,
    pub(crate) write: Write,
}

/// Reads the claims on the batch's values now and decides each write.
pub(crate) fn decide_batch<'p>(
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
                write: claims::decide(&holders, work.want.as_deref(), found),
                work: work.clone(),
            }
        })
        .collect())
}

/// The room left on a capped list while one lease is held: counted from the ledger once, on
/// the first create that needs it, then kept by counting each create let through. Nothing
/// else changes the space's claims under the lease, so the count stays true; a create that
/// then fails still counts, which can only defer a value to a later run, never overfill.
pub(crate) struct Room<'c> {
    capacity: Option<&'c Capacity>,
    held: Option<HashMap<String, u64>>,
}

impl<'c> Room<'c> {
    /// The room of a list of `capacity` (`None`: uncapped), not yet counted.
    pub(crate) fn new(capacity: Option<&'c Capacity>) -> Room<'c> {
        Room {
            capacity,
            held: None,
        }
    }

    /// Keeps the creates of a batch that fit the list now (other claimants may have filled it
    /// since the plan); the rest wait for a later run, reported as deferred.
    pub(crate) fn keep<'p>(
        &mut self,
        library: &dyn LibraryBackend,
        plan: &Plan,
        decided: Vec<Decided<'p>>,
        report: &mut RunReport,
    ) -> Result<Vec<Decided<'p>>, EngineError> {
        let Some(capacity) = self.capacity else {
            return Ok(decided);
        };
        if !decided.iter().any(|d| matches!(d.write, Write::Create(_))) {
            return Ok(decided);
        }
        let held = match &mut self.held {
            Some(held) => held,
            None => self.held.insert(held_now(library, plan, capacity)?),
        };
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
}

/// What the space holds now, per bucket of `capacity`.
fn held_now(
    library: &dyn LibraryBackend,
    plan: &Plan,
    capacity: &Capacity,
) -> Result<HashMap<String, u64>, EngineError> {
    let mut held: HashMap<String, u64> = HashMap::new();
    for (kind, count) in library.space_counts(&plan.space)? {
        *held
            .entry(budget::bucket_of_kind(capacity, kind))
            .or_default() += count;
    }
    Ok(held)
}

/// Counts a confirmed write in the report.
pub(crate) fn count(report: &mut RunReport, write: &Write, set: bool) {
    match (write, set) {
        (Write::Create(_), _) => report.added += 1,
        (Write::Delete, _) => report.removed += 1,
        (Write::Update(_), true) => report.updated += 1,
        (Write::Nothing, true) => report.joined += 1,
        (Write::Update(_) | Write::Nothing, false) => report.released += 1,
    }
}

/// The ledger row of a set claim whose write the target confirmed.
pub(crate) fn claim_entry(
    plan: &Plan,
    work: &Work<'_>,
    remote_id: Option<String>,
) -> Option<LedgerEntry> {
    let mut want = work.want.clone()?.into_owned();
    if remote_id.is_some() {
        want.action_id.clone_from(&remote_id);
    }
    Some(LedgerEntry {
        key: plan.ledger.clone(),
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
pub(crate) struct Confirmed {
    upserts: Vec<LedgerEntry>,
    removals: Vec<(Kind, String)>,
}

impl Confirmed {
    pub(crate) fn add(&mut self, plan: &Plan, work: &Work<'_>, remote_id: Option<String>) {
        match claim_entry(plan, work, remote_id) {
            Some(entry) => self.upserts.push(entry),
            None => self
                .removals
                .push((work.change.kind, work.change.value.clone())),
        }
    }

    pub(crate) fn record(
        self,
        library: &mut dyn LibraryBackend,
        plan: &Plan,
    ) -> Result<(), EngineError> {
        if !self.upserts.is_empty() || !self.removals.is_empty() {
            library.ledger_apply(&plan.ledger, &self.upserts, &self.removals)?;
        }
        Ok(())
    }
}

/// How many values a per-value target without a wait after each call has in flight at once.
/// The client's `max_concurrency` still bounds its connections; this bounds what one lease
/// decides before it is answered.
pub(crate) const IN_FLIGHT: usize = 8;

/// Per-value targets (XDR v2, HTTP templates, Apex Central): each call carries one value, so
/// the run sends `in_flight` of them at once — decided together under the space's lease,
/// sent concurrently, each recorded as soon as it is answered — and latency, not the number
/// of values, sets the pace.
pub(crate) async fn one_at_a_time(
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
    key_of: &dyn Fn(Kind) -> Option<String>,
    in_flight: usize,
    send: &impl AsyncFn(&Decided<'_>) -> Result<Option<String>, ItemError>,
) -> Result<(), EngineError> {
    let start = async |decided: &[Decided<'_>]| Ok(vec![(); decided.len()]);
    let finish = async |d: &Decided<'_>, (): ()| send(d).await;
    in_windows(
        plan, library, progress, report, key_of, in_flight, &start, &finish,
    )
    .await
}

/// Targets whose calls start work that ends later (v3 response tasks): each window of
/// `in_flight` values is decided under the space's lease, started with one `start` call (one
/// pending answer per value, in order), then each value's `finish` awaited concurrently and
/// recorded as soon as it is confirmed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn in_windows<P>(
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
    key_of: &dyn Fn(Kind) -> Option<String>,
    in_flight: usize,
    start: &impl AsyncFn(&[Decided<'_>]) -> Result<Vec<P>, ItemError>,
    finish: &impl AsyncFn(&Decided<'_>, P) -> Result<Option<String>, ItemError>,
) -> Result<(), EngineError> {
    let (drops, sets) = works(plan, report);
    let works: Vec<Work<'_>> = drops.into_iter().chain(sets).collect();
    for chunk in works.chunks(in_flight.max(1)) {
        if report.stop_requested(progress) {
            return Ok(());
        }
        let guard = space::lock(library, &plan.space).await?;
        let window = Window { plan, key_of };
        let outcome = window
            .run(&mut *library, &guard, chunk, report, start, finish)
            .await;
        guard.release(library)?;
        progress.advance(chunk.len() as u64);
        if !outcome? {
            return Ok(());
        }
    }
    Ok(())
}

/// Why one value's call failed.
pub(crate) enum ItemError {
    /// This value only: reported, the run goes on.
    Item(String),
    /// The target stops the run (bad key, unreachable): why.
    Halt(String),
}

impl ItemError {
    pub(crate) fn of(error: trendmicro::Error) -> ItemError {
        if error.stops_target() {
            ItemError::Halt(error.to_string())
        } else {
            ItemError::Item(error.to_string())
        }
    }
}

/// One window of values: the plan it belongs to and how its values are keyed.
struct Window<'a> {
    plan: &'a Plan,
    key_of: &'a dyn Fn(Kind) -> Option<String>,
}

impl Window<'_> {
    /// Decides `works` together, starts them, finishes them concurrently and records each
    /// value as soon as the target confirms it (a kill loses no confirmed claim); `false`
    /// when the run must stop.
    async fn run<P>(
        &self,
        library: &mut dyn LibraryBackend,
        guard: &space::SpaceGuard,
        works: &[Work<'_>],
        report: &mut RunReport,
        start: &impl AsyncFn(&[Decided<'_>]) -> Result<Vec<P>, ItemError>,
        finish: &impl AsyncFn(&Decided<'_>, P) -> Result<Option<String>, ItemError>,
    ) -> Result<bool, EngineError> {
        let plan = self.plan;
        let decided = decide_batch(&*library, plan, works, self.key_of)?;
        let pending = match start(&decided).await {
            Ok(pending) => pending,
            Err(ItemError::Halt(halt)) => {
                report.halted = Some(halt);
                return Ok(false);
            }
            Err(ItemError::Item(message)) => {
                decided
                    .iter()
                    .for_each(|d| report.fail(d.work.change, &message));
                return Ok(true);
            }
        };
        let mut answers: FuturesUnordered<_> = decided
            .iter()
            .zip(pending)
            .map(|(d, p)| async move { (d, finish(d, p).await) })
            .collect();
        let mut halted = None;
        // Tasks may outlast the lease's term: it is renewed while the window waits on them.
        let mut renew = tokio::time::interval_at(
            tokio::time::Instant::now() + space::RENEW_EVERY,
            space::RENEW_EVERY,
        );
        loop {
            let (d, answer) = tokio::select! {
                next = answers.next() => match next {
                    Some(next) => next,
                    None => break,
                },
                _ = renew.tick() => {
                    guard.renew(library)?;
                    continue;
                }
            };
            match answer {
                Ok(remote_id) => {
                    count(report, &d.write, d.work.want.is_some());
                    let mut confirmed = Confirmed::default();
                    confirmed.add(plan, &d.work, remote_id);
                    confirmed.record(library, plan)?;
                }
                Err(ItemError::Item(message)) => report.fail(d.work.change, &message),
                Err(ItemError::Halt(error)) => {
                    halted.get_or_insert(error);
                }
            }
        }
        match halted {
            Some(halt) => {
                report.halted = Some(halt);
                Ok(false)
            }
            None => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::WhenFull;
    use serde_json::json;
    use store::Library;

    fn plan() -> Plan {
        serde_json::from_value(json!({
            "workflow": "w", "target": "v1", "action": "blocklist", "ledger": "v1/w",
            "space": "v1#suspicious", "at": "2026-12-03T00:00:00Z", "adds": [], "updates": [],
            "removals": [], "skips": [], "deferred": 0,
        }))
        .unwrap()
    }

    fn change(i: u32) -> Change {
        Change {
            kind: Kind::Ipv4,
            value: format!("203.0.113.{i}"),
            attributes: serde_json::Value::Null.into(),
            reason: "new".into(),
            seen: None,
        }
    }

    fn creates(changes: &[Change]) -> Vec<Decided<'_>> {
        let want = ObjectAttributes::new("ip", "w".into());
        changes
            .iter()
            .map(|change| Decided {
                work: Work {
                    change,
                    want: Some(Cow::Owned(want.clone())),
                },
                write: Write::Create(want.clone()),
            })
            .collect()
    }

    /// A window decided while the one before it is still on the wire (its creates not yet in
    /// the ledger) gets only the room those creates left.
    #[test]
    fn room_counts_the_list_once_then_every_create_let_through() {
        let dir = tempfile::tempdir().unwrap();
        let mut library = Library::open(dir.path().join("library.db")).unwrap();
        let plan = plan();
        let other: Vec<LedgerEntry> = (1..=2)
            .map(|i| LedgerEntry {
                key: "v1/other".into(),
                space: plan.space.clone(),
                kind: Kind::Ipv4,
                value: format!("198.51.100.{i}"),
                attributes: json!({}),
                remote_id: None,
                pushed_at: plan.at,
            })
            .collect();
        library.ledger_apply("v1/other", &other, &[]).unwrap();
        let capacity = Capacity {
            capacity: 5,
            reserve: 0,
            per_type: true,
            when_full: WhenFull::Refuse,
        };
        let changes: Vec<Change> = (10..16).map(change).collect();
        let mut report = RunReport::new(plan.clone(), false);
        let mut room = Room::new(Some(&capacity));
        let first = room
            .keep(&*library, &plan, creates(&changes[..2]), &mut report)
            .unwrap();
        assert_eq!(first.len(), 2, "2 held by another claimant, 2 let through");
        let second = room
            .keep(&*library, &plan, creates(&changes[2..5]), &mut report)
            .unwrap();
        assert_eq!(
            second.len(),
            1,
            "the first window's creates count though unrecorded"
        );
        assert_eq!(report.deferred, 2);
        // Under the next lease the list is counted again, from the ledger: the other claimant
        // let one go, and the first lease's creates were never recorded (say, all refused).
        library
            .ledger_apply("v1/other", &[], &[(Kind::Ipv4, "198.51.100.1".into())])
            .unwrap();
        let mut room = Room::new(Some(&capacity));
        let third = room
            .keep(&*library, &plan, creates(&changes[1..]), &mut report)
            .unwrap();
        assert_eq!(third.len(), 4, "1 held, 4 let through, the fifth deferred");
        assert_eq!(report.deferred, 3);
    }
}
