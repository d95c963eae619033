//! Plans: the desired state of a workflow's target (collection members in priority order →
//! guard → mapping → caps → the target's budget) compared with the claims in the ledger, as a
//! value. `iocsync plan` prints it and `iocsync run` sends exactly it (re-deciding each object
//! against the claims as they are when its batch goes, see [`crate::claims`]).
//!
//! A plan's lists say what happens to the workflow's *claims* and, through them, to the
//! target: `adds` create objects, `updates` rewrite them, `joins` record a claim on an object
//! that already is as wanted (another claimant holds it), `removals` delete objects whose last
//! claim goes, `releases` drop this workflow's claim on objects others still hold. What the
//! removal brake stopped is in `held`, not sent until a person runs with `--allow-removals`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use guard::Verdict;
use indicator::{Indicator, Kind};
use store::{GuardDrop, IndicatorRecord, LedgerEntry};

use crate::budget;
use crate::claims::{self, Holders, Write};
use crate::mapping::{self, Desired, ObjectAttributes};
use crate::marker::Maker;
use crate::targets;
use config::Workflow;

mod model;

pub use model::{
    Attributes, Change, Plan, PlanInput, Remote, RemoteObject, SKIP_SAMPLE, Seen, Skip, Unread,
};

/// Plans one run of `workflow`.
pub fn plan(workflow: &Workflow, input: &PlanInput<'_>) -> Plan {
    let mut plan = Plan::empty(workflow, input.now);
    plan.all_skips = input.all_skips;
    plan.claimed = input
        .ledger
        .iter()
        .map(|e| model::claim_hash(e.kind, &e.value))
        .collect();
    for (reason, count) in &input.unread.counts {
        plan.skip_unlisted(reason, *count);
    }
    let allowed = guarded(workflow, input, &mut plan);
    let describe = &mapping::Describer {
        marker: input.marker,
        template: workflow.description.as_ref(),
    };
    let Some(targets::Wanted {
        desired,
        renew_within,
        objects_per_run,
    }) = targets::wanted(workflow, &allowed, input, describe, &mut plan)
    else {
        return plan;
    };
    let objects = claims::by_object(
        &plan.ledger,
        input.space.iter().chain(own_only(input)),
        &key_of_claim(workflow),
    );
    let desired = match input.capacity {
        Some(capacity) => budget::fit(desired, &objects, capacity, input.remote, &mut plan),
        None => desired,
    };
    diff(workflow, desired, &objects, input, renew_within, &mut plan);
    brake(workflow, input, &mut plan);
    limit(objects_per_run, &mut plan);
    plan
}

/// The workflow's own claims when the caller gave no space (they are part of it).
fn own_only<'a>(input: &PlanInput<'a>) -> impl Iterator<Item = &'a LedgerEntry> {
    let given = !input.space.is_empty();
    input.ledger.iter().filter(move |_| !given)
}

/// How a claim without a value key (older one-off blocks) gets one on this workflow's list.
fn key_of_claim(workflow: &Workflow) -> impl Fn(Kind) -> Option<String> {
    move |kind| crate::targets::key_of(&workflow.parameters, kind)
}

/// The members the guard lets through, in order; the others become skips and drops.
fn guarded<'a>(
    workflow: &Workflow,
    input: &PlanInput<'a>,
    plan: &mut Plan,
) -> Vec<&'a IndicatorRecord> {
    let mut allowed = Vec::with_capacity(input.members.len());
    for record in input.members {
        match input.guard.check(&as_indicator(record)) {
            Verdict::Allow => allowed.push(record),
            Verdict::Stop { rule, reason } => {
                plan.skip(Skip {
                    kind: record.kind,
                    value: record.value.clone(),
                    reason: format!("guard {rule}: {reason}"),
                });
                plan.drops.push(GuardDrop {
                    kind: record.kind,
                    value: record.value.clone(),
                    target: Some(workflow.target.clone()),
                    rule,
                    reason,
                    at: input.now,
                });
            }
        }
    }
    allowed
}

