//! One-off actions on single values: `iocsync block|unblock --target T VALUE...` and webhook
//! triggers ([`crate::trigger`]). Values go through the same parsing, refanging and guard as a
//! workflow's; then each is a claim of its own claimant — `<target>/manual` for `block`,
//! `<target>/hook:<name>` for a trigger — decided against every other claim on the value
//! ([`claims::decide`]) under the space's lease, exactly as a workflow's batches are. So a
//! block never overwrites what a stronger claim set, an unblock or a TTL lift never removes
//! what a workflow still pushes (the object falls back to the workflow's attributes), and a
//! value already on Vision One that iocsync did not create is left as it is.
//!
//! On a Vision One list, one-off blocks count against the list's capacity: when a type is full
//! they make room by removing iocsync's own lowest-ranked workflow object (reported; its
//! workflow adds it back when room returns), or are refused (`when_full = "refuse"`), so the
//! product never evicts a block iocsync just reported.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig, ListKind};
use indicator::Kind;
use serde::Serialize;
use store::{GuardDrop, LedgerEntry, Library, RunStatus};
use trendmicro::vision_one::{RiskLevel, ScanAction};

use crate::budget;
use crate::claims::{self, Found, Holders, Write};
use crate::error::EngineError;
use crate::keys::{self, Claimant};
use crate::mapping::{ExpiryIntent, ObjectAttributes};
use crate::marker::{Maker, Marker};
use crate::recorder::{Items, Record, Recorder};
use crate::report::Failure;
use crate::space;
use crate::targets::Sender;
use crate::targets::vision_one::oneoff::Present;
use config::{Capacity, Config, Target, WhenFull};

/// Days a one-off block lasts on Vision One when nothing lifts it sooner.
pub const BLOCK_DAYS: u16 = 30;

/// Block or remove a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Block,
    Unblock,
}

/// An input that was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub input: String,
    pub reason: String,
}

/// What a one-off block did.
#[derive(Debug, Clone, Serialize)]
pub struct OneOffReport {
    pub target: String,
    /// Values now blocked (or unblocked), as the target holds them.
    pub applied: Vec<String>,
    pub refused: Vec<Refused>,
    pub failed: Vec<Failure>,
    pub halted: Option<String>,
    /// What else happened that a person should know (objects displaced to make room, objects
    /// kept on the target for other claimants).
    pub notes: Vec<String>,
}

impl OneOffReport {
    /// How the run ended ([`crate::recorder::status`]).
    pub fn status(&self) -> RunStatus {
        self.record().status()
    }

    /// Its summary for the run record.
    pub fn record(&self) -> Record {
        Record {
            halted: self.halted.is_some(),
            held: 0,
            problems: self.refused.len() + self.failed.len(),
            counts: serde_json::json!({
                "applied": self.applied.len(),
                "refused": self.refused.len(),
                "failed": self.failed.len(),
            }),
            messages: self
                .refused
                .iter()
                .map(|r| format!("{}: {}", r.input, r.reason))
                .chain(
                    self.failed
                        .iter()
                        .map(|f| format!("{}: {}", f.value, f.message)),
                )
                .chain(self.halted.iter().cloned())
                .collect(),
            items: self.items(),
            subject: None,
        }
    }

    /// Each value applied, refused (with why) or failed (with the target's answer).
    fn items(&self) -> Vec<store::RunItem> {
        let mut items = Items::default();
        for failure in &self.failed {
            let detail = Some(failure.message.clone());
            items.push("failed", Some(failure.kind), &failure.value, detail, None);
        }
        for refused in &self.refused {
            let detail = Some(refused.reason.clone());
            items.push("refused", None, &refused.input, detail, None);
        }
        for value in &self.applied {
            items.push("applied", None, value, None, None);
        }
        items.into_vec()
    }
}

