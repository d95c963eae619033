//! Vision One (and XDR v2) error bodies, exactly as documented: whole-request errors
//! `{"error":{"code","message","number"}}` and per-item elements inside a 207.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Error `number` of a generic bad request.
pub const BAD_REQUEST_NUMBER: u32 = 4_000_102;
/// Error `number` when a list is full and nothing can be evicted.
pub const LIMIT_EXCEEDED_NUMBER: u32 = 4_000_018;

/// A whole-request error of the Vision One API.
#[derive(Debug, Clone, PartialEq)]
pub enum V1Error {
    BadRequest(String),
    /// The list cannot take the objects (number 4000018).
    LimitExceeded(String),
    InvalidToken,
    AccessDenied,
    NotFound,
    PayloadTooLarge,
    TooManyRequests {
        retry_after: u64,
        limit: u32,
    },
    Internal,
    /// The connectivity check's 500, which carries the `innererror` its spec requires
    /// (`v3.0_healthcheck_connectivity.json`; mock-up
    /// `mappings/xdr/v3/connectivity/check_availability_500.json`).
    ConnectivityInternal,
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            V1Error::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": "BadRequest", "message": message, "number": BAD_REQUEST_NUMBER}}),
            ),
            V1Error::LimitExceeded(message) => (
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": "BadRequest", "message": message, "number": LIMIT_EXCEEDED_NUMBER}}),
            ),
            V1Error::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                json!({"error": {
                    "code": "InvalidCredentials",
                    "message": "Invalid token, please check your token and try again.",
                    "innererror": {"code": "InvalidToken", "service": "svp"}
                }}),
            ),
            V1Error::AccessDenied => (
                StatusCode::FORBIDDEN,
                json!({"error": {"code": "AccessDenied", "message": "Insufficient permissions."}}),
            ),
            V1Error::NotFound => (
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "NotFound", "message": "Not found"}}),
            ),
            V1Error::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": {"code": "RequestEntityTooLarge", "message": "Request entity too large"}}),
            ),
            V1Error::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": {"code": "TooManyRequests", "message": "Too many requests", "number": 4_290_102}}),
            ),
            V1Error::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"code": "InternalServerError", "message": "Internal server error", "number": 5_000_102}}),
            ),
            V1Error::ConnectivityInternal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {
                    "code": "InternalServerError",
                    "message": "Internal error",
                    "innererror": {"code": "InternalServerError", "service": "svp"}
                }}),
            ),
        };
        let mut response = (status, Json(body)).into_response();
        if let V1Error::TooManyRequests { retry_after, limit } = self {
            let headers = response.headers_mut();
            headers.insert("Retry-After", HeaderValue::from(retry_after));
            headers.insert("RateLimit-Limit", HeaderValue::from(limit));
        }
        response
    }
}

/// A failed element of a 207 answer.
pub fn item_error(status: u16, code: &str, message: &str) -> Value {
    json!({"status": status, "body": {"error": {"code": code, "message": message}}})
}

/// A per-item 400.
pub fn item_bad_request(message: &str) -> Value {
    item_error(400, "BadRequest", message)
}

/// A per-item 500 (injected fault).
pub fn item_internal() -> Value {
    item_error(500, "InternalServerError", "Internal server error")
}

/// A per-item 404 for deleting something absent.
pub fn item_not_found() -> Value {
    item_error(404, "NotFound", "Not found")
}

/// The 207 Multi-Status response around per-item results.
pub fn multi_status(items: Vec<Value>) -> Response {
    (StatusCode::MULTI_STATUS, Json(Value::Array(items))).into_response()
}
