//! Vision One public API v3.0: the Suspicious Object List, the Exception List and the
//! connectivity check. Every endpoint needs `Authorization: Bearer <key>`; writes need a
//! full (not read-only) key.

pub mod error;
pub mod filter;
pub mod list;
pub mod model;
pub mod objects;
pub mod store;
pub mod validate;

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::Emulator;
use crate::auth::V1Caller;
use crate::body::V1Json;
use error::{V1Error, multi_status};
use filter::Subject;
use list::{ListQuery, Row, SortField};
use model::ExceptionObject;
use objects::AddContext;
use validate::ListKind;

/// The connectivity check (its injected 500 has a body of its own, see [`V1Error`]).
pub const CONNECTIVITY_PATH: &str = "/v3.0/healthcheck/connectivity";
const SUSPICIOUS_PATH: &str = "/v3.0/threatintel/suspiciousObjects";
const EXCEPTIONS_PATH: &str = "/v3.0/threatintel/suspiciousObjectExceptions";

/// The Vision One routes.
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route(CONNECTIVITY_PATH, get(connectivity))
        .route(SUSPICIOUS_PATH, get(list_suspicious).post(add_suspicious))
        .route(
            "/v3.0/threatintel/suspiciousObjects/delete",
            post(delete_suspicious),
        )
        .route(EXCEPTIONS_PATH, get(list_exceptions).post(add_exceptions))
        .route(
            "/v3.0/threatintel/suspiciousObjectExceptions/delete",
            post(delete_exceptions),
        )
}

/// `scheme://host` for links in responses: the configured public URL, else the Host header.
pub(crate) fn public_base(emulator: &Emulator, headers: &HeaderMap) -> String {
    if let Some(url) = &emulator.config().public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

async fn connectivity(_caller: V1Caller) -> Response {
    Json(json!({"status": "available"})).into_response()
}

fn add_context(emulator: &Emulator) -> AddContext {
    let config = emulator.config();
    AddContext {
        now: emulator.now(),
        settings: config.customer_settings,
        per_type_limit: config.limits.suspicious_objects_per_type,
        exception_limit: config.limits.exceptions,
    }
}

/// How one list takes a batch of new objects (see [`objects`]).
type AddFn = fn(
    &mut crate::State,
    &[serde_json::Value],
    &AddContext,
    &mut dyn FnMut() -> bool,
) -> Result<Vec<serde_json::Value>, V1Error>;

/// Checks the caller and the body, then adds to one list and answers 207.
fn add(
    emulator: &Emulator,
    caller: crate::auth::Caller,
    body: &serde_json::Value,
    add_to: AddFn,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    let items = objects::elements(body)?;
    let ctx = add_context(emulator);
    let results =
        emulator.with_state(|state| add_to(state, items, &ctx, &mut || emulator.item_fails()))?;
    Ok(multi_status(results))
}

async fn add_suspicious(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    add(&emulator, caller, &body, objects::add_suspicious)
}

async fn add_exceptions(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    add(&emulator, caller, &body, objects::add_exceptions)
}

async fn delete_suspicious(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    delete(&emulator, caller, &body, ListKind::Suspicious)
}

async fn delete_exceptions(
    State(emulator): State<Emulator>,
    V1Caller(caller): V1Caller,
    V1Json(body): V1Json,
) -> Result<Response, V1Error> {
    delete(&emulator, caller, &body, ListKind::Exception)
}

fn delete(
    emulator: &Emulator,
    caller: crate::auth::Caller,
    body: &serde_json::Value,
    list: ListKind,
) -> Result<Response, V1Error> {
    caller.require_write(V1Error::AccessDenied)?;
    let items = objects::elements(body)?;
    let results = emulator
        .with_state(|state| objects::delete(state, list, items, &mut || emulator.item_fails()));
    Ok(multi_status(results))
}

/// Query and filter of a list request.
fn list_query(
    emulator: &Emulator,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    sortable: &[SortField],
) -> Result<ListQuery, V1Error> {
    let filter = headers
        .get("TMV1-Filter")
        .map(|v| {
            v.to_str().map_err(|_| {
                V1Error::BadRequest("Invalid request - TMV1-Filter must be ASCII text.".to_owned())
            })
        })
        .transpose()?;
    ListQuery::parse(params, filter, sortable, emulator.now())
}

fn query_params(
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<HashMap<String, String>, V1Error> {
    query
        .map(|Query(params)| params)
        .map_err(|err| V1Error::BadRequest(format!("Invalid request - {err}.")))
}

async fn list_suspicious(
    State(emulator): State<Emulator>,
    _caller: V1Caller,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, V1Error> {
    let params = query_params(query)?;
    let sortable = [
        SortField::LastModified,
        SortField::Expired,
        SortField::RiskLevel,
    ];
    let query = list_query(&emulator, &params, &headers, &sortable)?;
    let link_base = format!("{}{SUSPICIOUS_PATH}", public_base(&emulator, &headers));
    let page = emulator.with_state(|state| {
        let rows = state.suspicious.values().map(|o| Row {
            item: o,
            subject: Subject {
                kind: o.kind,
                value: &o.value,
                scan_action: Some(o.scan_action.as_str()),
                risk_level: Some(o.risk_level.as_str()),
            },
            last_modified: o.last_modified,
            sort_value: match query.sort {
                SortField::LastModified => o.last_modified,
                SortField::Expired => o.expiry_or_never(),
                SortField::RiskLevel => o.risk_level as i64,
            },
            seq: o.seq,
        });
        query.page(rows, &link_base, |o| {
            o.to_api_json(state.in_exception_list(o.kind, &o.value))
        })
    });
    Ok(Json(page).into_response())
}

async fn list_exceptions(
    State(emulator): State<Emulator>,
    _caller: V1Caller,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, V1Error> {
    let params = query_params(query)?;
    let query = list_query(&emulator, &params, &headers, &[SortField::LastModified])?;
    let link_base = format!("{}{EXCEPTIONS_PATH}", public_base(&emulator, &headers));
    let page = emulator.with_state(|state| {
        let rows = state.exceptions.values().map(|e| Row {
            item: e,
            subject: Subject {
                kind: e.kind,
                value: &e.value,
                scan_action: None,
                risk_level: None,
            },
            last_modified: e.last_modified,
            sort_value: e.last_modified,
            seq: e.seq,
        });
        query.page(rows, &link_base, ExceptionObject::to_api_json)
    });
    Ok(Json(page).into_response())
}