/// A value ready to send: its kind and its value as the target takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: Kind,
    pub value: String,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acted {
    /// Done (blocked, or its claim dropped); `kept_for` names who keeps the object on the target
    /// after an unblock, `action_id` the target's task.
    Done {
        action_id: Option<String>,
        kept_for: Option<String>,
    },
    /// Not done, on purpose: not this claimant's to change, or no room.
    Refused(String),
    /// The target refused it or could not be reached.
    Failed(String),
}

/// One claimant acting on one target: the target, its client, and under which ledger key.
pub struct Claimer<'a> {
    pub sender: &'a Sender,
    pub target: &'a Target,
    /// The claimant's ledger key.
    pub ledger: String,
    pub marker: Marker,
}

impl Claimer<'_> {
    pub(crate) fn space(&self) -> String {
        keys::space(&self.target.name, self.sender.list())
    }

    fn capacity(&self) -> Option<Capacity> {
        self.sender.capacity(self.target)
    }
}

/// What a block asks for: the object's attributes and what a webhook may use besides.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub description: &'a str,
    /// Days until Vision One expires the object by itself.
    pub expiry_days: u16,
    /// When iocsync lifts the block (trigger TTLs).
    pub lift_at: Option<DateTime<Utc>>,
    /// Fields an HTTP template may use besides `$value` and `$kind` (an alert's fields).
    pub extra: &'a BTreeMap<String, serde_json::Value>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave the library half-written (writes are transactions).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The claim a block makes on each value: block, high risk, the request's expiry and
/// description (with this library's marker).
fn block_claim(
    claimer: &Claimer<'_>,
    kind: Kind,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> ObjectAttributes {
    let attributes = ObjectAttributes {
        scan_action: Some(ScanAction::Block),
        risk_level: Some(RiskLevel::High),
        expiry: Some(ExpiryIntent::Days(request.expiry_days)),
        lift_at: request.lift_at,
        ..ObjectAttributes::new(
            claimer.sender.key_of(kind).unwrap_or_default(),
            claimer.marker.stamp(request.description),
        )
    };
    attributes.pushed_at(now)
}

/// Blocks or unblocks `items` as `claimer`; one outcome per item, in order, and the error that
/// halted the rest.
pub async fn act(
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    items: &[Item],
    mode: Mode,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<(Vec<Acted>, Option<String>, Vec<String>), EngineError> {
    let space = claimer.space();
    let mut outcomes: Vec<Option<Acted>> = vec![None; items.len()];
    // Values no claim knows are looked up first (outside the lease: it is only a read), so a
    // block never takes over an analyst's object.
    let present = match mode {
        Mode::Block => {
            claimer
                .sender
                .look_up(claimer, library, &space, items)
                .await?
        }
        Mode::Unblock => HashMap::new(),
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(found) = present.get(&item.value)
            && found.maker != Maker::ThisLibrary
        {
            outcomes[i] = Some(Acted::Refused(format!(
                "already on the target, created by {}: left as it is",
                found.maker.describe()
            )));
        }
    }
    let guard = space::lock_shared(library, &space).await?;
    let outcome = act_locked(
        claimer,
        library,
        items,
        mode,
        request,
        now,
        &present,
        &mut outcomes,
    )
    .await;
    guard.release(&mut **lock(library))?;
    let (halted, notes) = outcome?;
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Acted::Failed("not sent: the request was halted".to_owned())))
        .collect();
    Ok((outcomes, halted, notes))
}

/// What one item's write will be.
pub(crate) struct Step {
    pub(crate) index: usize,
    pub(crate) write: Write,
    pub(crate) holders: Holders,
}