/// The library's canonical value parsed again, so the guard sees its scope and flags.
pub fn as_indicator(record: &IndicatorRecord) -> Indicator {
    indicator::parse_as(record.kind, &record.value)
        .ok()
        .and_then(|parsed| parsed.into_iter().find(|i| i.value == record.value))
        .unwrap_or(Indicator {
            kind: record.kind,
            value: record.value.clone(),
            display: record.display.clone(),
            scope: None,
            flags: Vec::new(),
        })
}

pub(crate) fn map_all(
    records: &[&IndicatorRecord],
    plan: &mut Plan,
    map: impl Fn(&IndicatorRecord) -> Result<Vec<Desired>, String>,
) -> Vec<Desired> {
    let mut seen = HashSet::with_capacity(records.len());
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        match map(record) {
            Ok(items) => out.extend(
                items
                    .into_iter()
                    .filter(|d| seen.insert((d.attributes.key.clone(), d.value.clone()))),
            ),
            Err(reason) => plan.skip(Skip {
                kind: record.kind,
                value: record.value.clone(),
                reason,
            }),
        }
    }
    out
}

/// Keeps the first `cap` objects (per value key when `per_type`), in priority order; the
/// rest are skipped "over cap" rather than left to the product's own eviction.
pub(crate) fn cap(
    desired: Vec<Desired>,
    per_type: impl Fn(&Desired) -> bool,
    cap: usize,
    plan: &mut Plan,
) -> Vec<Desired> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(desired.len());
    for item in desired {
        let bucket = if per_type(&item) {
            item.attributes.key.clone()
        } else {
            String::new()
        };
        let count = counts.entry(bucket).or_default();
        if *count < cap {
            *count += 1;
            kept.push(item);
        } else {
            plan.skip(Skip {
                kind: item.kind,
                value: item.value,
                reason: format!("over cap ({cap} objects)"),
            });
        }
    }
    kept
}

/// The claim changes of a per-object workflow and what each does to the target.
fn diff(
    workflow: &Workflow,
    desired: Vec<Desired>,
    objects: &HashMap<(Kind, String), Holders>,
    input: &PlanInput<'_>,
    renew_within: Option<chrono::Duration>,
    plan: &mut Plan,
) {
    let mut wanted = HashSet::with_capacity(desired.len());
    let mut unchecked = 0;
    let unclaimed_value = Holders::default();
    for (rank, item) in desired.into_iter().enumerate() {
        let id = (item.kind, item.value.clone());
        let holders = objects.get(&id).unwrap_or(&unclaimed_value);
        wanted.insert(id);
        let remote = input.remote.and_then(|r| {
            r.objects
                .get(&(item.attributes.key.clone(), item.value.clone()))
        });
        let mut want = item.attributes.pushed_at(input.now);
        want.rank = u32::try_from(rank).ok();
        let unclaimed = holders.own.is_none() && !holders.held_by_others();
        let (seen, first_reason) = if unclaimed {
            match first_claim(workflow, remote, &mut want, &item) {
                Ok(found) => found,
                Err(skip) => {
                    plan.skip(skip);
                    continue;
                }
            }
        } else {
            (verified(input, remote, holders), None)
        };
        if unclaimed && input.remote.is_none() {
            unchecked += 1;
        }
        let Some(reason) = claim_reason(
            holders,
            &want,
            seen.as_ref(),
            first_reason,
            renew_within,
            input.now,
        ) else {
            continue;
        };
        let write = claims::decide(holders, Some(&want), Seen::found(seen.as_ref()));
        let reason = with_holders(reason, holders, &write);
        let change = Change {
            kind: item.kind,
            value: item.value.clone(),
            attributes: want.into(),
            reason,
            seen,
        };
        match write {
            Write::Create(_) => plan.adds.push(change),
            Write::Update(_) => plan.updates.push(change),
            Write::Nothing | Write::Delete => plan.joins.push(change),
        }
    }
    if unchecked > 0 && !plan.adds.is_empty() {
        plan.notes
            .push(format!("{} {NOT_LOOKED_UP}", plan.adds.len()));
    }
    drop_unwanted(objects, &wanted, input, plan);
    if let Some(remote) = input.remote.filter(|r| r.complete) {
        unclaimed_on_target(workflow, remote, objects, &wanted, input, plan);
        restore_others(objects, remote, plan);
    }
}

