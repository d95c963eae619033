//! Applying a plan to Apex Central's UDSO list: one call per value (`PUT` to add or update,
//! `DELETE` when the last claim goes), the ledger updated after each answered call.

use indicator::Kind;
use store::LibraryBackend;
use trendmicro::apex_central::{ApexCentralClient, ScanAction, Udso, UdsoType};

use crate::claims::Write;
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::Plan;
use crate::report::{Progress, RunReport};
use crate::targets::objects::{Decided, IN_FLIGHT, ItemError, one_at_a_time};

/// Applies a UDSO plan one value at a time.
pub async fn udso(
    client: &ApexCentralClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let key_of = |kind: Kind| UdsoType::for_kind(kind).ok().map(|t| t.as_str().to_owned());
    let send = async |d: &Decided<'_>| {
        let value = &d.work.change.value;
        match &d.write {
            Write::Create(attributes) | Write::Update(attributes) => {
                let udso = object(attributes, value)?;
                client.add(&udso).await.map(|_| None).map_err(ItemError::of)
            }
            Write::Delete => {
                let kind = key_of(d.work.change.kind)
                    .and_then(|key| super::mapping::udso_type(&key))
                    .ok_or_else(|| ItemError::Item(format!("no UDSO type for `{value}`")))?;
                client
                    .remove(kind, value)
                    .await
                    .map(|_| None)
                    .map_err(ItemError::of)
            }
            Write::Nothing => Ok(None),
        }
    };
    one_at_a_time(plan, library, progress, report, &key_of, IN_FLIGHT, &send).await
}

/// The object `attributes` describe for `value`.
fn object(attributes: &ObjectAttributes, value: &str) -> Result<Udso, ItemError> {
    let kind = super::mapping::udso_type(&attributes.key)
        .ok_or_else(|| ItemError::Item(format!("unknown UDSO type `{}`", attributes.key)))?;
    let scan_action = match attributes.scan_action {
        Some(trendmicro::vision_one::ScanAction::Log) => ScanAction::Log,
        Some(trendmicro::vision_one::ScanAction::Block) | None => ScanAction::Block,
    };
    let mut udso = Udso::new(kind, value, scan_action);
    udso.notes = attributes.description.clone();
    Ok(udso)
}
