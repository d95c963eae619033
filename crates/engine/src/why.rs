//! `iocsync why VALUE`: why a value is (or is not) blocked, answered in one place from the
//! library, the guard and the ledger — its canonical form; every source that listed it; the
//! collections it falls in, or the filters that keep it out; the guard's verdict; and per
//! workflow whether its target holds it, through which claims and since when, or why not
//! (cut by a cap, refused by the guard, held by the brake, a foreign object left alone, waiting
//! for `objects_per_run`), with when it expires. `--live` reads a Vision One target back to
//! confirm.

use std::fmt;

use chrono::{DateTime, Utc};
use guard::{GuardConfig, ListKind, Verdict};
use indicator::{Indicator, Kind};
use serde::Serialize;
use store::{IndicatorRecord, LibraryBackend, SourceVote};

use crate::error::EngineError;
use crate::keys::{Claimant, WorkflowKeys};
use crate::plan::Plan;
use crate::run::{RunOptions, plan_workflow};
use config::{Config, Workflow};

/// The answer for one input.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    pub input: String,
    /// What the input reads as (a defanged or free-text input may hold several).
    pub indicators: Vec<WhyIndicator>,
    /// Why the input is no indicator at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// Everything known about one indicator.
#[derive(Debug, Clone, Serialize)]
pub struct WhyIndicator {
    pub kind: Kind,
    /// The canonical value, as the library holds it.
    pub value: String,
    /// The library's record; `None` when no feed ever listed it.
    pub record: Option<IndicatorRecord>,
    pub sources: Vec<SourceVote>,
    pub collections: Vec<InCollection>,
    /// The guard's verdict on a blocklist and on an exception list.
    pub guard: GuardVerdicts,
    pub workflows: Vec<OnTarget>,
}

/// Whether the indicator is in one collection, and if not why.
#[derive(Debug, Clone, Serialize)]
pub struct InCollection {
    pub collection: String,
    pub member: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GuardVerdicts {
    pub blocklist: String,
    pub exceptions: String,
}

/// One workflow's view of the indicator.
#[derive(Debug, Clone, Serialize)]
pub struct OnTarget {
    pub workflow: String,
    pub target: String,
    /// In one phrase: "on the target", "to be added by the next run", "not sent: …".
    pub state: String,
    /// Every claim on it in the workflow's list, this workflow's and others'.
    pub claims: Vec<ClaimSeen>,
    /// What the target holds, when read back with `--live`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
}

/// One claim on the value.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimSeen {
    pub claimant: String,
    /// The value as the target holds it (Vision One URLs carry a scheme).
    pub value: String,
    pub since: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub attributes: serde_json::Value,
}

/// Explains `input` (refanged and parsed like any input) as of `now`.
pub async fn why(
    config: &Config,
    library: &dyn LibraryBackend,
    input: &str,
    now: DateTime<Utc>,
) -> Result<Why, EngineError> {
    let parsed = match indicator::parse(input) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Ok(Why {
                input: input.to_owned(),
                indicators: Vec::new(),
                unreadable: Some(error.to_string()),
            });
        }
    };
    let plans = plans(config, library, now).await?;
    let mut indicators = Vec::new();
    for found in parsed {
        indicators.push(explain(config, library, &plans, found, now)?);
    }
    Ok(Why {
        input: input.to_owned(),
        indicators,
        unreadable: None,
    })
}

/// Every workflow's plan as of `now` (offline: what a run would do).
async fn plans(
    config: &Config,
    library: &dyn LibraryBackend,
    now: DateTime<Utc>,
) -> Result<Vec<(Workflow, Result<Plan, String>)>, EngineError> {
    let options = RunOptions {
        now,
        manual: false,
        dry_run: true,
        verify: false,
        allow_removals: false,
        all_skips: true,
    };
    let mut plans = Vec::new();
    for workflow in &config.workflows {
        let plan = plan_workflow(config, library, &workflow.name, options)
            .await
            .map_err(|error| error.to_string());
        plans.push((workflow.clone(), plan));
    }
    Ok(plans)
}

