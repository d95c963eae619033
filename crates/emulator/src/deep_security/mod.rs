//! Deep Security Manager / Workload Security IP lists under `/api/` (so the base URL is
//! `http://host:port/api`): list, create, describe, modify (partial; `items` replaces the
//! array), delete and search. Every call needs `api-version: v1` and either
//! `api-secret-key: <key>` or `Authorization: ApiKey <key>`; every response carries
//! `X-DSM-Version`. Errors are `{"message": "..."}`.
//!
//! Validation: a non-empty unique name (at most 254 characters), each item in the grammar of
//! [`items`], at most `limits.ip_list_chars` characters of items joined by newlines, at most
//! `limits.ip_lists` lists — each refusal a 400 that says which rule and, for items, which item.

pub mod error;
pub mod items;
pub mod model;
pub mod search;

use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::Emulator;
use crate::auth::DsCaller;
use crate::body::DsJson;
use crate::state::State as EmulatorState;
use error::DsError;
use model::IpList;
use search::Search;

/// Longest IP list name accepted.
const MAX_NAME_CHARS: usize = 254;

/// The Deep Security routes.
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/api/iplists", get(list).post(create))
        .route("/api/iplists/search", post(search_lists))
        .route(
            "/api/iplists/{id}",
            get(describe).post(modify).delete(delete),
        )
}

/// Middleware stamping `X-DSM-Version` on every answer under `/api/`, errors and injected
/// faults included.
pub async fn stamp_version(
    State(emulator): State<Emulator>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let deep_security = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if deep_security
        && let Ok(version) = HeaderValue::from_str(&emulator.config().deep_security.dsm_version)
    {
        response.headers_mut().insert("X-DSM-Version", version);
    }
    response
}

fn ip_lists_body(lists: Vec<IpList>) -> Response {
    Json(json!({ "ipLists": lists })).into_response()
}

async fn list(State(emulator): State<Emulator>, _caller: DsCaller) -> Response {
    let lists = emulator.with_state(|state| state.ip_lists.values().cloned().collect());
    ip_lists_body(lists)
}

async fn search_lists(
    State(emulator): State<Emulator>,
    _caller: DsCaller,
    DsJson(body): DsJson,
) -> Result<Response, DsError> {
    let search = Search::parse(&body).map_err(DsError::BadRequest)?;
    let lists = emulator.with_state(|state| search.run(state.ip_lists.values()));
    Ok(ip_lists_body(lists))
}

fn parse_id(id: &str) -> Result<u32, DsError> {
    id.parse().map_err(|_| DsError::NotFound)
}

async fn describe(
    State(emulator): State<Emulator>,
    _caller: DsCaller,
    Path(id): Path<String>,
) -> Result<Response, DsError> {
    let id = parse_id(&id)?;
    emulator
        .with_state(|state| state.ip_lists.get(&id).cloned())
        .map(|l| Json(l).into_response())
        .ok_or(DsError::NotFound)
}

/// The fields of a create or modify body, each `None` when absent.
#[derive(Debug, Default)]
struct Changes {
    name: Option<String>,
    description: Option<Option<String>>,
    items: Option<Vec<String>>,
}

fn changes(body: &Value) -> Result<Changes, DsError> {
    let bad = |m: String| DsError::BadRequest(m);
    let map: &Map<String, Value> = body
        .as_object()
        .ok_or_else(|| bad("The request body must be a JSON object (an IP list).".to_owned()))?;
    let name = match map.get("name") {
        None => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(bad("The IP list name must be a string.".to_owned())),
    };
    let description = match map.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(_) => return Err(bad("The IP list description must be a string.".to_owned())),
    };
    let items = match map.get("items") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(values)) => Some(
            values
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(format!("IP list items must be strings, got {v}.")))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(bad(
                "The IP list items must be an array of strings.".to_owned()
            ));
        }
    };
    Ok(Changes {
        name,
        description,
        items,
    })
}

/// Checks a list as it would be stored; `own_id` excludes the list itself from the
/// unique-name check.
fn check_list(
    state: &EmulatorState,
    list: &IpList,
    own_id: Option<u32>,
    max_chars: usize,
) -> Result<(), DsError> {
    let bad = |m: String| DsError::BadRequest(m);
    let name = list.name.trim();
    if name.is_empty() {
        return Err(bad(
            "The IP list name is required and cannot be empty.".to_owned()
        ));
    }
    if list.name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(format!(
            "The IP list name is longer than {MAX_NAME_CHARS} characters."
        )));
    }
    if state
        .ip_lists
        .values()
        .any(|other| Some(other.id) != own_id && other.name == list.name)
    {
        return Err(bad(format!(
            "An IP list named \"{}\" already exists.",
            list.name
        )));
    }
    for (index, item) in list.items.iter().enumerate() {
        items::check_item(item).map_err(|reason| {
            bad(format!(
                "Invalid IP list item {} \"{item}\": {reason}.",
                index + 1
            ))
        })?;
    }
    let chars = IpList::item_chars(&list.items);
    if chars > max_chars {
        return Err(bad(format!(
            "The IP list items total {chars} characters (joined by newlines); the maximum is {max_chars}."
        )));
    }
    Ok(())
}

async fn create(
    State(emulator): State<Emulator>,
    DsCaller(caller): DsCaller,
    DsJson(body): DsJson,
) -> Result<Response, DsError> {
    caller.require_write(DsError::Forbidden("Not authorized to create IP lists."))?;
    let changes = changes(&body)?;
    let limits = emulator.config().limits;
    let created = emulator.with_state(|state| {
        if state.ip_lists.len() >= limits.ip_lists {
            return Err(DsError::BadRequest(format!(
                "The maximum number of IP lists ({}) has been reached.",
                limits.ip_lists
            )));
        }
        let list = IpList {
            id: state.next_ip_list_id,
            name: changes.name.unwrap_or_default(),
            description: changes.description.flatten(),
            items: changes.items.unwrap_or_default(),
        };
        check_list(state, &list, None, limits.ip_list_chars)?;
        state.next_ip_list_id += 1;
        state.ip_lists.insert(list.id, list.clone());
        Ok(list)
    })?;
    Ok(Json(created).into_response())
}

async fn modify(
    State(emulator): State<Emulator>,
    DsCaller(caller): DsCaller,
    Path(id): Path<String>,
    DsJson(body): DsJson,
) -> Result<Response, DsError> {
    caller.require_write(DsError::Forbidden(
        "Not authorized to modify IP lists or the requested modification is not permitted.",
    ))?;
    let id = parse_id(&id)?;
    let changes = changes(&body)?;
    let max_chars = emulator.config().limits.ip_list_chars;
    let modified = emulator.with_state(|state| {
        let mut list = state.ip_lists.get(&id).cloned().ok_or(DsError::NotFound)?;
        if let Some(name) = changes.name {
            list.name = name;
        }
        if let Some(description) = changes.description {
            list.description = description;
        }
        if let Some(items) = changes.items {
            list.items = items;
        }
        check_list(state, &list, Some(id), max_chars)?;
        state.ip_lists.insert(id, list.clone());
        Ok(list)
    })?;
    Ok(Json(modified).into_response())
}

async fn delete(
    State(emulator): State<Emulator>,
    DsCaller(caller): DsCaller,
    Path(id): Path<String>,
) -> Result<Response, DsError> {
    caller.require_write(DsError::Forbidden("Not authorized to delete IP lists."))?;
    let id = parse_id(&id)?;
    emulator
        .with_state(|state| state.ip_lists.remove(&id))
        .map(|_| ().into_response())
        .ok_or(DsError::NotFound)
}
