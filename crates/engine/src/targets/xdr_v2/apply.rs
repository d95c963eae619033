//! Applying a plan to XDR v2 blocks: one value per call, `in_flight` at once, each block or
//! restore-block followed until its task is final — all of a run's tasks by one poller
//! ([`TaskWatch`]).

use indicator::Kind;
use store::LibraryBackend;
use trendmicro::xdr_v2::client::{TaskWatch, WaitError};
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
    let watch = TaskWatch::new(client, client.pace(params.task_timeout));
    let xdr = Xdr {
        client,
        params,
        watch: &watch,
    };
    let send = async |d: &Decided<'_>| match &d.write {
        Write::Create(attributes) => xdr.one(d, attributes, false).await.map(Some),
        Write::Delete => {
            let attributes = ObjectAttributes::new(
                key_of(d.work.change.kind).unwrap_or_default(),
                String::new(),
            );
            xdr.one(d, &attributes, true).await.map(Some)
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

/// What each value's block needs: the client, the workflow's parameters and the run's poller.
struct Xdr<'a> {
    client: &'a XdrV2Client,
    params: &'a XdrParams,
    watch: &'a TaskWatch<'a>,
}

impl Xdr<'_> {
    /// Blocks (or restores) one value and follows its task to the end: its action id when the
    /// task succeeded.
    async fn one(
        &self,
        d: &Decided<'_>,
        attributes: &ObjectAttributes,
        remove: bool,
    ) -> Result<String, ItemError> {
        let value_type: ValueType = serde_json::from_value(serde_json::json!(attributes.key))
            .map_err(|_| ItemError::Item(format!("unknown XDR value type `{}`", attributes.key)))?;
        let value = &d.work.change.value;
        let (client, params) = (self.client, self.params);
        let started = if remove {
            let description = &attributes.description;
            client
                .restore_block(value_type, value, description, &params.product_id)
                .await
        } else {
            let description = &attributes.description;
            client
                .block(value_type, value, description, &params.product_id)
                .await
        };
        let action_id = started.map_err(ItemError::of)?;
        match self.watch.wait(&action_id.0).await {
            Ok(TaskStatus::Success | TaskStatus::Finished) => Ok(action_id.0),
            Ok(other) => Err(ItemError::Item(format!("task {action_id} ended `{other}`"))),
            Err(WaitError::Open(status)) => Err(ItemError::Item(format!(
                "task {action_id} still `{status}` after {} s (task_timeout_secs)",
                params.task_timeout.as_secs()
            ))),
            Err(WaitError::Read {
                message,
                stops_target: true,
            }) => Err(ItemError::Halt(message)),
            Err(WaitError::Read { message, .. }) => Err(ItemError::Item(message)),
        }
    }
}
