//! Asynchronous block / restore tasks of the XDR v2 API and of the v3 response API. A task is
//! pending (queued) for the first half of the configured delay, ongoing (running) for the
//! second, then succeeds; its effect is applied when it succeeds, in creation order.

use serde::{Deserialize, Serialize};

use crate::config::CustomerSettings;
use crate::state::{State, XdrBlock};
use crate::vision_one::model::{ObjectType, ScanAction, SuspiciousObject};

/// Which API created the task (they report progress differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskOrigin {
    /// `POST /v2.0/xdr/response/{block,restoreBlock}`; value type as in v2 (`ip`, `mailbox`, ...).
    Xdr,
    /// `POST /v3.0/response/suspiciousObjects[/delete]`.
    Response,
}

/// Block or undo a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskAction {
    #[serde(rename = "block")]
    Block,
    #[serde(rename = "restoreBlock")]
    RestoreBlock,
}

impl TaskAction {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskAction::Block => "block",
            TaskAction::RestoreBlock => "restoreBlock",
        }
    }
}

/// Progress of a task at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Pending,
    Ongoing,
    Done,
}

/// One block or restore request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: u64,
    pub origin: TaskOrigin,
    pub action: TaskAction,
    /// v2 `valueType` (`ip`, `url`, `domain`, `mailbox`, `file_sha1`) or v3 object type key.
    pub value_type: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Whether the effect has been applied.
    pub applied: bool,
}

impl Task {
    /// Progress at `now` given the configured delay.
    pub fn progress(&self, now: i64, delay: u64) -> Progress {
        let delay = i64::try_from(delay).unwrap_or(i64::MAX);
        let elapsed = now.saturating_sub(self.created);
        if self.applied || elapsed >= delay {
            Progress::Done
        } else if elapsed.saturating_mul(2) >= delay {
            Progress::Ongoing
        } else {
            Progress::Pending
        }
    }

    /// When the task finished or last changed state, for `lastActionDateTime`.
    pub fn last_action(&self, now: i64, delay: u64) -> i64 {
        let span = i64::try_from(delay).unwrap_or(i64::MAX);
        match self.progress(now, delay) {
            Progress::Pending => self.created,
            Progress::Ongoing => self.created.saturating_add(span / 2),
            Progress::Done => self.created.saturating_add(span),
        }
    }
}

/// Applies the effects of every task that has finished by `now`, oldest first. Tasks finish
/// in creation order, so the sweep starts after the last settled task and stops at the first
/// unfinished one.
pub fn settle(state: &mut State, now: i64, delay: u64, settings: &CustomerSettings) {
    let due: Vec<u64> = state
        .tasks
        .range(state.settled_upto..)
        .take_while(|(_, t)| t.progress(now, delay) == Progress::Done)
        .map(|(id, _)| *id)
        .collect();
    for id in due {
        state.settled_upto = id + 1;
        let Some(task) = state.tasks.get_mut(&id) else {
            continue;
        };
        if task.applied {
            continue;
        }
        task.applied = true;
        let task = task.clone();
        let finished = task
            .created
            .saturating_add(i64::try_from(delay).unwrap_or(0));
        apply(state, &task, finished, settings);
    }
}

fn apply(state: &mut State, task: &Task, at: i64, settings: &CustomerSettings) {
    match task.origin {
        TaskOrigin::Xdr => {
            let key = (task.value_type.clone(), task.value.clone());
            match task.action {
                TaskAction::Block => {
                    state.xdr_blocked.insert(
                        key,
                        XdrBlock {
                            value_type: task.value_type.clone(),
                            target_value: task.value.clone(),
                            product_id: task.product_id.clone(),
                            description: task.description.clone(),
                            since: at,
                        },
                    );
                }
                TaskAction::RestoreBlock => {
                    state.xdr_blocked.remove(&key);
                }
            }
        }
        TaskOrigin::Response => {
            let Some(kind) = ObjectType::from_key(&task.value_type) else {
                return;
            };
            let key = (kind, kind.identity(&task.value));
            match task.action {
                TaskAction::Block => {
                    let seq = state.next_seq();
                    let expires = (settings.days_to_expiration > 0)
                        .then(|| at.saturating_add(settings.days_to_expiration * 86_400));
                    state.suspicious.insert(
                        key,
                        SuspiciousObject {
                            kind,
                            value: task.value.clone(),
                            description: task.description.clone(),
                            scan_action: ScanAction::Block,
                            risk_level: settings.risk_level,
                            last_modified: at,
                            expires,
                            seq,
                        },
                    );
                }
                TaskAction::RestoreBlock => {
                    state.suspicious.remove(&key);
                }
            }
        }
    }
}
