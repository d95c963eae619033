//! The legacy XDR v2.0 response API: `POST /v2.0/xdr/response/block` and `/restoreBlock`
//! take one object `{"valueType","targetValue","productId","description"}` and answer
//! `{"actionId": n, "taskStatus": "pending"}`; `GET /v2.0/xdr/response/getTask?actionId=n`
//! reports `data.taskStatus` moving pending → ongoing → success on the emulator's clock (or
//! `failed`, `timeout`, `skipped` for values named in the fault settings'
//! `xdr_task_outcomes`). A block that succeeds shows in the state's `xdrBlocked`; a restore
//! that succeeds removes it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::Emulator;
use crate::auth::XdrCaller;
use crate::body::V1Json;
use crate::tasks::{Progress, Task, TaskAction, TaskOrigin};
use crate::vision_one::error::V1Error;
use crate::vision_one::model::ObjectType;
use crate::vision_one::validate::{ListKind, value_is_valid};

/// The XDR v2 routes.
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v2.0/xdr/response/block", post(block))
        .route("/v2.0/xdr/response/restoreBlock", post(restore))
        .route("/v2.0/xdr/response/getTask", get(get_task))
}

/// The v3 object type whose format a v2 `valueType` follows.
fn object_type(value_type: &str) -> Option<ObjectType> {
    match value_type {
        "ip" => Some(ObjectType::Ip),
        "url" => Some(ObjectType::Url),
        "domain" => Some(ObjectType::Domain),
        "mailbox" => Some(ObjectType::SenderMailAddress),
        "file_sha1" => Some(ObjectType::FileSha1),
        _ => None,
    }
}

fn optional_string(body: &Value, key: &str) -> Result<Option<String>, V1Error> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(V1Error::BadRequest(format!(
            "Invalid request - Invalid field format: {key}."
        ))),
    }
}

/// Checks a block / restore body and makes its task.
fn task_from(
    emulator: &Emulator,
    body: &Value,
    action: TaskAction,
    id: u64,
    now: i64,
) -> Result<Task, V1Error> {
    let bad = |m: &str| V1Error::BadRequest(m.to_owned());
    if !body.is_object() {
        return Err(bad(
            "Invalid request - The request body must be one JSON object.",
        ));
    }
    let value_type = body
        .get("valueType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Invalid request - Required fields not found: valueType."))?;
    let kind = object_type(value_type).ok_or_else(|| {
        bad("Invalid request - valueType must be one of ip, url, domain, mailbox, file_sha1.")
    })?;
    let value = body
        .get("targetValue")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Invalid request - Required fields not found: targetValue."))?;
    if !value_is_valid(kind, value, ListKind::Response) {
        return Err(bad("Invalid request - Invalid field format: targetValue."));
    }
    Ok(Task {
        id,
        origin: TaskOrigin::Xdr,
        action,
        value_type: value_type.to_owned(),
        value: value.to_owned(),
        product_id: optional_string(body, "productId")?,
        description: optional_string(body, "description")?,
        created: now,
        applied: false,
        outcome: emulator.task_outcome(TaskOrigin::Xdr, value),
    })
}

fn submit(emulator: &Emulator, body: &Value, action: TaskAction) -> Result<Response, V1Error> {
    let now = emulator.now();
    let id = emulator.with_state(|state| {
        let task = task_from(emulator, body, action, state.next_task_id, now)?;
        state.next_task_id += 1;
        let id = task.id;
        state.insert_task(task);
        Ok::<_, V1Error>(id)
    })?;
    Ok(Json(json!({"actionId": id, "taskStatus": "pending"})).into_response())
}

async fn block(
    State(emulator): State<Emulator>,
    XdrCaller(caller): XdrCaller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    submit(&emulator, &body, TaskAction::Block)
}

async fn restore(
    State(emulator): State<Emulator>,
    XdrCaller(caller): XdrCaller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    submit(&emulator, &body, TaskAction::RestoreBlock)
}

async fn get_task(
    State(emulator): State<Emulator>,
    _caller: XdrCaller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, V1Error> {
    let id: u64 = params
        .get("actionId")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            V1Error::BadRequest("Invalid request - actionId must be a number.".to_owned())
        })?;
    let now = emulator.now();
    let delay = emulator.config().tasks.delay_seconds;
    let task = emulator
        .with_state(|state| state.tasks.get(&id).cloned())
        .filter(|t| t.origin == TaskOrigin::Xdr)
        .ok_or(V1Error::NotFound)?;
    Ok(Json(task_body(&task, now, delay)).into_response())
}

/// The `getTask` answer exactly as Trend's mock-up has it (`tm-v1-api-mockup`
/// `mappings/xdr/v2/common/get_task.json`): times in epoch seconds, `error` an object, no
/// other field. `executedTime` and `finishedTime` are 0 until the task has started or ended
/// (the mock-up only shows a finished task).
fn task_body(task: &Task, now: i64, delay: u64) -> Value {
    let progress = task.progress(now, delay);
    let executed = match progress {
        Progress::Pending => 0,
        Progress::Ongoing | Progress::Done => task.started(delay),
    };
    let finished = match progress {
        Progress::Done => task.last_action(now, delay),
        Progress::Pending | Progress::Ongoing => 0,
    };
    json!({"data": {
        "createdTime": task.created,
        "executedTime": executed,
        "finishedTime": finished,
        "taskStatus": task.status(now, delay),
        "error": {},
    }})
}
