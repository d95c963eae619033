//! `/_emulator/*`: look inside and steer the emulator. No credentials are needed — these
//! endpoints exist only on the emulator, never on a real service.
//!
//! - `GET /_emulator/state` — every list, block and task as JSON ([`crate::Snapshot`]);
//! - `GET /_emulator/requests` — counts per API endpoint and status, request and response
//!   bytes (the `/_emulator/*` calls themselves are not counted);
//! - `POST /_emulator/reset` — back to the start-up state, faults, clock and counters;
//! - `GET|POST /_emulator/clock` — read, or advance with `{"advance_seconds": n}`;
//! - `GET|POST /_emulator/faults` — read, or replace with a [`FaultSettings`] document
//!   (omitted fields are 0).

use std::collections::BTreeMap;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body::Body as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Emulator;
use crate::clock::format_iso;
use crate::faults::{DropConnection, FaultSettings};

/// Counters of one endpoint (`METHOD /path/template`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    pub requests: u64,
    /// Count per status code; `"dropped"` for connections closed without a response.
    pub statuses: BTreeMap<String, u64>,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// Counters of every endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    pub endpoints: BTreeMap<String, EndpointStats>,
}

/// How one request ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// `None` when the connection was dropped.
    pub status: Option<u16>,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

impl RequestStats {
    pub(crate) fn record(&mut self, endpoint: String, outcome: Outcome) {
        let stats = self.endpoints.entry(endpoint).or_default();
        stats.requests += 1;
        let status = outcome
            .status
            .map_or_else(|| "dropped".to_owned(), |s| s.to_string());
        *stats.statuses.entry(status).or_default() += 1;
        stats.request_bytes += outcome.request_bytes;
        stats.response_bytes += outcome.response_bytes;
    }

    /// Requests to `endpoint` (e.g. `POST /v3.0/threatintel/suspiciousObjects`) with `status`.
    pub fn count(&self, endpoint: &str, status: &str) -> u64 {
        self.endpoints
            .get(endpoint)
            .and_then(|e| e.statuses.get(status))
            .copied()
            .unwrap_or(0)
    }
}

/// Middleware counting every routed API request.
pub async fn record(
    State(emulator): State<Emulator>,
    path: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = format!("{} {}", request.method(), path.as_str());
    let request_bytes = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| request.body().size_hint().lower());
    let response = next.run(request).await;
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let outcome = Outcome {
        status: (!dropped).then(|| response.status().as_u16()),
        request_bytes,
        response_bytes: response.body().size_hint().exact().unwrap_or(0),
    };
    emulator.record_request(endpoint, outcome);
    response
}

/// The `/_emulator/*` routes.
pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/state", get(state))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/clock", get(clock).post(advance_clock))
        .route("/_emulator/faults", get(faults).post(set_faults))
}

async fn state(State(emulator): State<Emulator>) -> Response {
    Json(emulator.snapshot()).into_response()
}

async fn requests(State(emulator): State<Emulator>) -> Response {
    Json(emulator.request_stats()).into_response()
}

async fn reset(State(emulator): State<Emulator>) -> Response {
    emulator.reset();
    Json(json!({"reset": true})).into_response()
}

fn clock_body(emulator: &Emulator) -> Response {
    let now = emulator.now();
    Json(json!({"now": format_iso(now), "unix": now})).into_response()
}

async fn clock(State(emulator): State<Emulator>) -> Response {
    clock_body(&emulator)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: i64,
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
}

async fn advance_clock(State(emulator): State<Emulator>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Advance>(&body) {
        Ok(advance) => {
            emulator.clock().advance(advance.advance_seconds);
            clock_body(&emulator)
        }
        Err(err) => bad_request(format!("expected {{\"advance_seconds\": n}}: {err}")),
    }
}

async fn faults(State(emulator): State<Emulator>) -> Response {
    Json(emulator.fault_settings()).into_response()
}

async fn set_faults(State(emulator): State<Emulator>, body: axum::body::Bytes) -> Response {
    let settings = match serde_json::from_slice::<FaultSettings>(&body) {
        Ok(settings) => settings,
        Err(err) => return bad_request(format!("invalid fault settings: {err}")),
    };
    if let Err(message) = settings.validate() {
        return bad_request(message);
    }
    emulator.set_faults(settings);
    Json(emulator.fault_settings()).into_response()
}
