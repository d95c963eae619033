//! Apex Central's answers: every response of the Custom Intelligence APIs (the UDSO list among
//! them) is the same envelope,
//! `{"Data": …, "Meta": {"Result", "ErrorCode", "ErrorMsg"}, "PermissionCtrl": {"permission",
//! "elements"}, "FeatureCtrl": {"mode"}, "SystemCtrl": {"TmcmSoDist_Role"}}` (Apex Central 2019
//! Automation API guide, "Custom Intelligence Automation API Response Format"; the general
//! "API Responses" page of automation.trendmicro.com), and each failure has an HTTP status and an
//! `ErrorCode` from the guide's "Custom Intelligence Automation API Response Codes" table:
//!
//! | HTTP | ErrorCode | meaning |
//! |---|---|---|
//! | 400 | 7 | Incorrect parameter |
//! | 401 | 14–21 | token not provided, malformed, unsupported version, invalid application ID, expired, invalid signature, invalid request checksum, unsupported hash function |
//! | 403 | 10 | Insufficient privilege |
//! | 413 | 12 | Maximum exceeded |
//! | 500 | 8 | Data not found |
//! | 500 | 99 | Internal server error |
//!
//! `Result` and `ErrorCode` are JSON integers, as the response-format page shows and as XSOAR's
//! `TrendMicroApex.py` (`response['Meta']['ErrorCode'] != 0`) and `mpkondrashin/tmdetect`
//! (`pkg/apex/apex.go`, `ErrApex`) read them; the "Add UDSO" page's example quotes them as
//! strings, which clients should also accept. `permission` and `mode` are strings (`"255"`,
//! `"1"`), as in the guide's example and tmdetect's `permission.go`. What `Data` holds in an
//! error answer is **\[open\]**: the emulator sends `null`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::Access;

/// `PermissionCtrl.permission` of a full-control account (guide: "255: Full control").
pub const FULL_CONTROL: &str = "255";
/// `PermissionCtrl.permission` of a read-only account (guide: "1: Read-only").
pub const READ_ONLY: &str = "1";

/// Why the JWT of a request was refused: each a 401 with its own `ErrorCode` (guide's response
/// code table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header (14).
    TokenNotProvided,
    /// Not three base64url parts of JSON, or a claim of the wrong type (15).
    MalformedToken,
    /// `version` is not `V1` (16).
    UnsupportedVersion,
    /// `appid` names no registered application (17).
    InvalidApplicationId,
    /// `iat` is outside the application's communication time-out (18).
    TokenExpired,
    /// The HMAC does not match the application's API key (19).
    InvalidSignature,
    /// `checksum` does not match the request as received (20).
    InvalidChecksum,
    /// `alg` is not HS256, HS384 or HS512 (21).
    UnsupportedHashFunction,
}

impl AuthFailure {
    fn code_and_message(self) -> (u32, &'static str) {
        match self {
            AuthFailure::TokenNotProvided => (14, "Authentication failure: Token not provided"),
            AuthFailure::MalformedToken => (15, "Authentication failure: Malformed token"),
            AuthFailure::UnsupportedVersion => {
                (16, "Authentication failure: Unsupported token version")
            }
            AuthFailure::InvalidApplicationId => {
                (17, "Authentication failure: Invalid Application ID")
            }
            AuthFailure::TokenExpired => (18, "Authentication failure: Token expired"),
            AuthFailure::InvalidSignature => {
                (19, "Authentication failure: Invalid token signature")
            }
            AuthFailure::InvalidChecksum => {
                (20, "Authentication failure: Invalid request checksum")
            }
            AuthFailure::UnsupportedHashFunction => (
                21,
                "Authentication failure: Unsupported token hash function",
            ),
        }
    }
}

/// A failed Apex Central request.
#[derive(Debug, Clone, PartialEq)]
pub enum ApexError {
    /// 401 with the failure's code.
    Unauthorized(AuthFailure),
    /// 400, ErrorCode 7 "Incorrect parameter", with what was wrong.
    IncorrectParameter(String),
    /// 403, ErrorCode 10: a read-only account tried to write.
    InsufficientPrivilege,
    /// 413, ErrorCode 12: the list is full (or the body too large).
    MaximumExceeded(String),
    /// 500, ErrorCode 8: deleting an object that is not on the list (see
    /// [`crate::config::MissingOnDelete`]).
    DataNotFound,
    /// 500, ErrorCode 99 (injected fault).
    Internal,
    /// HTTP 429, **\[open\]**: Apex Central documents no rate limit and no 429 (its code table
    /// stops at 413 and 500); the emulator answers one only when a rate limit or a burst of 429s
    /// is configured, with `Retry-After` and `ErrorCode` 0.
    TooManyRequests { retry_after: u64 },
}

impl ApexError {
    fn parts(&self) -> (StatusCode, u32, String) {
        match self {
            ApexError::Unauthorized(failure) => {
                let (code, message) = failure.code_and_message();
                (StatusCode::UNAUTHORIZED, code, message.to_owned())
            }
            ApexError::IncorrectParameter(detail) => (
                StatusCode::BAD_REQUEST,
                7,
                format!("Incorrect parameter: {detail}"),
            ),
            ApexError::InsufficientPrivilege => (
                StatusCode::FORBIDDEN,
                10,
                "Insufficient privilege".to_owned(),
            ),
            ApexError::MaximumExceeded(detail) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                12,
                format!("Maximum exceeded: {detail}"),
            ),
            ApexError::DataNotFound => (
                StatusCode::INTERNAL_SERVER_ERROR,
                8,
                "Data not found".to_owned(),
            ),
            ApexError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                99,
                "Internal server error".to_owned(),
            ),
            ApexError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                0,
                "Too many requests".to_owned(),
            ),
        }
    }
}

impl IntoResponse for ApexError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let meta = json!({"Result": 0, "ErrorCode": code, "ErrorMsg": message});
        let mut response = (status, Json(envelope(Value::Null, meta, None))).into_response();
        if let ApexError::TooManyRequests { retry_after } = self {
            response
                .headers_mut()
                .insert("Retry-After", HeaderValue::from(retry_after));
        }
        response
    }
}

/// The envelope around `data`; `access` is the caller's when known (**\[open\]**: what an
/// answer sent before the caller is known reports is undocumented; the emulator says `"0"`).
fn envelope(data: Value, meta: Value, access: Option<Access>) -> Value {
    let permission = match access {
        Some(Access::Full) => FULL_CONTROL,
        Some(Access::ReadOnly) => READ_ONLY,
        None => "0",
    };
    json!({
        "Data": data,
        "Meta": meta,
        "PermissionCtrl": {"permission": permission, "elements": null},
        // "1: Apex Central on-premises server"; "none: No distribution settings configured".
        "FeatureCtrl": {"mode": "1"},
        "SystemCtrl": {"TmcmSoDist_Role": "none"},
    })
}

/// A 200 answer with `Data`: `Result` 1, `ErrorCode` 0, `ErrorMsg` "" (guide's format page).
pub fn success(data: Value, access: Access) -> Response {
    let meta = json!({"Result": 1, "ErrorCode": 0, "ErrorMsg": ""});
    Json(envelope(data, meta, Some(access))).into_response()
}