/// How a value nobody claims yet comes in: new, an orphan of this library taken back, a
/// foreign object adopted (`adopt_existing`), or a skip when something not ours is there.
fn first_claim(
    workflow: &Workflow,
    remote: Option<&RemoteObject>,
    want: &mut ObjectAttributes,
    item: &Desired,
) -> Result<(Option<Seen>, Option<String>), Skip> {
    let Some(found) = remote else {
        return Ok((None, None));
    };
    let seen = Some(Seen::Unclaimed(Box::new(found.attributes.clone())));
    match &found.maker {
        Maker::ThisLibrary => Ok((
            seen,
            Some("an orphan of this library (no ledger knew it): taken back".to_owned()),
        )),
        maker if workflow.adopt_existing => {
            want.adopted = true;
            Ok((
                seen,
                Some(format!(
                    "already on the target (made by {}): adopted (adopt_existing)",
                    maker.describe()
                )),
            ))
        }
        Maker::Foreign => Err(Skip {
            kind: item.kind,
            value: item.value.clone(),
            reason: "already on the target, not created by iocsync: left as it is".to_owned(),
        }),
        other => Err(Skip {
            kind: item.kind,
            value: item.value.clone(),
            reason: format!(
                "already on the target, created by {}: left as it is (`iocsync adopt` takes such objects over)",
                other.describe()
            ),
        }),
    }
}

/// What `--verify` found for an object that has claims: gone, changed, or as claimed.
fn verified(
    input: &PlanInput<'_>,
    remote: Option<&RemoteObject>,
    holders: &Holders,
) -> Option<Seen> {
    let complete = input.remote.is_some_and(|r| r.complete);
    match remote {
        None if complete => Some(Seen::Missing),
        None => None,
        Some(found) => {
            let expected = holders
                .own
                .iter()
                .map(|a| ("", a))
                .chain(holders.others.iter().map(|(k, a)| (k.as_str(), a)));
            let expected = claims::strongest(expected)?;
            drifted(&expected, &found.attributes, input.now).then_some(Seen::Drifted)
        }
    }
}

/// Whether the target's object differs from what its claims asked for in a way worth a write:
/// another action or risk, the description (and so the marker) changed, or an expiry more
/// than a day earlier than asked (shortened in the console).
fn drifted(expected: &ObjectAttributes, found: &ObjectAttributes, now: DateTime<Utc>) -> bool {
    fn differs<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
        a.is_some() && b.is_some() && a != b
    }
    if differs(expected.scan_action, found.scan_action)
        || differs(expected.risk_level, found.risk_level)
    {
        return true;
    }
    if !found.description.is_empty() && found.description != expected.description {
        return true;
    }
    let day = chrono::Duration::days(1);
    match (expected.expiry, expected.expires_at, found.expires_at) {
        (Some(mapping::ExpiryIntent::Never), _, Some(at)) => {
            at < now + chrono::Duration::days(3650)
        }
        (_, Some(want), Some(at)) => at + day < want && at > now - day,
        _ => false,
    }
}

