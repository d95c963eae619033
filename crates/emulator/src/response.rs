//! The v3 response "block list" action, successor of XDR v2 block:
//! `POST /v3.0/response/suspiciousObjects` (and `/delete` to undo) take an array of
//! single-value objects and answer 207 with, per accepted item, status 202 and an
//! `Operation-Location` header entry pointing at the task. Tasks go queued → running →
//! succeeded on the emulator's clock (or end `failed`, `rejected`, `canceled`, or wait in
//! `pendingApproval`, for values named in the fault settings' `response_task_outcomes`); a
//! block that succeeds adds the value to the Suspicious Object List (scan action block,
//! customer risk level and expiry), a restore that succeeds removes it.
//!
//! Per-item refusals as Trend's mock-up (`trendmicro/tm-v1-api-mockup`,
//! `mappings/xdr/v3/object/{add,delete}_block_list_207_400_*.json`) has them: a block or
//! restore of a value whose same task is still open is a 400 "Task duplication." (code
//! `TaskError`, with the open task's `Operation-Location`); a restore of a value that is
//! neither listed nor being blocked is a 400 "Target not found." (code `BadRequest`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::Emulator;
use crate::auth::V1Caller;
use crate::body::V1Json;
use crate::clock::format_iso;
use crate::state::{ObjectKey, State as Data};
use crate::tasks::{Outcome, Task, TaskAction, TaskOrigin};
use crate::vision_one::error::{
    V1Error, item_bad_request, item_error, item_internal, multi_status,
};
use crate::vision_one::objects::elements;
use crate::vision_one::public_base;
use crate::vision_one::validate::{self, ListKind, TypedValue};

/// Where `Operation-Location` points, as Trend documents it (spec `v3.0_response_suspiciousObjects`
/// 207 example, the mock-up's `add_block_list_207_202.json`, XSOAR's
/// `TrendMicroVisionOneV3_test.py`): `.../v3.0/xdr/response/tasks/<id>`.
const DOCUMENTED_TASKS_PATH: &str = "/v3.0/xdr/response/tasks";

/// The `error` of a failed task (mock-up `mappings/xdr/v3/common/get_task_block_suspicious.json`).
const TASK_ERROR_NUMBER: u32 = 4_009_999;

/// The v3 response routes. Tasks are served under both paths: the documented one and the one
/// pytmv1 0.11.0 requests (`Api.GET_TASK_RESULT = "/response/tasks/{0}"`).
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v3.0/response/suspiciousObjects", post(block))
        .route("/v3.0/response/suspiciousObjects/delete", post(restore))
        .route("/v3.0/response/tasks/{id}", get(task))
        .route("/v3.0/xdr/response/tasks/{id}", get(task))
}

fn task_id(id: u64) -> String {
    format!("{id:08}")
}

async fn block(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    headers: HeaderMap,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    submit(&emulator, caller, &headers, &body, TaskAction::Block)
}

async fn restore(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    headers: HeaderMap,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    submit(&emulator, caller, &headers, &body, TaskAction::RestoreBlock)
}

/// What every item of one request shares.
struct Submission<'a> {
    emulator: &'a Emulator,
    action: TaskAction,
    base: String,
    now: i64,
    delay: u64,
}

fn submit(
    emulator: &Emulator,
    caller: crate::auth::Caller,
    headers: &HeaderMap,
    body: &Value,
    action: TaskAction,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    let items = elements(body)?;
    let submission = Submission {
        emulator,
        action,
        base: public_base(emulator, headers),
        now: emulator.now(),
        delay: emulator.config().tasks.delay_seconds,
    };
    let results = emulator.with_state(|state| {
        items
            .iter()
            .map(|item| submission.one(state, item))
            .collect()
    });
    Ok(multi_status(results))
}

/// The value and description of one item.
fn checked(item: &Value) -> Result<(TypedValue, Option<String>), String> {
    let value = validate::typed_value(item, ListKind::Response)?;
    let description = item
        .as_object()
        .map(validate::description)
        .transpose()?
        .flatten();
    Ok((value, description))
}

