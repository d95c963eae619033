//! Plans: the desired state of a workflow's target (collection members in priority order →
//! guard → mapping → caps) compared with the ledger, as a value. `iocsync plan` prints it and
//! `iocsync run` sends exactly it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use guard::{Guard, Verdict};
use indicator::{Indicator, Kind};
use serde::{Deserialize, Serialize};
use store::{GuardDrop, IndicatorRecord, LedgerEntry};

use crate::config::{Action, Parameters, Workflow};
use crate::mapping::{self, Desired, V1Attributes};
use crate::packing::{self, PartWrite};

/// One value to send or remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    pub value: String,
    /// What is sent (Vision One) or where the item lives (Deep Security).
    pub attributes: serde_json::Value,
    /// Why this change is in the plan.
    pub reason: String,
}

/// A member that is not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub kind: Kind,
    pub value: String,
    pub reason: String,
}

/// Everything one run of a workflow would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub workflow: String,
    pub target: String,
    pub action: Action,
    /// The ledger name the changes are recorded under.
    pub ledger: String,
    pub at: DateTime<Utc>,
    pub adds: Vec<Change>,
    pub updates: Vec<Change>,
    pub removals: Vec<Change>,
    pub skips: Vec<Skip>,
    /// Changes left for later runs by `objects_per_run`.
    pub deferred: usize,
    /// Ledger entries for values no longer on the target that need no removal (`--verify`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forget: Vec<(Kind, String)>,
    /// Deep Security parts to write, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartWrite>,
    /// Values the guard stopped (recorded by `run`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<GuardDrop>,
}

impl Plan {
    /// How many changes the plan sends.
    pub fn changes(&self) -> usize {
        self.adds.len() + self.updates.len() + self.removals.len()
    }
}

/// What `--verify` read back from a Vision One list: value key and value → pushed attributes
/// as the target shows them (scan action, risk level).
pub type RemoteV1 = HashMap<(String, String), V1Attributes>;

/// Inputs of a plan besides the workflow.
pub struct PlanInput<'a> {
    pub members: &'a [IndicatorRecord],
    pub ledger: &'a [LedgerEntry],
    pub guard: &'a Guard,
    pub now: DateTime<Utc>,
    /// `run --manual` (Deep Security "clear IP list on manual run").
    pub manual: bool,
    /// Vision One list as read back by `--verify`.
    pub remote_v1: Option<&'a RemoteV1>,
    /// Deep Security part contents as read back by `--verify` (part index → items).
    pub remote_parts: Option<&'a HashMap<u32, Vec<String>>>,
}

