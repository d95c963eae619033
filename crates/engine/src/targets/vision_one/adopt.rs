//! Adopting a Vision One list: the objects carrying the marker that no claim knows become the
//! workflow's claims, as read back (see [`crate::adopt`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::{LedgerEntry, LibraryBackend};
use trendmicro::vision_one::VisionOneClient;

use super::{Kind as ListKind, mapping, readback};
use crate::adopt::AdoptReport;
use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::marker::{Maker, Marker};
use config::Workflow;

/// The objects of `list` that carry `marker` and no claim knows, as `workflow`'s claims.
pub async fn adopt(
    client: &VisionOneClient,
    list: ListKind,
    workflow: &Workflow,
    library: &dyn LibraryBackend,
    marker: &Marker,
    now: DateTime<Utc>,
    report: &mut AdoptReport,
) -> Result<Vec<LedgerEntry>, EngineError> {
    let remote = readback::whole_list(client, list, marker).await?;
    let claimed: HashSet<(Kind, String)> = library
        .space_claims(&workflow.space())?
        .into_iter()
        .map(|e| (e.kind, e.value))
        .collect();
    let mut entries = Vec::new();
    for ((key, value), object) in remote.objects {
        let Some(kind) = mapping::kind_of(&key, &value) else {
            continue;
        };
        if object.maker != Maker::ThisLibrary {
            report.left_alone += 1;
            continue;
        }
        if claimed.contains(&(kind, value.clone())) {
            report.already_claimed += 1;
            continue;
        }
        // As read back: a dated object's expiry is its date, so the next run's diff rewrites
        // it with the workflow's own expiry (and this library's marker).
        let mut attributes = object.attributes;
        attributes.adopted = true;
        entries.push(LedgerEntry {
            key: workflow.ledger_key(),
            space: workflow.space(),
            kind,
            value,
            attributes: serde_json::to_value(&attributes).unwrap_or_default(),
            remote_id: None,
            pushed_at: now,
        });
    }
    entries.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
    Ok(entries)
}
