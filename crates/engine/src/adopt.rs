//! `iocsync adopt WORKFLOW`: rebuilds a lost ledger from the target. The objects on the
//! workflow's list that carry this library's marker (or, with `--from-library`, the marker of
//! the library that was lost) and that no claim knows are recorded as the workflow's claims,
//! without a write; the next run then treats them as its own — keeping what the collection
//! wants (rewritten with this library's marker) and removing the rest within the brake.
//! Objects without a marker, or with another library's, are left alone.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use indicator::Kind;
use serde::Serialize;
use store::{LedgerEntry, LibraryBackend};
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::vision_one::VisionOneClient;

use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::marker::{Maker, Marker};
use crate::targets::deep_security::packing::part_name;
use crate::targets::vision_one::Kind as ListKind;
use crate::targets::vision_one::mapping;
use crate::targets::vision_one::readback;
use config::{Config, Parameters, Workflow};

/// What `adopt` found and recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdoptReport {
    pub workflow: String,
    /// The library id whose objects were adopted.
    pub library: String,
    /// Objects (or Deep Security entries) recorded as the workflow's claims.
    pub adopted: usize,
    /// Objects with the marker that other claimants already hold: left to them.
    pub already_claimed: usize,
    /// Objects without the marker (foreign, or another library's): left alone.
    pub left_alone: usize,
    pub dry_run: bool,
}

/// Adopts into `workflow`'s ledger the objects of library `from` (default: this library) on
/// its target that no claim knows.
pub async fn adopt(
    config: &Config,
    library: &mut dyn LibraryBackend,
    workflow: &str,
    from: Option<&str>,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<AdoptReport, EngineError> {
    let workflow = config.workflow(workflow)?;
    let target = config.target(&workflow.target)?;
    let id = match from {
        Some(id) => id.to_owned(),
        None => library.library_id()?,
    };
    let marker = Marker::new(&id);
    let mut report = AdoptReport {
        workflow: workflow.name.clone(),
        library: id,
        dry_run,
        ..AdoptReport::default()
    };
    library.set_claim_space(&workflow.ledger_key(), &workflow.space())?;
    let entries = match &workflow.parameters {
        Parameters::Blocklist(_) => {
            let client = VisionOneClient::new(&target.vision_one()?)?;
            let list = ListKind::Suspicious;
            vision_one(&client, list, workflow, library, &marker, now, &mut report).await?
        }
        Parameters::Exceptions(_) => {
            let client = VisionOneClient::new(&target.vision_one()?)?;
            let list = ListKind::Exceptions;
            vision_one(&client, list, workflow, library, &marker, now, &mut report).await?
        }
        Parameters::IpList(params) => {
            let client = DeepSecurityClient::new(&target.deep_security()?)?;
            ip_lists(
                &client,
                workflow,
                &params.list_name,
                &marker,
                now,
                &mut report,
            )
            .await?
        }
        Parameters::XdrBlock(_) | Parameters::Http(_) => {
            return Err(EngineError::WrongProduct {
                target: target.name.clone(),
                product: target.product,
                what: format!(
                    "`iocsync adopt {}` (XDR v2 blocks and webhooks have no list to read back)",
                    workflow.name
                ),
            });
        }
    };
    report.adopted = entries.len();
    if !dry_run {
        library.ledger_apply(&workflow.ledger_key(), &entries, &[])?;
    }
    Ok(report)
}

async fn vision_one(
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

/// Deep Security: the entries of the lists `<list_name>_<n>` that carry the marker.
async fn ip_lists(
    client: &DeepSecurityClient,
    workflow: &Workflow,
    list_name: &str,
    marker: &Marker,
    now: DateTime<Utc>,
    report: &mut AdoptReport,
) -> Result<Vec<LedgerEntry>, EngineError> {
    let mut entries = Vec::new();
    for list in client.list_all().await? {
        let Some(index) = list
            .name
            .strip_prefix(list_name)
            .and_then(|rest| rest.strip_prefix('_'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| part_name(list_name, *n) == list.name)
        else {
            continue;
        };
        if marker.maker(list.description.as_deref()) != Maker::ThisLibrary {
            report.left_alone += list.items.len();
            continue;
        }
        entries.extend(list.items.into_iter().map(|item| LedgerEntry {
            key: workflow.ledger_key(),
            space: workflow.space(),
            kind: crate::targets::deep_security::packing::item_kind(&item),
            value: item,
            attributes: serde_json::json!({ "part": index }),
            remote_id: Some(list.id.to_string()),
            pushed_at: now,
        }));
    }
    Ok(entries)
}
