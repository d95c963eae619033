//! The unchanged run: a workflow whose inputs are all as its last complete run left them is
//! recorded as `unchanged` in milliseconds, without reading its collection, its ledger or its
//! target.
//!
//! A plan is a function of the collection's members, the claims in the workflow's space, the
//! configuration and the time. So a run may skip the work when
//! - the library's change counter equals the one read before the last complete run read the
//!   collection (no merge, pull, withdrawal, status refresh or collection edit since);
//! - the digest of the workflow, its target, its collection's definition, the guard settings,
//!   the library's identity, iocsync's version and the ledger counters of every claimant in the
//!   space equals the one remembered (other claimants as the last run found them before it
//!   read the ledger; this workflow's own as that run left them);
//! - the time has not reached `next_due`: the first instant a member leaves the collection by
//!   time alone (its validity ends, or it falls out of `seen_within`) or a claim of this
//!   workflow needs renewing (or expires, for targets that do not renew).
//!
//! Conservative by design; a full run is always correct, a skipped one only when it is sure:
//! runs with `--verify`, `--manual` or `--dry-run` are never skipped, nor workflows whose guard
//! reads warninglist files (their contents are not in the digest) or whose collection admits
//! expired indicators (time alone brings members in). Only a run that succeeded whole, with
//! nothing deferred and nothing skipped because of what the target held (the target may
//! change without the library knowing), is remembered; any other forgets the last one.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

use indicator::Kind;
use serde::Deserialize;
use store::{
    Collection, IndicatorRecord, LedgerEntry, LibraryBackend, RunStatus, Status, WorkflowState,
};

use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::mapping::ObjectAttributes;
use crate::plan::{Attributes, Plan};
use crate::report::RunReport;
use crate::run::RunOptions;
use config::{Config, Workflow};

/// What a full run read before the collection, kept to be remembered if the run completes.
pub(crate) struct Before {
    counter: u64,
    inputs: [u8; 32],
    /// The ledger counters of the other claimants in the space.
    others: Vec<(String, u64)>,
}

/// Whether a run may be skipped.
pub(crate) enum Check {
    /// Nothing changed since the last complete run.
    Unchanged,
    /// Run in full; with `Some`, remember the run if it completes.
    Full(Option<Before>),
}

/// Decides whether the run of `workflow` (whose collection is `collection`) can be skipped.
pub(crate) fn check(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    collection: &Collection,
    options: &RunOptions,
) -> Result<Check, EngineError> {
    if options.dry_run
        || options.verify
        || options.manual
        || !config.guard.warninglists.is_empty()
        || collection.status.contains(&Status::Expired)
    {
        return Ok(Check::Full(None));
    }
    // Read first: a change committed after this point makes the next run a full one.
    let counter = library.change_counter()?;
    let inputs = inputs_digest(config, library, workflow, collection)?;
    let (own, others) = ledger_counters(library, workflow)?;
    let before = Before {
        counter,
        inputs,
        others,
    };
    let Some(last) = library.workflow_state(&workflow.name)? else {
        return Ok(Check::Full(Some(before)));
    };
    let unchanged = last.counter == before.counter
        && last.digest == digest(&before, own)
        && last.next_due.is_none_or(|due| options.now < due);
    Ok(if unchanged {
        Check::Unchanged
    } else {
        Check::Full(Some(before))
    })
}

/// After a full run: remembers it when it completed, forgets the last one otherwise.
/// `ledger` is this workflow's claims as the run read them before planning.
pub(crate) fn settle(
    library: &mut dyn LibraryBackend,
    workflow: &Workflow,
    before: Before,
    members_due: Option<DateTime<Utc>>,
    ledger: &[LedgerEntry],
    report: &RunReport,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let complete = report.status() == RunStatus::Succeeded
        && report.halted.is_none()
        && report.deferred == 0
        // plan.rs's skips for values something else holds on the target: a later look-up
        // may find the target changed, which no counter tells.
        && !report.plan.skipped_for("already on the target");
    if !complete {
        library.forget_workflow_state(&workflow.name)?;
        return Ok(());
    }
    // The run's own ledger writes are part of the state it leaves, not a change after it.
    let (own, _) = ledger_counters(&*library, workflow)?;
    let next_due = next_due(workflow, members_due, ledger, &report.plan, now);
    library.set_workflow_state(
        &workflow.name,
        &WorkflowState {
            counter: before.counter,
            digest: digest(&before, own),
            next_due,
            completed_at: now,
        },
    )?;
    Ok(())
}

/// The report of a skipped run: nothing planned, the count `unchanged: 1`.
pub(crate) fn report(workflow: &Workflow, now: DateTime<Utc>) -> RunReport {
    let mut plan = Plan::empty(workflow, now);
    plan.notes
        .push("unchanged since the last complete run: nothing read, nothing sent".to_owned());
    let mut report = RunReport::new(plan, false);
    report.unchanged = 1;
    report
}