fn explain(
    config: &Config,
    library: &dyn LibraryBackend,
    plans: &[(Workflow, Result<Plan, String>)],
    found: Indicator,
    now: DateTime<Utc>,
) -> Result<WhyIndicator, EngineError> {
    let record = library.indicator(found.kind, &found.value, now)?;
    let sources = library.votes(found.kind, &found.value)?;
    let collections = match &record {
        None => Vec::new(),
        Some(record) => collections(config, library, record, &sources, now)?,
    };
    let mut workflows = Vec::new();
    for (workflow, plan) in plans {
        let member = collections
            .iter()
            .any(|c| c.member && c.collection == workflow.collection);
        workflows.push(on_target(library, workflow, plan, &found, member)?);
    }
    Ok(WhyIndicator {
        guard: verdicts(config, &found)?,
        kind: found.kind,
        value: found.value,
        record,
        sources,
        collections,
        workflows,
    })
}

fn collections(
    config: &Config,
    library: &dyn LibraryBackend,
    record: &IndicatorRecord,
    votes: &[SourceVote],
    now: DateTime<Utc>,
) -> Result<Vec<InCollection>, EngineError> {
    let mut all = config.collections.clone();
    for stored in library.collections()? {
        if !all.iter().any(|c| c.name == stored.name) {
            all.push(stored);
        }
    }
    Ok(all
        .iter()
        .map(|collection| {
            let because = collection.exclusions(record, votes, now);
            InCollection {
                collection: collection.name.clone(),
                member: because.is_empty(),
                because,
            }
        })
        .collect())
}

fn verdicts(config: &Config, found: &Indicator) -> Result<GuardVerdicts, EngineError> {
    let verdict = |list: ListKind| -> Result<String, EngineError> {
        let guard = guard::Guard::new(&GuardConfig {
            list,
            ..config.guard.clone()
        })?;
        Ok(match guard.check(found) {
            Verdict::Allow => "allowed".to_owned(),
            Verdict::Stop { rule, reason } => format!("refused by {rule}: {reason}"),
        })
    };
    Ok(GuardVerdicts {
        blocklist: verdict(ListKind::Blocklist)?,
        exceptions: verdict(ListKind::ExceptionList)?,
    })
}

/// The values a workflow's target may hold for `found` (Vision One URLs with a scheme).
fn target_values(found: &Indicator) -> Vec<String> {
    if found.kind == Kind::Url && !found.value.contains("://") {
        vec![
            found.value.clone(),
            format!("http://{}", found.value),
            format!("https://{}", found.value),
        ]
    } else {
        vec![found.value.clone()]
    }
}

/// Whether a Deep Security item (an address or a network) covers the indicator's address.
fn on_target(
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    plan: &Result<Plan, String>,
    found: &Indicator,
    member: bool,
) -> Result<OnTarget, EngineError> {
    let values = target_values(found);
    let matches = |value: &str| crate::targets::holds(&workflow.parameters, value, found, &values);
    let claims: Vec<ClaimSeen> = library
        .space_claims(&workflow.space())?
        .into_iter()
        .filter(|entry| matches(&entry.value))
        .map(|entry| ClaimSeen {
            claimant: Claimant::of(&entry.key).map_or(entry.key.clone(), |c| c.describe()),
            value: entry.value,
            since: entry.pushed_at,
            expires_at: entry
                .attributes
                .get("expires_at")
                .and_then(|at| serde_json::from_value(at.clone()).ok()),
            attributes: entry.attributes,
        })
        .collect();
    let ours = claims
        .iter()
        .any(|c| c.claimant == Claimant::Workflow(&workflow.name).describe());
    let state = match plan {
        Err(error) => format!("cannot tell: the workflow cannot be planned ({error})"),
        Ok(plan) => state(plan, &matches)
            .unwrap_or_else(|| not_planned(plan, ours, unread(workflow, plan, found.kind, member))),
    };
    Ok(OnTarget {
        workflow: workflow.name.clone(),
        target: workflow.target.clone(),
        state,
        claims,
        live: None,
    })
}

