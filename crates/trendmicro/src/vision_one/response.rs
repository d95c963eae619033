//! Vision One v3.0 response "Add to block list" — the successor of XDR v2 block:
//! `POST /v3.0/response/suspiciousObjects` blocks, `POST /v3.0/response/suspiciousObjects/delete`
//! restores, each taking an array of single-value objects (pytmv1 0.11.0 `add_block` /
//! `delete_block`) and answering 207 with, per item, a 202 whose `Operation-Location` header
//! points at the item's task, or an error such as 400 "Task duplication." (the same task is
//! still open; it carries that task's `Operation-Location`) or 400 "Target not found." (a
//! restore of a value that is not blocked). `GET /v3.0/response/tasks/{id}` reads a task:
//! `queued` → `running` → `succeeded`, or `failed` (with `error`), `rejected`, `canceled`, or
//! waiting in `pendingApproval` (pytmv1 `model/enum.py` `Status`).
//!
//! The task id is the last path segment of `Operation-Location`: Trend's documentation shows
//! `…/v3.0/xdr/response/tasks/<id>`, pytmv1 requests `…/v3.0/response/tasks/<id>`.
//!
//! [`TaskWatch`] follows many of these tasks with one poller ([`crate::tasks`]).

use bytes::Bytes;
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;

use super::request::{WireError, array_body};
use super::{ObjectValue, VisionOneClient};
use crate::Error;
use crate::tasks::{self, TaskSource};
use crate::transport::join_path;

pub use crate::tasks::Pace;

const BLOCK: &str = "POST /v3.0/response/suspiciousObjects";
const RESTORE: &str = "POST /v3.0/response/suspiciousObjects/delete";
const GET_TASK: &str = "GET /v3.0/response/tasks";

/// The most items one block or restore request carries (pytmv1 sends any number; Trend's
/// response actions document batches of this size at most).
pub const MAX_ITEMS: usize = 100;

/// How one item of a block or restore request was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A task was created for it (202), or the same task is still open ("Task duplication."):
    /// its id.
    Task(String),
    /// A restore of a value that is not blocked ("Target not found."): nothing to undo.
    NotBlocked,
    /// Refused: the item's status and Vision One's message.
    Refused { status: u16, message: String },
}

/// A v3 response task's status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Rejected,
    Canceled,
    /// Waits for a person to approve it in the console: open, but no poll will end it.
    PendingApproval,
    #[serde(other)]
    Unknown,
}

impl TaskStatus {
    /// Whether the task will not change any more by itself. `pendingApproval` counts as
    /// open: an approval can still come.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded
                | TaskStatus::Failed
                | TaskStatus::Rejected
                | TaskStatus::Canceled
        )
    }

    /// The status as the API writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Rejected => "rejected",
            TaskStatus::Canceled => "canceled",
            TaskStatus::PendingApproval => "pendingApproval",
            TaskStatus::Unknown => "unknown",
        }
    }
}

/// A task as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub status: TaskStatus,
    /// The task's `error.message`, when it failed.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireTask {
    id: Option<String>,
    status: TaskStatus,
    #[serde(default)]
    error: Option<WireError>,
}

