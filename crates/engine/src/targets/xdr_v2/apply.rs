//! Applying a plan to XDR v2 blocks: one value at a time, each block or restore-block followed
//! until its task is final.

use indicator::Kind;
use store::LibraryBackend;
use trendmicro::xdr_v2::{TaskStatus, ValueType, XdrV2Client};

use crate::claims::Write;
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::Plan;
use crate::report::{Progress, RunReport};
use crate::targets::objects::{Decided, ItemError, one_at_a_time};
use config::XdrParams;

/// Applies an XDR v2 plan one value at a time: each block or restore-block is followed until
/// its task is final, and only a successful task changes the ledger (with the task's action
/// ID). XDR v2 blocks carry nothing to update: a claim that only changes attributes is
/// recorded without a call.
pub async fn xdr(
    client: &XdrV2Client,
    params: &XdrParams,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let key_of = |kind: Kind| {
        ValueType::for_kind(kind)
            .ok()
            .map(|t| t.as_str().to_owned())
    };
    let send = async |d: &Decided<'_>| match &d.write {
        Write::Create(attributes) => xdr_one(client, params, d, attributes, false)
            .await
            .map(Some),
        Write::Delete => {
            let attributes = ObjectAttributes::new(
                key_of(d.work.change.kind).unwrap_or_default(),
                String::new(),
            );
            xdr_one(client, params, d, &attributes, true)
                .await
                .map(Some)
        }
        Write::Update(_) | Write::Nothing => Ok(None),
    };
    one_at_a_time(
        plan,
        library,
        progress,
        report,
        &key_of,
        params.in_flight,
        &send,
    )
    .await
}

async fn xdr_one(
    client: &XdrV2Client,
    params: &XdrParams,
    d: &Decided<'_>,
    attributes: &ObjectAttributes,
    remove: bool,
) -> Result<String, ItemError> {
    let value_type: ValueType = serde_json::from_value(serde_json::json!(attributes.key))
        .map_err(|_| ItemError::Item(format!("unknown XDR value type `{}`", attributes.key)))?;
    let value = &d.work.change.value;
    let started = if remove {
        client
            .restore_block(
                value_type,
                value,
                &attributes.description,
                &params.product_id,
            )
            .await
    } else {
        client
            .block(
                value_type,
                value,
                &attributes.description,
                &params.product_id,
            )
            .await
    };
    let action_id = started.map_err(ItemError::of)?;
    match client
        .wait_final(&action_id, params.task_timeout)
        .await
        .map_err(ItemError::of)?
    {
        TaskStatus::Success | TaskStatus::Finished => Ok(action_id.0),
        other => Err(ItemError::Item(format!("task {action_id} ended `{other}`"))),
    }
}
