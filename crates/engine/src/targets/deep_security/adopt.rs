//! Adopting a Deep Security IP-list family: the entries of the parts `<list_name>_<n>` whose
//! description carries the marker become the workflow's claims (see [`crate::adopt`]).

use chrono::{DateTime, Utc};
use store::LedgerEntry;
use trendmicro::deep_security::DeepSecurityClient;

use super::packing::{item_kind, part_name};
use crate::adopt::AdoptReport;
use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::marker::{Maker, Marker};
use config::Workflow;

/// Deep Security: the entries of the lists `<list_name>_<n>` that carry the marker.
pub async fn adopt(
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
            kind: item_kind(&item),
            value: item,
            attributes: super::packing::part_attributes(index),
            remote_id: Some(list.id.to_string()),
            pushed_at: now,
        }));
    }
    Ok(entries)
}