/// The workflow's plan, read for one value: the change or skip it lists for it.
fn state(plan: &Plan, matches: &dyn Fn(&str) -> bool) -> Option<String> {
    let find = |changes: &[crate::plan::Change]| {
        changes
            .iter()
            .find(|c| matches(&c.value))
            .map(|c| c.reason.clone())
    };
    if let Some(why) = find(&plan.held) {
        return Some(format!(
            "on the target; its removal is held by the brake ({why})"
        ));
    }
    if let Some(why) = find(&plan.removals) {
        return Some(format!("on the target; the next run removes it ({why})"));
    }
    if let Some(why) = find(&plan.releases) {
        return Some(format!(
            "this workflow lets go of it at the next run; others keep it ({why})"
        ));
    }
    if let Some(why) = find(&plan.adds) {
        return Some(format!(
            "not on the target yet: the next run adds it ({why})"
        ));
    }
    if let Some(why) = find(&plan.updates).or_else(|| find(&plan.joins)) {
        return Some(format!("the next run writes it ({why})"));
    }
    plan.skips
        .iter()
        .find(|s| matches(&s.value))
        .map(|skip| format!("not sent: {}", skip.reason))
}

/// A member the plan did not read (a capped workflow reads only what can fill its cap).
fn unread(workflow: &Workflow, plan: &Plan, kind: Kind, member: bool) -> Option<String> {
    if !member {
        return None;
    }
    if let Err(reason) = crate::targets::takes(&workflow.parameters, kind) {
        return Some(format!("not sent: {reason}"));
    }
    let cap = crate::targets::cap(&workflow.parameters)?;
    plan.skipped_for("over cap").then(|| {
        format!(
            "not sent: over cap ({} objects): better-ranked members of its kind fill the cap",
            cap.objects
        )
    })
}

/// A value the plan has nothing to say about; `unread`: why it may not have been read.
fn not_planned(plan: &Plan, ours: bool, unread: Option<String>) -> String {
    if ours {
        "on the target, up to date".to_owned()
    } else if let Some(unread) = unread {
        if plan.deferred > 0 {
            format!("{unread} (or objects_per_run deferred it to a later run)")
        } else {
            unread
        }
    } else if plan.deferred > 0 {
        "not in this run's share: objects_per_run defers some changes to later runs".to_owned()
    } else {
        "not in the workflow's collection".to_owned()
    }
}

/// `--live`: what a Vision One target holds for each workflow's value, read back now.
pub async fn live(config: &Config, why: &mut Why) -> Result<(), EngineError> {
    for indicator in &mut why.indicators {
        let found = Indicator {
            kind: indicator.kind,
            value: indicator.value.clone(),
            display: None,
            scope: None,
            flags: Vec::new(),
        };
        for on in &mut indicator.workflows {
            let workflow = config.workflow(&on.workflow)?;
            on.live = Some(live_one(config, workflow, &found).await);
        }
    }
    Ok(())
}