#[allow(clippy::too_many_arguments)]
async fn act_locked(
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    items: &[Item],
    mode: Mode,
    request: &Request<'_>,
    now: DateTime<Utc>,
    present: &HashMap<String, Present>,
    outcomes: &mut [Option<Acted>],
) -> Result<(Option<String>, Vec<String>), EngineError> {
    let space = claimer.space();
    let key_of = |kind: Kind| claimer.sender.key_of(kind);
    let values: Vec<(Kind, String)> = items.iter().map(|i| (i.kind, i.value.clone())).collect();
    let objects = claims::by_object(
        &claimer.ledger,
        &lock(library).claims_on(&space, &values)?,
        &key_of,
    );
    let mut steps = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if outcomes[index].is_some() {
            continue;
        }
        let holders = objects
            .get(&(item.kind, item.value.clone()))
            .cloned()
            .unwrap_or_default();
        let write = match mode {
            Mode::Block => {
                let want = block_claim(claimer, item.kind, request, now);
                let found = present
                    .get(&item.value)
                    .map_or(Found::AsClaimed, |p| Found::Unclaimed(&p.attributes));
                claims::decide(&holders, Some(&want), found)
            }
            Mode::Unblock if holders.own.is_none() => {
                outcomes[index] = Some(Acted::Refused(format!(
                    "not blocked with {}: left alone",
                    Claimant::of(&claimer.ledger).map_or_else(String::new, |c| c.describe())
                )));
                continue;
            }
            Mode::Unblock => claims::decide(&holders, None, Found::AsClaimed),
        };
        steps.push(Step {
            index,
            write,
            holders,
        });
    }
    let mut notes = Vec::new();
    if mode == Mode::Block
        && let Some(capacity) = claimer.capacity()
    {
        make_room(
            claimer, library, &capacity, items, &mut steps, outcomes, &mut notes,
        )
        .await?;
    }
    let halted = send(claimer, items, request, &steps, outcomes).await;
    record(
        claimer, library, items, mode, request, now, &steps, outcomes,
    )?;
    Ok((halted, notes))
}

/// Keeps creates within the list's capacity: removes iocsync's lowest-ranked workflow objects
/// of a full type first, or refuses the block (`when_full = "refuse"`).
async fn make_room(
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    capacity: &Capacity,
    items: &[Item],
    steps: &mut Vec<Step>,
    outcomes: &mut [Option<Acted>],
    notes: &mut Vec<String>,
) -> Result<(), EngineError> {
    let space = claimer.space();
    let mut held: HashMap<String, usize> = HashMap::new();
    for (kind, count) in lock(library).space_counts(&space)? {
        *held
            .entry(budget::bucket_of_kind(capacity, kind))
            .or_default() += count as usize;
    }
    let mut short: HashMap<String, usize> = HashMap::new();
    let mut refused = Vec::new();
    for step in steps.iter() {
        if !matches!(step.write, Write::Create(_)) {
            continue;
        }
        let bucket = budget::bucket_of_kind(capacity, items[step.index].kind);
        let count = held.entry(bucket.clone()).or_default();
        *count += 1;
        if *count > capacity.capacity {
            match capacity.when_full {
                WhenFull::Refuse => {
                    *count -= 1;
                    refused.push(step.index);
                }
                WhenFull::Displace => *short.entry(bucket).or_default() += 1,
            }
        }
    }
    for index in &refused {
        outcomes[*index] = Some(Acted::Refused(format!(
            "not blocked: the target's list holds its capacity of {} objects of this type (when_full = \"refuse\")",
            capacity.capacity
        )));
    }
    steps.retain(|s| !refused.contains(&s.index));
    for (bucket, count) in short {
        let freed = claimer
            .sender
            .displace(claimer, library, capacity, &bucket, count, notes)
            .await?;
        if freed < count {
            // Nothing of ours left to displace: refuse the blocks that do not fit rather than
            // let the product evict one of them.
            let mut over = count - freed;
            for step in steps.iter().rev() {
                if over == 0 {
                    break;
                }
                if matches!(step.write, Write::Create(_))
                    && budget::bucket_of_kind(capacity, items[step.index].kind) == bucket
                {
                    outcomes[step.index] = Some(Acted::Refused(
                        "not blocked: the list is full and holds no workflow object of iocsync's to make room".to_owned(),
                    ));
                    over -= 1;
                }
            }
            steps.retain(|s| outcomes[s.index].is_none());
        }
    }
    Ok(())
}

