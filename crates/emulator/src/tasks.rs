//! Asynchronous block / restore tasks of the XDR v2 API and of the v3 response API. A task is
//! pending (queued) for the first half of the configured delay, ongoing (running) for the
//! second, then reaches its final status: success, or the [`Outcome`] the fault settings
//! named for its value when it was created. Its effect is applied only when it succeeds, in
//! creation order.

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

/// A final status other than success, injected per value through the fault settings
/// (`response_task_outcomes`, `xdr_task_outcomes`). v3 tasks end `failed`, `rejected` or
/// `canceled`, or wait in `pendingApproval` (pytmv1 0.11.0 `model/enum.py`, `Status`); XDR v2
/// tasks end `failed`, `timeout` or `skipped` (Trend's XDR v2 getTask; the mock-up's
/// `mappings/xdr/v2/common/get_task.json` answers `timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Failed,
    Rejected,
    Canceled,
    /// Waits for an approval that never comes: the task stays open.
    PendingApproval,
    Timeout,
    Skipped,
}

impl Outcome {
    /// The status name, as both APIs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
            Outcome::Canceled => "canceled",
            Outcome::PendingApproval => "pendingApproval",
            Outcome::Timeout => "timeout",
            Outcome::Skipped => "skipped",
        }
    }

    /// Whether a task of `origin` can end this way.
    pub fn fits(self, origin: TaskOrigin) -> bool {
        match origin {
            TaskOrigin::Response => matches!(
                self,
                Outcome::Failed | Outcome::Rejected | Outcome::Canceled | Outcome::PendingApproval
            ),
            TaskOrigin::Xdr => {
                matches!(self, Outcome::Failed | Outcome::Timeout | Outcome::Skipped)
            }
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
    /// Whether the task has settled: it reached its final status, and its effect (if it
    /// succeeded) has been applied.
    pub applied: bool,
    /// How it ends when not in success (decided at creation from the fault settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
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

    /// The status it reports at `now`, in its API's words: pending → ongoing → success for
    /// XDR v2, queued → running → succeeded for v3, or its injected outcome.
    pub fn status(&self, now: i64, delay: u64) -> &'static str {
        let xdr = self.origin == TaskOrigin::Xdr;
        match self.progress(now, delay) {
            Progress::Pending if xdr => "pending",
            Progress::Pending => "queued",
            Progress::Ongoing if xdr => "ongoing",
            Progress::Ongoing => "running",
            Progress::Done => match self.outcome {
                Some(outcome) => outcome.as_str(),
                None if xdr => "success",
                None => "succeeded",
            },
        }
    }

    /// Whether it is still under way at `now` (a duplicate of it is refused): not yet final,
    /// or waiting for approval.
    pub fn is_open(&self, now: i64, delay: u64) -> bool {
        self.progress(now, delay) != Progress::Done
            || self.outcome == Some(Outcome::PendingApproval)
    }

    /// When it started running (Unix seconds).
    pub fn started(&self, delay: u64) -> i64 {
        let span = i64::try_from(delay).unwrap_or(i64::MAX);
        self.created.saturating_add(span / 2)
    }

    /// When the task finished or last changed state, for `lastActionDateTime`.
    pub fn last_action(&self, now: i64, delay: u64) -> i64 {
        let span = i64::try_from(delay).unwrap_or(i64::MAX);
        match self.progress(now, delay) {
            Progress::Pending => self.created,
            Progress::Ongoing => self.started(delay),
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
        if task.outcome.is_some() {
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task(origin: TaskOrigin, outcome: Option<Outcome>) -> Task {
        Task {
            id: 7,
            origin,
            action: TaskAction::Block,
            value_type: "ip".to_owned(),
            value: "45.0.0.1".to_owned(),
            product_id: None,
            description: None,
            created: 100,
            applied: false,
            outcome,
        }
    }

    #[test]
    fn statuses_follow_each_api_and_the_outcome() {
        let statuses = |t: &Task| [100, 102, 104].map(|now| t.status(now, 4));
        assert_eq!(
            statuses(&task(TaskOrigin::Xdr, None)),
            ["pending", "ongoing", "success"]
        );
        assert_eq!(
            statuses(&task(TaskOrigin::Response, None)),
            ["queued", "running", "succeeded"]
        );
        assert_eq!(
            statuses(&task(TaskOrigin::Xdr, Some(Outcome::Timeout)))[2],
            "timeout"
        );
        let waiting = task(TaskOrigin::Response, Some(Outcome::PendingApproval));
        assert_eq!(waiting.status(10_000, 4), "pendingApproval");
        assert!(waiting.is_open(10_000, 4));
        assert!(!task(TaskOrigin::Response, Some(Outcome::Failed)).is_open(104, 4));
        assert!(task(TaskOrigin::Response, None).is_open(103, 4));
    }

    #[test]
    fn outcomes_fit_their_api() {
        assert!(Outcome::Rejected.fits(TaskOrigin::Response));
        assert!(!Outcome::Rejected.fits(TaskOrigin::Xdr));
        assert!(Outcome::Skipped.fits(TaskOrigin::Xdr));
        assert!(!Outcome::Skipped.fits(TaskOrigin::Response));
        assert!(
            Outcome::Failed.fits(TaskOrigin::Xdr) && Outcome::Failed.fits(TaskOrigin::Response)
        );
    }

    #[test]
    fn only_successful_tasks_take_effect_and_waiting_ones_stay_open_across_a_reload() {
        let settings = CustomerSettings::default();
        let mut state = State::default();
        state.insert_task(task(TaskOrigin::Response, Some(Outcome::PendingApproval)));
        let mut ok = task(TaskOrigin::Response, None);
        ok.id = 8;
        ok.value = "45.0.0.2".to_owned();
        state.insert_task(ok);
        settle(&mut state, 104, 4, &settings);
        let listed: Vec<&str> = state
            .suspicious
            .values()
            .map(|o| o.value.as_str())
            .collect();
        assert_eq!(listed, ["45.0.0.2"]);
        let mut reloaded = State::from_snapshot(state.snapshot(104));
        settle(&mut reloaded, 104, 4, &settings);
        let open: Vec<u64> = reloaded
            .open_tasks()
            .filter(|t| t.is_open(104, 4))
            .map(|t| t.id)
            .collect();
        assert_eq!(open, [7]);
    }
}
