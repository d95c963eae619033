//! Applying a plan as Vision One v3 response tasks ("Add to block list", the successor of XDR
//! v2 block): a window of values is decided under the suspicious list's lease (the blocked
//! objects land on that list, so every claim on them shares its space), blocked or restored
//! in one request per 100 items, their tasks followed by one poller ([`TaskWatch`]), and each
//! value recorded as soon as its task succeeds. A failed, rejected or canceled task is a
//! failed item with the task's words; one waiting for approval is reported as such and
//! followed again by the next run ("Task duplication." points at the open task).

use std::time::Duration;

use indicator::Kind;
use store::LibraryBackend;
use trendmicro::vision_one::response::{
    BlockItem, Pace, Started, TaskStatus, TaskWatch, WaitError,
};
use trendmicro::vision_one::{ObjectValue, VisionOneClient};

use crate::claims::Write;
use crate::error::EngineError;
use crate::oneoff::{Item, Step};
use crate::plan::Plan;
use crate::report::{Progress, RunReport};
use crate::targets::objects::{Decided, ItemError, in_windows};
use crate::targets::vision_one::mapping::v1_key;
use config::ResponseParams;

/// Task reads in flight at once in one poll round.
const TASK_READS: usize = 16;

/// How the poller paces itself: the first round a quarter second after the first wait, the
/// pause doubling up to two seconds (a task takes seconds; two seconds between rounds keeps a
/// round of 200 reads well inside Vision One's rate limits).
pub fn pace(task_timeout: Duration) -> Pace {
    Pace {
        min: Duration::from_millis(250),
        max: Duration::from_secs(2),
        timeout: task_timeout,
        reads: TASK_READS,
    }
}

/// What became of one value's request, before its task ends.
pub(crate) enum Pending {
    /// A task to follow.
    Task(String),
    /// Nothing to wait for: no write (a claim recorded or dropped without a call), or a
    /// restore of a value that is not blocked.
    Done,
    /// Refused by Vision One: its message.
    Refused(String),
}