/// This workflow's ledger counter in its space, and every other claimant's.
fn ledger_counters(
    library: &dyn LibraryBackend,
    workflow: &Workflow,
) -> Result<(u64, Vec<(String, u64)>), EngineError> {
    let key = workflow.ledger_key();
    let mut own = 0;
    let mut others = Vec::new();
    for (claimant, counter) in library.ledger_changes(&workflow.space())? {
        if claimant == key {
            own = counter;
        } else {
            others.push((claimant, counter));
        }
    }
    Ok((own, others))
}

/// A SHA-256 of everything configured that the plan depends on. `Debug` forms are stable
/// within one iocsync version (no hash maps in them), and the version is part of the digest.
fn inputs_digest(
    config: &Config,
    library: &dyn LibraryBackend,
    workflow: &Workflow,
    collection: &Collection,
) -> Result<[u8; 32], EngineError> {
    let target = config.target(&workflow.target)?;
    let mut hash = Sha256::new();
    for part in [
        env!("CARGO_PKG_VERSION").to_owned(),
        library.library_id()?,
        format!("{workflow:?}"),
        format!("{target:?}"),
        format!("{collection:?}"),
        format!("{:?}", config.guard),
    ] {
        // Length-prefixed, so no two different sequences of parts hash alike.
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    Ok(hash.finalize().into())
}

/// The remembered digest: the configured inputs, the other claimants' counters, our own.
fn digest(before: &Before, own: u64) -> String {
    let mut hash = Sha256::new();
    hash.update(before.inputs);
    for (claimant, counter) in &before.others {
        hash.update((claimant.len() as u64).to_le_bytes());
        hash.update(claimant.as_bytes());
        hash.update(counter.to_le_bytes());
    }
    hash.update(own.to_le_bytes());
    let bytes = hash.finalize();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The first instant after which the members read could change with no change counted: an
/// active member's validity ending, or its last sighting leaving the collection's window.
/// Taken before the run, so the members need not be kept while it applies. (A capped read's
/// unread members cannot enter the members kept by time alone.)
pub(crate) fn members_due(
    collection: &Collection,
    members: &[IndicatorRecord],
) -> Option<DateTime<Utc>> {
    let tick = Duration::milliseconds(1);
    let window = collection
        .seen_within
        .map(|w| Duration::from_std(w.0).unwrap_or(Duration::MAX));
    members
        .iter()
        .flat_map(|member| {
            // An active member's validity ending makes it expired: it leaves (the collection
            // admits no expired ones, or `check` would not have let the run be remembered).
            let expires = (member.status == Status::Active)
                .then_some(member.valid_until)
                .flatten();
            let leaves = window.and_then(|w| member.last_seen.checked_add_signed(w));
            [expires, leaves].into_iter().flatten().map(|at| at + tick)
        })
        .min()
}

/// The first instant after which a full run could plan differently with no change counted:
/// the members' (see [`members_due`]) or a claim's expiry or renewal. The claims are those a
/// complete run leaves: the ledger it read, with the values its plan changed replaced by what
/// the plan set (a removed claim may count too: that only makes the next full run come sooner).
/// Known without reading the ledger again, which for a large workflow cost as much as planning.
fn next_due(
    workflow: &Workflow,
    members_due: Option<DateTime<Utc>>,
    ledger: &[LedgerEntry],
    plan: &Plan,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let sets = [&plan.adds, &plan.updates, &plan.joins];
    let changed: HashSet<(Kind, &str)> = sets
        .into_iter()
        .flatten()
        .map(|change| (change.kind, change.value.as_str()))
        .collect();
    let kept = ledger
        .iter()
        .filter(|claim| !changed.contains(&(claim.kind, claim.value.as_str())))
        .map(|claim| &claim.attributes);
    let renew_within = crate::targets::renew_within(&workflow.parameters);
    let set = sets
        .into_iter()
        .flatten()
        .filter_map(|change| match &change.attributes {
            Attributes::Object(attributes) => object_due(attributes, renew_within),
            Attributes::Json(attributes) => claim_due(attributes, renew_within, now),
        });
    let claims_due = kept
        .filter_map(|attributes| claim_due(attributes, renew_within, now))
        .chain(set)
        .min();
    let due = [members_due, claims_due].into_iter().flatten().min();
    // Something already due (an expiry the run could not act on) leaves nothing to rely on.
    match due {
        Some(at) if at <= now => Some(now),
        other => other,
    }
}

/// When one claim must be looked at again: its renewal or its expiry.
fn claim_due(
    attributes: &serde_json::Value,
    renew_within: Option<Duration>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // Neither a per-object claim without an expiry nor a Deep Security item has the field.
    attributes.get("expires_at")?;
    match ObjectAttributes::deserialize(attributes) {
        Ok(attributes) => object_due(&attributes, renew_within),
        // An expiry this version cannot read: look again at once.
        Err(_) => Some(now),
    }
}

/// [`claim_due`] of a claim the plan made.
fn object_due(
    attributes: &ObjectAttributes,
    renew_within: Option<Duration>,
) -> Option<DateTime<Utc>> {
    let expires_at = attributes.expires_at?;
    // A number of days is renewed ahead of its end; a date is the end the source asked for,
    // and the member leaves then anyway.
    Some(match renew_within {
        Some(window) if attributes.renewable() => expires_at - window,
        _ => expires_at,
    })
}
