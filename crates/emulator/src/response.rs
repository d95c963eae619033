//! The v3 response "block list" action, successor of XDR v2 block:
//! `POST /v3.0/response/suspiciousObjects` (and `/delete` to undo) take an array of
//! single-value objects and answer 207 with, per accepted item, status 202 and an
//! `Operation-Location` header entry pointing at `GET /v3.0/response/tasks/{id}`. Tasks go
//! queued → running → succeeded on the emulator's clock; a finished block adds the value to
//! the Suspicious Object List (scan action block, customer risk level and expiry), a
//! finished restore removes it.

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
use crate::tasks::{Progress, Task, TaskAction, TaskOrigin};
use crate::vision_one::error::{V1Error, item_bad_request, item_internal, multi_status};
use crate::vision_one::objects::elements;
use crate::vision_one::public_base;
use crate::vision_one::validate::{self, ListKind};

/// Path of a task, `{}` being its eight-digit id.
const TASKS_PATH: &str = "/v3.0/response/tasks";

/// The v3 response routes.
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v3.0/response/suspiciousObjects", post(block))
        .route("/v3.0/response/suspiciousObjects/delete", post(restore))
        .route("/v3.0/response/tasks/{id}", get(task))
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

fn submit(
    emulator: &Emulator,
    caller: crate::auth::Caller,
    headers: &HeaderMap,
    body: &Value,
    action: TaskAction,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    let items = elements(body)?;
    let base = public_base(emulator, headers);
    let now = emulator.now();
    let results = emulator.with_state(|state| {
        items
            .iter()
            .map(|item| {
                let checked = validate::typed_value(item, ListKind::Response).and_then(|v| {
                    let description = item
                        .as_object()
                        .map(validate::description)
                        .transpose()?
                        .flatten();
                    Ok((v, description))
                });
                match checked {
                    _ if emulator.item_fails() => item_internal(),
                    Err(message) => item_bad_request(&message),
                    Ok((value, description)) => {
                        let id = state.next_task_id;
                        state.next_task_id += 1;
                        state.tasks.insert(
                            id,
                            Task {
                                id,
                                origin: TaskOrigin::Response,
                                action,
                                value_type: value.kind.key().to_owned(),
                                value: value.value,
                                product_id: None,
                                description,
                                created: now,
                                applied: false,
                            },
                        );
                        json!({"status": 202, "headers": [{
                            "name": "Operation-Location",
                            "value": format!("{base}{TASKS_PATH}/{}", task_id(id)),
                        }]})
                    }
                }
            })
            .collect()
    });
    Ok(multi_status(results))
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
    let status = match task.progress(now, delay) {
        Progress::Pending => "queued",
        Progress::Ongoing => "running",
        Progress::Done => "succeeded",
    };
    let mut body = Map::new();
    body.insert("id".into(), task_id(task.id).into());
    body.insert("status".into(), status.into());
    body.insert("createdDateTime".into(), format_iso(task.created).into());
    body.insert(
        "lastActionDateTime".into(),
        format_iso(task.last_action(now, delay)).into(),
    );
    body.insert("action".into(), task.action.as_str().into());
    if let Some(description) = &task.description {
        body.insert("description".into(), description.clone().into());
    }
    body.insert("account".into(), "emulator".into());
    body.insert("type".into(), task.value_type.clone().into());
    body.insert(task.value_type.clone(), task.value.clone().into());
    Ok(Json(Value::Object(body)).into_response())
}