/// Applies a response-block plan.
pub async fn response(
    client: &VisionOneClient,
    params: &ResponseParams,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let watch = TaskWatch::new(client, pace(params.task_timeout));
    let key_of = |kind: Kind| v1_key(kind).map(str::to_owned);
    let start = async |decided: &[Decided<'_>]| start(client, decided).await;
    let finish = async |_: &Decided<'_>, pending: Pending| finish(&watch, pending).await;
    in_windows(
        plan,
        library,
        progress,
        report,
        &key_of,
        params.in_flight,
        &start,
        &finish,
    )
    .await
}

/// Blocks the window's creates and restores its deletes (one request each, at most 100 items
/// per request); one pending answer per value, in order.
pub(crate) async fn start(
    client: &VisionOneClient,
    decided: &[Decided<'_>],
) -> Result<Vec<Pending>, ItemError> {
    let writes: Vec<(&Write, Kind, &str)> = decided
        .iter()
        .map(|d| (&d.write, d.work.change.kind, d.work.change.value.as_str()))
        .collect();
    start_writes(client, &writes).await
}

/// [`start`] for `(write, kind, value)` triples.
async fn start_writes(
    client: &VisionOneClient,
    writes: &[(&Write, Kind, &str)],
) -> Result<Vec<Pending>, ItemError> {
    let mut pending: Vec<Option<Pending>> = writes.iter().map(|_| None).collect();
    let mut blocks = (Vec::new(), Vec::new());
    let mut restores = (Vec::new(), Vec::new());
    for (i, (write, kind, value)) in writes.iter().enumerate() {
        let value = v1_key(*kind).and_then(|key| ObjectValue::from_key(key, (*value).to_owned()));
        match (write, value) {
            (Write::Create(attributes), Some(value)) => {
                blocks.0.push(i);
                blocks.1.push(BlockItem {
                    value,
                    description: attributes.description.clone(),
                });
            }
            (Write::Delete, Some(value)) => {
                restores.0.push(i);
                restores.1.push(value);
            }
            (Write::Create(_) | Write::Delete, None) => {
                pending[i] = Some(Pending::Refused(format!(
                    "Vision One takes no {kind} on its block list"
                )));
            }
            // A response block carries nothing to update: the claim is recorded as it is.
            (Write::Update(_) | Write::Nothing, _) => pending[i] = Some(Pending::Done),
        }
    }
    if !restores.1.is_empty() {
        let started = client
            .response_restore(&restores.1)
            .await
            .map_err(ItemError::of)?;
        place(&mut pending, &restores.0, started);
    }
    if !blocks.1.is_empty() {
        let started = client
            .response_block(&blocks.1)
            .await
            .map_err(ItemError::of)?;
        place(&mut pending, &blocks.0, started);
    }
    Ok(pending
        .into_iter()
        .map(|p| p.unwrap_or(Pending::Done))
        .collect())
}

/// One-off and trigger blocks as response tasks: the writes of `sending` started together,
/// their tasks followed by one poller; one result per step (the task id, or why not) and the
/// error that halted the rest.
pub(crate) async fn send(
    client: &VisionOneClient,
    task_timeout: Duration,
    items: &[Item],
    sending: &[&Step],
) -> (Vec<Result<Option<String>, String>>, Option<String>) {
    let writes: Vec<(&Write, Kind, &str)> = sending
        .iter()
        .map(|step| {
            let item = &items[step.index];
            (&step.write, item.kind, item.value.as_str())
        })
        .collect();
    let pending = match start_writes(client, &writes).await {
        Ok(pending) => pending,
        Err(ItemError::Item(message)) => {
            return (sending.iter().map(|_| Err(message.clone())).collect(), None);
        }
        Err(ItemError::Halt(message)) => {
            let failed = sending.iter().map(|_| Err(message.clone())).collect();
            return (failed, Some(message));
        }
    };
    let watch = TaskWatch::new(client, pace(task_timeout));
    let ends = futures::future::join_all(pending.into_iter().map(|p| finish(&watch, p))).await;
    let mut halted = None;
    let results = ends
        .into_iter()
        .map(|end| match end {
            Ok(id) => Ok(id),
            Err(ItemError::Item(message)) => Err(message),
            Err(ItemError::Halt(message)) => {
                halted.get_or_insert_with(|| message.clone());
                Err(message)
            }
        })
        .collect();
    (results, halted)
}

fn place(pending: &mut [Option<Pending>], indexes: &[usize], started: Vec<Started>) {
    for (&i, started) in indexes.iter().zip(started) {
        pending[i] = Some(match started {
            Started::Task(id) => Pending::Task(id),
            Started::NotBlocked => Pending::Done,
            Started::Refused { status, message } => {
                Pending::Refused(format!("HTTP {status}: {message}"))
            }
        });
    }
}

/// Follows one value's task to its end: its id when it succeeded.
pub(crate) async fn finish(
    watch: &TaskWatch<'_>,
    pending: Pending,
) -> Result<Option<String>, ItemError> {
    let id = match pending {
        Pending::Task(id) => id,
        Pending::Done => return Ok(None),
        Pending::Refused(message) => return Err(ItemError::Item(message)),
    };
    match watch.wait(&id).await {
        Ok(task) if task.status == TaskStatus::Succeeded => Ok(Some(id)),
        Ok(task) => Err(ItemError::Item(match task.error {
            Some(error) => format!("task {id} ended `{}`: {error}", task.status.as_str()),
            None => format!("task {id} ended `{}`", task.status.as_str()),
        })),
        Err(WaitError::Open(TaskStatus::PendingApproval)) => Err(ItemError::Item(format!(
            "task {id} waits for approval in the Vision One console (pendingApproval); \
             the next run follows it again"
        ))),
        Err(WaitError::Open(status)) => Err(ItemError::Item(format!(
            "task {id} still `{}` when the wait ended (task_timeout_secs)",
            status.as_str()
        ))),
        Err(WaitError::Read {
            message,
            stops_target: true,
        }) => Err(ItemError::Halt(message)),
        Err(WaitError::Read { message, .. }) => Err(ItemError::Item(format!(
            "task {id} could not be read: {message}"
        ))),
    }
}