/// Plans one run of `workflow`.
pub fn plan(workflow: &Workflow, input: &PlanInput<'_>) -> Plan {
    let mut plan = Plan {
        workflow: workflow.name.clone(),
        target: workflow.target.clone(),
        action: workflow.parameters.action(),
        ledger: workflow.ledger_key(),
        at: input.now,
        adds: Vec::new(),
        updates: Vec::new(),
        removals: Vec::new(),
        skips: Vec::new(),
        deferred: 0,
        forget: Vec::new(),
        parts: Vec::new(),
        drops: Vec::new(),
    };
    let allowed = guarded(workflow, input, &mut plan);
    match &workflow.parameters {
        Parameters::Blocklist(params) => {
            let desired = map_all(&allowed, &mut plan, |r| mapping::blocklist(r, params));
            let desired = cap(desired, |_| true, params.cap_per_type, &mut plan);
            diff_v1(desired, input, Some(params.renew_within), &mut plan);
            limit(params.objects_per_run, &mut plan);
        }
        Parameters::Exceptions(params) => {
            let desired = map_all(&allowed, &mut plan, |r| mapping::exceptions(r, params));
            let desired = cap(desired, |_| false, params.cap, &mut plan);
            diff_v1(desired, input, None, &mut plan);
            limit(params.objects_per_run, &mut plan);
        }
        Parameters::IpList(params) => packing::plan_ip_list(params, &allowed, input, &mut plan),
        Parameters::Http(params) => {
            let desired = map_all(&allowed, &mut plan, |r| Ok(vec![mapping::http(r)]));
            diff_v1(desired, input, None, &mut plan);
            limit(params.objects_per_run, &mut plan);
        }
        Parameters::XdrBlock(params) => {
            let desired = map_all(&allowed, &mut plan, |r| mapping::xdr(r, params));
            diff_v1(desired, input, None, &mut plan);
            limit(params.objects_per_run, &mut plan);
        }
    }
    plan
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
                plan.skips.push(Skip {
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

fn map_all(
    records: &[&IndicatorRecord],
    plan: &mut Plan,
    map: impl Fn(&IndicatorRecord) -> Result<Vec<Desired>, String>,
) -> Vec<Desired> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        match map(record) {
            Ok(items) => out.extend(
                items
                    .into_iter()
                    .filter(|d| seen.insert((d.attributes.key.clone(), d.value.clone()))),
            ),
            Err(reason) => plan.skips.push(Skip {
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
fn cap(
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
            plan.skips.push(Skip {
                kind: item.kind,
                value: item.value,
                reason: format!("over cap ({cap} objects)"),
            });
        }
    }
    kept
}

/// Vision One: adds, updates (attributes changed or expiry near) and removals.
fn diff_v1(
    desired: Vec<Desired>,
    input: &PlanInput<'_>,
    renew_within: Option<chrono::Duration>,
    plan: &mut Plan,
) {
    let mut pushed: HashMap<(Kind, &str), V1Attributes> = HashMap::new();
    for entry in input.ledger {
        let Ok(attributes) = serde_json::from_value::<V1Attributes>(entry.attributes.clone())
        else {
            // An entry this version cannot read is sent again, which rewrites it.
            continue;
        };
        if let Some(remote) = input.remote_v1 {
            match remote.get(&(attributes.key.clone(), entry.value.clone())) {
                None => {
                    plan.forget.push((entry.kind, entry.value.clone()));
                    continue;
                }
                Some(seen) => {
                    let mut seen_attributes = attributes.clone();
                    seen_attributes.scan_action = seen.scan_action.or(attributes.scan_action);
                    seen_attributes.risk_level = seen.risk_level.or(attributes.risk_level);
                    pushed.insert((entry.kind, entry.value.as_str()), seen_attributes);
                    continue;
                }
            }
        }
        pushed.insert((entry.kind, entry.value.as_str()), attributes);
    }
    let mut wanted = HashSet::new();
    for item in desired {
        wanted.insert((item.kind, item.value.clone()));
        let reason = match pushed.get(&(item.kind, item.value.as_str())) {
            None if plan.forget.contains(&(item.kind, item.value.clone())) => {
                "missing on the target".to_owned()
            }
            None => "new in the collection".to_owned(),
            Some(old) if !item.attributes.same_request(old) => "attributes changed".to_owned(),
            Some(old) if renew_within.is_some_and(|w| old.expires_within(input.now, w)) => {
                "expiry is near: renewed".to_owned()
            }
            Some(_) => continue,
        };
        let change = Change {
            kind: item.kind,
            value: item.value.clone(),
            attributes: serde_json::to_value(&item.attributes).unwrap_or_default(),
            reason,
        };
        if pushed.contains_key(&(item.kind, item.value.as_str())) {
            plan.updates.push(change);
        } else {
            plan.adds.push(change);
        }
    }
    let skipped: HashMap<(Kind, &str), &str> = plan
        .skips
        .iter()
        .map(|s| ((s.kind, s.value.as_str()), s.reason.as_str()))
        .collect();
    let mut removals = Vec::new();
    for entry in input.ledger {
        if wanted.contains(&(entry.kind, entry.value.clone()))
            || plan.forget.contains(&(entry.kind, entry.value.clone()))
        {
            continue;
        }
        let reason = match skipped.get(&(entry.kind, entry.value.as_str())) {
            Some(why) => format!("no longer sent: {why}"),
            None => "left the collection (expired, revoked or filtered out)".to_owned(),
        };
        removals.push(Change {
            kind: entry.kind,
            value: entry.value.clone(),
            attributes: entry.attributes.clone(),
            reason,
        });
    }
    plan.removals = removals;
}

/// At most `limit` changes per run: removals first (they make room), then adds and updates in
/// priority order; the rest wait for the next run.
pub(crate) fn limit(limit: Option<usize>, plan: &mut Plan) {
    let Some(mut room) = limit else { return };
    let before = plan.changes();
    for list in [&mut plan.removals, &mut plan.updates, &mut plan.adds] {
        list.truncate(room);
        room -= list.len();
    }
    plan.deferred = before - plan.changes();
}