/// Sends the steps' writes; returns the error that halted the rest.
async fn send(
    claimer: &Claimer<'_>,
    items: &[Item],
    request: &Request<'_>,
    steps: &[Step],
    outcomes: &mut [Option<Acted>],
) -> Option<String> {
    let sending: Vec<&Step> = steps.iter().filter(|s| s.write.sends()).collect();
    let (results, halted) = claimer.sender.send(items, request, &sending).await;
    for (step, result) in sending.iter().zip(results) {
        outcomes[step.index] = Some(match result {
            Ok(action_id) => Acted::Done {
                action_id,
                kept_for: kept_for(step),
            },
            Err(message) => Acted::Failed(message),
        });
    }
    for step in steps.iter().filter(|s| !s.write.sends()) {
        outcomes[step.index] = Some(Acted::Done {
            action_id: None,
            kept_for: kept_for(step),
        });
    }
    halted
}

/// Who keeps the object on the target when this claimant's claim on it goes.
fn kept_for(step: &Step) -> Option<String> {
    (step.holders.held_by_others() && !matches!(step.write, Write::Delete))
        .then(|| step.holders.describe_others())
}

/// Records the claims of every item done, in one transaction.
#[allow(clippy::too_many_arguments)]
fn record(
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    items: &[Item],
    mode: Mode,
    request: &Request<'_>,
    now: DateTime<Utc>,
    steps: &[Step],
    outcomes: &[Option<Acted>],
) -> Result<(), EngineError> {
    let space = claimer.space();
    let mut upserts = Vec::new();
    let mut removals = Vec::new();
    for step in steps {
        let Some(Acted::Done { action_id, .. }) = &outcomes[step.index] else {
            continue;
        };
        let item = &items[step.index];
        match mode {
            Mode::Block => {
                let mut attributes = block_claim(claimer, item.kind, request, now);
                attributes.action_id.clone_from(action_id);
                upserts.push(LedgerEntry {
                    key: claimer.ledger.clone(),
                    space: space.clone(),
                    kind: item.kind,
                    value: item.value.clone(),
                    attributes: serde_json::to_value(&attributes).unwrap_or_default(),
                    remote_id: action_id.clone(),
                    pushed_at: now,
                });
            }
            Mode::Unblock => removals.push((item.kind, item.value.clone())),
        }
    }
    lock(library).ledger_apply(&claimer.ledger, &upserts, &removals)?;
    Ok(())
}

/// One indicator found in an input, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    Ready(Item),
    /// Not an indicator, or not one the target takes.
    Refused(Refused),
    /// Stopped by the guard: the drop to record.
    Stopped(Refused, GuardDrop),
}

/// Parses and refangs `input`, applies the guard, and checks the target takes the value.
pub fn prepare(
    input: &str,
    guard: &Guard,
    sender: &Sender,
    target: &str,
    now: DateTime<Utc>,
) -> Vec<Prepared> {
    let refused = |reason: String| Refused {
        input: input.to_owned(),
        reason,
    };
    let parsed = match indicator::parse(input) {
        Ok(parsed) => parsed,
        Err(error) => return vec![Prepared::Refused(refused(error.to_string()))],
    };
    parsed
        .into_iter()
        .map(|found| {
            if let guard::Verdict::Stop { rule, reason } = guard.check(&found) {
                let drop = GuardDrop {
                    kind: found.kind,
                    value: found.value,
                    target: Some(target.to_owned()),
                    rule: rule.clone(),
                    reason: reason.clone(),
                    at: now,
                };
                return Prepared::Stopped(refused(format!("guard {rule}: {reason}")), drop);
            }
            match sender.accept(&found) {
                Ok(value) => Prepared::Ready(Item {
                    kind: found.kind,
                    value,
                }),
                Err(reason) => Prepared::Refused(refused(reason)),
            }
        })
        .collect()
}

/// The blocklist guard of `config` (one-off actions always block).
pub fn blocking_guard(config: &Config) -> Result<Guard, EngineError> {
    Ok(Guard::new(&GuardConfig {
        list: ListKind::Blocklist,
        ..config.guard.clone()
    })?)
}