impl Submission<'_> {
    /// The 207 element of one item, creating its task when it is accepted.
    fn one(&self, state: &mut Data, item: &Value) -> Value {
        let (value, description) = match checked(item) {
            _ if self.emulator.item_fails() => return item_internal(),
            Err(message) => return item_bad_request(&message),
            Ok(checked) => checked,
        };
        let key = (value.kind, value.kind.identity(&value.value));
        if let Some(open) = self.open_task(state, self.action, &key) {
            let mut duplicate = item_error(400, "TaskError", "Task duplication.");
            duplicate["headers"] = self.location(open);
            return duplicate;
        }
        if self.action == TaskAction::RestoreBlock
            && !state.suspicious.contains_key(&key)
            && self.open_task(state, TaskAction::Block, &key).is_none()
        {
            return item_error(400, "BadRequest", "Target not found.");
        }
        let id = state.next_task_id;
        state.next_task_id += 1;
        let outcome = self
            .emulator
            .task_outcome(TaskOrigin::Response, &value.value);
        state.insert_task(Task {
            id,
            origin: TaskOrigin::Response,
            action: self.action,
            value_type: value.kind.key().to_owned(),
            value: value.value,
            product_id: None,
            description,
            created: self.now,
            applied: false,
            outcome,
        });
        json!({"status": 202, "headers": self.location(id)})
    }

    /// The open response task doing `action` on `key`, if any.
    fn open_task(&self, state: &Data, action: TaskAction, key: &ObjectKey) -> Option<u64> {
        state
            .open_tasks()
            .find(|task| {
                task.origin == TaskOrigin::Response
                    && task.action == action
                    && task.value_type == key.0.key()
                    && key.0.identity(&task.value) == key.1
                    && task.is_open(self.now, self.delay)
            })
            .map(|task| task.id)
    }

    fn location(&self, id: u64) -> Value {
        json!([{
            "name": "Operation-Location",
            "value": format!("{}{DOCUMENTED_TASKS_PATH}/{}", self.base, task_id(id)),
        }])
    }
}

async fn task(
    State(emulator): State<Emulator>,
    _caller: V1Caller,
    Path(id): Path<String>,
) -> Result<Response, V1Error> {
    let number: u64 = id.parse().map_err(|_| V1Error::NotFound)?;
    let now = emulator.now();
    let delay = emulator.config().tasks.delay_seconds;
    let task = emulator
        .with_state(|state| state.tasks.get(&number).cloned())
        .filter(|t| t.origin == TaskOrigin::Response)
        .ok_or(V1Error::NotFound)?;
    Ok(Json(task_body(&task, now, delay)).into_response())
}

/// The task as pytmv1's `BlockListTaskResp` and the mock-up's
/// `mappings/xdr/v3/common/get_task_block_suspicious.json` have it: `id`, `status`,
/// `createdDateTime`, `lastActionDateTime`, `description`, `action`, `account`, the value
/// under its type's key, and `error` when the task failed.
fn task_body(task: &Task, now: i64, delay: u64) -> Value {
    let status = task.status(now, delay);
    let mut body = Map::new();
    body.insert("id".into(), task_id(task.id).into());
    body.insert("status".into(), status.into());
    body.insert("createdDateTime".into(), format_iso(task.created).into());
    body.insert(
        "lastActionDateTime".into(),
        format_iso(task.last_action(now, delay)).into(),
    );
    if let Some(description) = &task.description {
        body.insert("description".into(), description.clone().into());
    }
    body.insert("action".into(), task.action.as_str().into());
    body.insert("account".into(), "emulator".into());
    body.insert(task.value_type.clone(), task.value.clone().into());
    if status == Outcome::Failed.as_str() {
        body.insert(
            "error".into(),
            json!({
                "code": "TaskError",
                "number": TASK_ERROR_NUMBER,
                "message": "An internal error has occurred.",
            }),
        );
    }
    Value::Object(body)
}
