//! Request bodies read under a byte limit, parsed as JSON, with each API family's errors:
//! too large is a 413, malformed JSON a 400.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use serde_json::Value;

use crate::Emulator;
use crate::deep_security::error::DsError;
use crate::vision_one::error::V1Error;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// Reads the whole body if it is at most `limit` bytes (checking `Content-Length` first).
pub async fn read_limited(request: Request, limit: usize) -> Result<Bytes, TooLarge> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(TooLarge);
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| TooLarge)
}

/// A Vision One / XDR JSON body (limit `limits.body_bytes`).
#[derive(Debug, Clone)]
pub struct V1Json(pub Value);

impl FromRequest<Emulator> for V1Json {
    type Rejection = V1Error;

    async fn from_request(request: Request, state: &Emulator) -> Result<Self, V1Error> {
        let bytes = read_limited(request, state.config().limits.body_bytes)
            .await
            .map_err(|TooLarge| V1Error::PayloadTooLarge)?;
        serde_json::from_slice(&bytes)
            .map(V1Json)
            .map_err(|err| V1Error::BadRequest(format!("Invalid request - Malformed JSON: {err}.")))
    }
}

/// A Deep Security JSON body (limit `limits.deep_security_body_bytes`); an empty body is
/// `null`.
#[derive(Debug, Clone)]
pub struct DsJson(pub Value);

impl FromRequest<Emulator> for DsJson {
    type Rejection = DsError;

    async fn from_request(request: Request, state: &Emulator) -> Result<Self, DsError> {
        let bytes = read_limited(request, state.config().limits.deep_security_body_bytes)
            .await
            .map_err(|TooLarge| DsError::PayloadTooLarge)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(DsJson(Value::Null));
        }
        serde_json::from_slice(&bytes).map(DsJson).map_err(|err| {
            DsError::BadRequest(format!("The request body is not valid JSON: {err}"))
        })
    }
}