/// One element of the 207 answer, with its headers.
#[derive(Debug, Deserialize)]
struct WireItem {
    status: u16,
    #[serde(default)]
    headers: Vec<WireHeader>,
    #[serde(default)]
    body: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct WireHeader {
    name: String,
    value: String,
}

/// The task id in an `Operation-Location` URL: its last path segment.
pub fn task_id_of(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let id = path.trim_end_matches('/').rsplit('/').next()?;
    (!id.is_empty() && !id.contains(':')).then(|| id.to_owned())
}

/// Reads a 207 answer of `expected` items into what became of each.
pub fn parse_started(body: &[u8], expected: usize) -> Result<Vec<Started>, String> {
    let items: Vec<WireItem> = serde_json::from_slice(body)
        .map_err(|error| format!("not a JSON array of per-item statuses: {error}"))?;
    if items.len() != expected {
        return Err(format!(
            "{} per-item statuses for {expected} objects sent",
            items.len()
        ));
    }
    items.into_iter().map(started).collect()
}

fn started(item: WireItem) -> Result<Started, String> {
    let location = item
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("Operation-Location"))
        .map(|h| h.value.as_str());
    let message = item
        .body
        .as_ref()
        .and_then(|body| serde_json::from_value::<ErrorBody>(body.clone()).ok())
        .and_then(|body| body.error)
        .map(|error| error.text());
    match (item.status, location) {
        (200..=299, Some(location)) => task_id_of(location)
            .map(Started::Task)
            .ok_or_else(|| format!("Operation-Location `{location}` names no task")),
        (200..=299, None) => Err(format!(
            "item status {} without Operation-Location",
            item.status
        )),
        // The same task is still open: follow it rather than fail.
        (_, Some(location)) if message.as_deref() == Some("Task duplication.") => {
            task_id_of(location)
                .map(Started::Task)
                .ok_or_else(|| format!("Operation-Location `{location}` names no task"))
        }
        (400, _) if message.as_deref() == Some("Target not found.") => Ok(Started::NotBlocked),
        (status, _) => Ok(Started::Refused {
            status,
            message: message.unwrap_or_else(|| format!("HTTP {status}")),
        }),
    }
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<WireError>,
}

/// Reads a task body.
pub fn parse_task(body: &[u8], id: &str) -> Result<Task, String> {
    let wire: WireTask =
        serde_json::from_slice(body).map_err(|error| format!("not a task: {error}"))?;
    Ok(Task {
        id: wire.id.unwrap_or_else(|| id.to_owned()),
        status: wire.status,
        error: wire.error.map(|error| error.text()),
    })
}

/// One object to block, with its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockItem {
    pub value: ObjectValue,
    pub description: String,
}

impl VisionOneClient {
    /// Asks Vision One to block each item ("Add to block list"); one answer per item, in
    /// order. Sent in requests of at most [`MAX_ITEMS`].
    pub async fn response_block(&self, items: &[BlockItem]) -> Result<Vec<Started>, Error> {
        let encoded: Vec<Vec<u8>> = items.iter().map(block_item).collect();
        self.response_write(BLOCK, "/v3.0/response/suspiciousObjects", &encoded)
            .await
    }

    /// Asks Vision One to lift the block of each value ("Remove from block list").
    pub async fn response_restore(&self, values: &[ObjectValue]) -> Result<Vec<Started>, Error> {
        let encoded: Vec<Vec<u8>> = values
            .iter()
            .map(|value| serde_json::to_vec(value).unwrap_or_default())
            .collect();
        self.response_write(RESTORE, "/v3.0/response/suspiciousObjects/delete", &encoded)
            .await
    }

    async fn response_write(
        &self,
        endpoint: &'static str,
        path: &str,
        encoded: &[Vec<u8>],
    ) -> Result<Vec<Started>, Error> {
        let url = join_path(&self.base, path);
        let auth = self.auth()?;
        let mut answers = Vec::with_capacity(encoded.len());
        for chunk in encoded.chunks(MAX_ITEMS) {
            let body = Bytes::from(array_body(chunk.iter().map(Vec::as_slice)));
            let response = self.http.post_json(endpoint, &url, &auth, body).await?;
            if !response.status.is_success() {
                return Err(self.fail(endpoint, &response));
            }
            let started = parse_started(&response.body, chunk.len())
                .map_err(|reason| self.http.unexpected(endpoint, &response, reason))?;
            answers.extend(started);
        }
        Ok(answers)
    }

    /// Reads task `id`.
    pub async fn response_task(&self, id: &str) -> Result<Task, Error> {
        let mut url = join_path(&self.base, "/v3.0/response/tasks");
        url.path_segments_mut()
            .map_err(|()| Error::InvalidInput {
                what: "base URL".to_owned(),
                reason: "cannot carry a path".to_owned(),
            })?
            .push(id);
        let auth = self.auth()?;
        let response = self
            .http
            .send(GET_TASK, |client| {
                client.get(url.clone()).header(AUTHORIZATION, auth.clone())
            })
            .await?;
        if !response.status.is_success() {
            return Err(self.fail(GET_TASK, &response));
        }
        parse_task(&response.body, id)
            .map_err(|reason| self.http.unexpected(GET_TASK, &response, reason))
    }
}