/// Blocks or unblocks `inputs` on a Vision One, XDR v2 or HTTP target, now; on Vision One
/// through v3 response tasks when `response` (else on the suspicious-object list directly).
pub async fn block(
    config: &Config,
    library: &Mutex<Library>,
    target: &str,
    response: bool,
    inputs: &[String],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let target = config.target(target)?;
    let sender = Sender::new(target, "iocsync", response)?;
    let claimer = Claimer {
        sender: &sender,
        target,
        ledger: keys::manual_ledger(&target.name),
        marker: Marker::new(&lock(library).library_id()?),
    };
    let verb = match mode {
        Mode::Block => "block",
        Mode::Unblock => "unblock",
    };
    let run = keys::runs::one_off(verb, &target.name);
    by_hand(config, library, &claimer, &run, inputs, mode, now).await
}

/// Lifts blocks webhook trigger `trigger` made (its claims `<target>/hook:<name>`), now;
/// values the trigger did not block are refused and left alone.
pub async fn unblock_trigger(
    config: &Config,
    library: &Mutex<Library>,
    trigger: &str,
    inputs: &[String],
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let trigger = config
        .trigger(trigger)
        .ok_or_else(|| EngineError::UnknownTrigger(trigger.to_owned()))?;
    let target = config.target(&trigger.target)?;
    let response = trigger.action == config::Action::ResponseBlock;
    let sender = Sender::new(target, &trigger.product_id, response)?;
    let claimer = Claimer {
        sender: &sender,
        target,
        ledger: keys::trigger_ledger(&target.name, &trigger.name),
        marker: Marker::new(&lock(library).library_id()?),
    };
    let run = keys::runs::one_off("unblock", &target.name);
    by_hand(config, library, &claimer, &run, inputs, Mode::Unblock, now).await
}

/// `block`/`unblock` typed by a person: prepare, act, record the run.
async fn by_hand(
    config: &Config,
    library: &Mutex<Library>,
    claimer: &Claimer<'_>,
    run_name: &str,
    inputs: &[String],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let target = claimer.target;
    let mut report = OneOffReport {
        target: target.name.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
        failed: Vec::new(),
        halted: None,
        notes: Vec::new(),
    };
    let guard = blocking_guard(config)?;
    let mut items = Vec::new();
    let mut drops = Vec::new();
    for input in inputs {
        for prepared in prepare(input, &guard, claimer.sender, &target.name, now) {
            match prepared {
                Prepared::Ready(item) => items.push(item),
                Prepared::Refused(refused) => report.refused.push(refused),
                Prepared::Stopped(refused, drop) => {
                    report.refused.push(refused);
                    drops.push(drop);
                }
            }
        }
    }
    let run = {
        let mut library = lock(library);
        library.record_drops(&drops)?;
        crate::claims::join_space(&mut **library, &claimer.ledger, &claimer.space())?;
        Recorder::start(&mut **library, run_name, now)?
    };
    let extra = BTreeMap::new();
    let description = "blocked by hand";
    let request = Request {
        description,
        expiry_days: BLOCK_DAYS,
        lift_at: None,
        extra: &extra,
    };
    let (outcomes, halted, notes) = act(claimer, library, &items, mode, &request, now).await?;
    for (item, outcome) in items.into_iter().zip(outcomes) {
        match outcome {
            Acted::Done { kept_for, .. } => {
                if let Some(others) = kept_for.filter(|_| mode == Mode::Unblock) {
                    report
                        .notes
                        .push(format!("{}: still on the target for {others}", item.value));
                }
                report.applied.push(item.value);
            }
            Acted::Refused(reason) => report.refused.push(Refused {
                input: item.value,
                reason,
            }),
            Acted::Failed(message) => report.failed.push(Failure {
                kind: item.kind,
                value: item.value,
                message,
            }),
        }
    }
    report.halted = halted;
    report.notes.extend(notes);
    run.finish(&mut **lock(library), &report.record(), now)?;
    Ok(report)
}