async fn live_one(config: &Config, workflow: &Workflow, found: &Indicator) -> String {
    let Ok(target) = config.target(&workflow.target) else {
        return "no such target".to_owned();
    };
    let list = match crate::targets::live_list(&workflow.parameters) {
        Ok(list) => list,
        Err(why) => return why.to_owned(),
    };
    let Some(key) = crate::targets::vision_one::mapping::v1_key(found.kind) else {
        return "not read: Vision One takes no such kind".to_owned();
    };
    let connection = match crate::targets::Connection::open(target, workflow) {
        Ok(connection) => connection,
        Err(error) => return format!("cannot read: {error}"),
    };
    let Some(client) = connection.vision_one() else {
        return "not read: only Vision One lists can be read back".to_owned();
    };
    let values = target_values(found);
    let terms = values.iter().map(|v| (key, v.as_str()));
    let mut seen = Vec::new();
    for filter in crate::targets::vision_one::readback::filters_for(terms) {
        let listed = if list == crate::targets::vision_one::Kind::Exceptions {
            client.list_exceptions(Some(&filter)).await.map(|items| {
                items
                    .into_iter()
                    .map(|i| format!("{}: {}", i.value.value(), i.description.unwrap_or_default()))
                    .collect::<Vec<_>>()
            })
        } else {
            client.list_suspicious(Some(&filter)).await.map(|items| {
                items
                    .into_iter()
                    .map(|i| {
                        format!(
                            "{}: {:?}/{:?}, expires {}, {}",
                            i.value.value(),
                            i.scan_action,
                            i.risk_level,
                            i.expires
                                .map_or_else(|| "never".to_owned(), |at| at.to_string()),
                            i.description.unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
            })
        };
        match listed {
            Ok(items) => seen.extend(items),
            Err(error) => return format!("cannot read: {error}"),
        }
    }
    if seen.is_empty() {
        "not on the target".to_owned()
    } else {
        format!("on the target: {}", seen.join("; "))
    }
}

/// The answer as lines of text: what `iocsync why` prints and the status page shows.
impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = self;
        if let Some(reason) = &why.unreadable {
            writeln!(f, "{}: not an indicator: {reason}", why.input)?;
            return Ok(());
        }
        for indicator in &why.indicators {
            writeln!(f, "{} {}", indicator.kind, indicator.value)?;
            match &indicator.record {
                None => writeln!(f, "  library: no feed ever listed it"),
                Some(record) => writeln!(
                    f,
                    "  library: {}, score {}, first seen {}, last seen {}{}",
                    record.status,
                    record
                        .score
                        .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                    record.first_seen.format("%Y-%m-%d %H:%M UTC"),
                    record.last_seen.format("%Y-%m-%d %H:%M UTC"),
                    record
                        .valid_until
                        .map(|at| format!(", valid until {}", at.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                ),
            }?;
            for vote in &indicator.sources {
                writeln!(
                    f,
                    "  source {}: score {}, {}, last listed {}{}",
                    vote.source,
                    vote.score
                        .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                    if vote.revoked { "withdrawn" } else { "listed" },
                    vote.last_seen.format("%Y-%m-%d %H:%M UTC"),
                    vote.reported_at
                        .map(|at| format!(
                            ", the source's date {}",
                            at.format("%Y-%m-%d %H:%M UTC")
                        ))
                        .unwrap_or_default()
                )?;
            }
            for collection in &indicator.collections {
                if collection.member {
                    writeln!(f, "  collection {}: member", collection.collection)?;
                } else {
                    writeln!(
                        f,
                        "  collection {}: not a member: {}",
                        collection.collection,
                        collection.because.join("; ")
                    )?;
                }
            }
            writeln!(
                f,
                "  guard: blocklist {}; exception list {}",
                indicator.guard.blocklist, indicator.guard.exceptions
            )?;
            for on in &indicator.workflows {
                writeln!(
                    f,
                    "  workflow {} → {}: {}",
                    on.workflow, on.target, on.state
                )?;
                for claim in &on.claims {
                    writeln!(
                        f,
                        "    claimed by {} since {}{}",
                        claim.claimant,
                        claim.since.format("%Y-%m-%d %H:%M UTC"),
                        claim
                            .expires_at
                            .map(|at| format!(", expires {}", at.format("%Y-%m-%d %H:%M UTC")))
                            .unwrap_or_default()
                    )?;
                }
                if let Some(live) = &on.live {
                    writeln!(f, "    live: {live}")?;
                }
            }
        }
        Ok(())
    }
}
