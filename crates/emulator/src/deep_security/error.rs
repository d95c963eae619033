//! Deep Security error bodies: `{"message": "..."}`, with no `Retry-After` on 429.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Deep Security API error.
#[derive(Debug, Clone, PartialEq)]
pub enum DsError {
    BadRequest(String),
    Unauthorized,
    Forbidden(&'static str),
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Internal,
}

impl IntoResponse for DsError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            DsError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            DsError::Unauthorized => (StatusCode::UNAUTHORIZED, "Invalid API Key".to_owned()),
            DsError::Forbidden(message) => (StatusCode::FORBIDDEN, message.to_owned()),
            DsError::NotFound => (
                StatusCode::NOT_FOUND,
                "The IP list does not exist.".to_owned(),
            ),
            DsError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.".to_owned(),
            ),
            DsError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many API requests.".to_owned(),
            ),
            DsError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error.".to_owned(),
            ),
        };
        (status, Json(json!({ "message": message }))).into_response()
    }
}