/// Why the claim changes, or `None` when it does not.
fn claim_reason(
    holders: &Holders,
    want: &ObjectAttributes,
    seen: Option<&Seen>,
    first: Option<String>,
    renew_within: Option<chrono::Duration>,
    now: DateTime<Utc>,
) -> Option<String> {
    let repair = match seen {
        Some(Seen::Missing) => Some("missing on the target: added back".to_owned()),
        Some(Seen::Drifted) => Some("changed on the target: written again".to_owned()),
        _ => None,
    };
    Some(match &holders.own {
        None => first
            .or(repair)
            .unwrap_or_else(|| "new in the collection".to_owned()),
        Some(old) if !want.same_request(old) => "attributes changed".to_owned(),
        Some(old)
            if old.renewable() && renew_within.is_some_and(|w| old.expires_within(now, w)) =>
        {
            "expiry is near: renewed".to_owned()
        }
        Some(_) => repair?,
    })
}

/// The reason, with who else holds the object when that decides the write.
fn with_holders(reason: String, holders: &Holders, write: &Write) -> String {
    if !holders.held_by_others() {
        return reason;
    }
    let others = holders.describe_others();
    match write {
        Write::Nothing => format!("{reason}; already on the target through {others}"),
        Write::Update(_) => format!("{reason}; also held by {others}"),
        _ => reason,
    }
}

/// This workflow's claims on values it no longer wants: removals, or releases where another
/// claimant keeps the object.
fn drop_unwanted(
    objects: &HashMap<(Kind, String), Holders>,
    wanted: &HashSet<(Kind, String)>,
    input: &PlanInput<'_>,
    plan: &mut Plan,
) {
    let complete = input.remote.filter(|r| r.complete);
    let mut removals = Vec::new();
    let mut releases = Vec::new();
    for entry in input.ledger {
        if wanted.contains(&(entry.kind, entry.value.clone())) {
            continue;
        }
        let Some(holders) = objects.get(&(entry.kind, entry.value.clone())) else {
            continue;
        };
        let key = holders
            .own
            .as_ref()
            .map(|a| a.key.clone())
            .unwrap_or_default();
        let seen = complete.and_then(|r| {
            (!r.objects.contains_key(&(key, entry.value.clone()))).then_some(Seen::Missing)
        });
        let claimed = (entry.kind, entry.value.clone());
        let why = plan
            .claimed_skips
            .get(&claimed)
            .or_else(|| input.unread.claims.get(&claimed));
        let mut reason = match why {
            Some(why) => format!("no longer sent: {why}"),
            None => "left the collection (expired, revoked or filtered out)".to_owned(),
        };
        let write = claims::decide(holders, None, Seen::found(seen.as_ref()));
        if holders.held_by_others() {
            reason = format!(
                "{reason}; kept on the target for {}",
                holders.describe_others()
            );
        } else if seen.is_some() {
            reason = format!("{reason}; already gone from the target");
        }
        let change = Change {
            kind: entry.kind,
            value: entry.value.clone(),
            attributes: entry.attributes.clone().into(),
            reason,
            seen,
        };
        match write {
            Write::Delete => removals.push(change),
            _ => releases.push(change),
        }
    }
    plan.removals = removals;
    plan.releases = releases;
}