fn block_item(item: &BlockItem) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    object.insert(item.value.key().to_owned(), item.value.value().into());
    if !item.description.is_empty() {
        object.insert("description".to_owned(), item.description.clone().into());
    }
    serde_json::to_vec(&object).unwrap_or_default()
}

/// Follows response tasks: one poller for many ([`crate::tasks::TaskWatch`]).
pub type TaskWatch<'c> = tasks::TaskWatch<'c, VisionOneClient>;

/// Why a wait for a response task ended without a final status.
pub type WaitError = tasks::WaitError<TaskStatus>;

impl TaskSource for VisionOneClient {
    type Task = Task;
    type Status = TaskStatus;

    fn read(&self, id: &str) -> impl Future<Output = Result<Task, Error>> + Send {
        self.response_task(id)
    }

    fn status(task: &Task) -> TaskStatus {
        task.status.clone()
    }

    fn is_final(task: &Task) -> bool {
        task.status.is_final()
    }

    fn unread() -> TaskStatus {
        TaskStatus::Queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_id_is_the_last_segment_of_either_documented_path() {
        for location in [
            "https://api.xdr.trendmicro.com/v3.0/xdr/response/tasks/00000003",
            "https://api.xdr.trendmicro.com/v3.0/response/tasks/00000003",
            "http://127.0.0.1:9/prefix/v3.0/xdr/response/tasks/00000003/",
            "/v3.0/response/tasks/00000003?x=1",
        ] {
            assert_eq!(
                task_id_of(location).as_deref(),
                Some("00000003"),
                "{location}"
            );
        }
        assert_eq!(task_id_of(""), None);
        assert_eq!(task_id_of("https:"), None);
    }

    #[test]
    fn a_207_reads_tasks_duplicates_and_refusals_in_order() {
        let body = serde_json::json!([
            {"status": 202, "headers": [{"name": "Operation-Location",
                "value": "https://h/v3.0/xdr/response/tasks/00000007"}]},
            {"status": 400, "headers": [{"name": "Operation-Location",
                "value": "https://h/v3.0/xdr/response/tasks/00000005"}],
             "body": {"error": {"code": "TaskError", "message": "Task duplication."}}},
            {"status": 400, "body": {"error": {"code": "BadRequest", "message": "Target not found."}}},
            {"status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid value."}}},
            {"status": 500}
        ]);
        let started = parse_started(body.to_string().as_bytes(), 5).unwrap();
        assert_eq!(
            started,
            [
                Started::Task("00000007".into()),
                Started::Task("00000005".into()),
                Started::NotBlocked,
                Started::Refused {
                    status: 400,
                    message: "Invalid value.".into()
                },
                Started::Refused {
                    status: 500,
                    message: "HTTP 500".into()
                },
            ]
        );
        assert!(parse_started(b"[]", 1).is_err());
        assert!(parse_started(b"{}", 0).is_err());
        let no_location = serde_json::json!([{"status": 202}]).to_string();
        assert!(parse_started(no_location.as_bytes(), 1).is_err());
    }

    #[test]
    fn a_task_reads_its_status_and_error() {
        let failed = br#"{"id":"00000009","status":"failed","action":"block","ip":"1.2.3.4",
            "error":{"code":"TaskError","number":4009999,"message":"An internal error has occurred."}}"#;
        let task = parse_task(failed, "x").unwrap();
        assert_eq!(task.status, TaskStatus::Failed);
        assert_eq!(
            task.error.as_deref(),
            Some("An internal error has occurred.")
        );
        assert!(task.status.is_final());
        let pending = parse_task(br#"{"status":"pendingApproval"}"#, "42").unwrap();
        assert_eq!(
            (pending.id.as_str(), pending.status.is_final()),
            ("42", false)
        );
        let odd = parse_task(br#"{"status":"somethingNew"}"#, "1").unwrap();
        assert_eq!(odd.status, TaskStatus::Unknown);
        assert!(parse_task(b"[]", "1").is_err());
    }
}