/// Objects on the target no claim knows (`--verify` read the whole list): orphans of this
/// library the collection does not want are removed (within the brake); the rest are noted.
fn unclaimed_on_target(
    workflow: &Workflow,
    remote: &Remote,
    objects: &HashMap<(Kind, String), Holders>,
    wanted: &HashSet<(Kind, String)>,
    input: &PlanInput<'_>,
    plan: &mut Plan,
) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut left_to_others = 0;
    let mut orphans: Vec<(&(String, String), &RemoteObject)> = remote.objects.iter().collect();
    orphans.sort_by(|a, b| a.0.cmp(b.0));
    for ((key, value), found) in orphans {
        let Some(kind) = targets::vision_one::mapping::kind_of(key, value) else {
            continue;
        };
        let id = (kind, value.clone());
        if objects.contains_key(&id) || wanted.contains(&id) {
            continue;
        }
        match &found.maker {
            Maker::ThisLibrary if input.wanted_elsewhere.is_none_or(|w| w.contains(&id)) => {
                left_to_others += 1;
            }
            Maker::ThisLibrary => plan.removals.push(Change {
                kind,
                value: value.clone(),
                attributes: found.attributes.clone().into(),
                reason: "an orphan of this library (no ledger knows it) that the collection does not want".to_owned(),
                seen: Some(Seen::Unclaimed(Box::new(found.attributes.clone()))),
            }),
            maker => *counts.entry(maker.describe()).or_default() += 1,
        }
    }
    if left_to_others > 0 {
        plan.notes.push(format!(
            "{left_to_others} orphans of this library may be wanted by other workflows on this list: left for them"
        ));
    }
    for (maker, count) in counts {
        let hint = if maker == Maker::Foreign.describe() {
            "left alone".to_owned()
        } else {
            format!(
                "left alone (`iocsync adopt {}` takes them over)",
                workflow.name
            )
        };
        plan.notes.push(format!(
            "{count} objects on the list made by {maker} and claimed by nobody: {hint}"
        ));
    }
}

/// Objects other claimants hold that `--verify` found gone: added back for them.
fn restore_others(objects: &HashMap<(Kind, String), Holders>, remote: &Remote, plan: &mut Plan) {
    let mut missing: Vec<(&(Kind, String), &Holders)> = objects
        .iter()
        .filter(|(_, h)| h.own.is_none() && h.held_by_others())
        .filter(|((_, value), h)| {
            let key = h
                .others
                .first()
                .map(|(_, a)| a.key.clone())
                .unwrap_or_default();
            !remote.objects.contains_key(&(key, value.clone()))
        })
        .collect();
    missing.sort_by(|a, b| a.0.cmp(b.0));
    for ((kind, value), holders) in missing {
        plan.restores.push(Change {
            kind: *kind,
            value: value.clone(),
            attributes: serde_json::Value::Null.into(),
            reason: format!(
                "held by {} but gone from the target: added back",
                holders.describe_others()
            ),
            seen: Some(Seen::Missing),
        });
    }
}

/// The removal brake: removals and releases past the workflow's `max_removals` (or every
/// object it holds) wait in `held` unless this run may remove them.
fn brake(workflow: &Workflow, input: &PlanInput<'_>, plan: &mut Plan) {
    let removing = plan.removals.len() + plan.releases.len();
    if input.allow_removals {
        return;
    }
    if let Some(why) = workflow.max_removals.holds(removing, input.ledger.len()) {
        plan.held.append(&mut plan.removals);
        plan.held.append(&mut plan.releases);
        plan.brake = Some(why);
    }
}

/// The note of a plan whose adds were not looked up on the target (after their count).
const NOT_LOOKED_UP: &str = "new values were not yet looked up on the target: `run` first checks that none is already there as an object iocsync did not create (`plan --verify` reads the target now)";

/// `plan` once a look-up of its adds found none of them on the target: the plan made with
/// that look-up would be the same but for the note that it was not made (a look-up that found
/// nothing changes no decision, and only a complete read feeds the budget), so the run need
/// not plan a second time.
pub fn looked_up_nothing(mut plan: Plan) -> Plan {
    plan.notes.retain(|note| !note.ends_with(NOT_LOOKED_UP));
    plan
}

/// At most `limit` changes per run: removals first (they make room), then adds and updates in
/// priority order; the rest wait for the next run.
pub(crate) fn limit(limit: Option<usize>, plan: &mut Plan) {
    let Some(mut room) = limit else { return };
    let before = plan.changes();
    for list in [
        &mut plan.removals,
        &mut plan.releases,
        &mut plan.restores,
        &mut plan.updates,
        &mut plan.joins,
        &mut plan.adds,
    ] {
        list.truncate(room);
        room -= list.len();
    }
    plan.deferred = before - plan.changes();
}
