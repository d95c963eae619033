//! Apex Central's Automation API for the User-Defined Suspicious Object (UDSO) list, which Apex
//! Central distributes to Apex One, Deep Discovery and TippingPoint.
//!
//! - `GET /WebApp/api/SuspiciousObjects/UserDefinedSO?type=&contentFilter=` lists the objects,
//!   `Data` an array of `{type, content, notes, scan_action, expiration_utc_date}` (XSOAR
//!   `TrendMicroApex.py` `udso_list` and its context outputs in `TrendMicroApex.yml`; tmdetect
//!   `pkg/apex/udso_list.go`). An absent or empty `type` lists every type (XSOAR's connection
//!   test sends `?type=&contentFilter=`). `contentFilter` "filters the list to suspicious objects
//!   that match the specified string" (XSOAR); a case-insensitive substring match here, or exact
//!   with `apex_central.content_filter = "exact"` (**\[open\]**).
//! - `PUT /WebApp/api/SuspiciousObjects/UserDefinedSO/` with
//!   `{"param": {type, content, notes, scan_action, expiration_utc_date}}` adds one object
//!   (guide, "Add UDSO"; XSOAR `udso_add`), answering `Data: ""` (tmdetect's
//!   `UDSOAddResponse`). The body must be `application/json` ("This API only supports the
//!   following Content-Type: application/json;charset=utf-8", guide). Re-adding a value updates
//!   it, as the File UDSO API documents for files ("If the file already exists, it will be updated
//!   with the new arguments", XSOAR `trendmicro-apex-udso-file-add`; **\[open\]** for this API).
//!   A new object past `apex_central.max_objects` (all types together; 10,000 unless configured,
//!   **\[open\]**: Trend publishes no cap) is refused with 413, ErrorCode 12 "Maximum exceeded".
//! - `DELETE /WebApp/api/SuspiciousObjects/UserDefinedSO?type=&content=` removes one (XSOAR
//!   `udso_delete`; tmdetect `udso_delete.go`), answering `Data: ""`. Removing an absent object
//!   answers 500 with ErrorCode 8 "Data not found", the code table's only "not found", unless
//!   `apex_central.missing_on_delete = "ok"` (**\[open\]**).
//!
//! Every path is also served with a trailing slash (the guide and tmdetect write one, XSOAR
//! only for `PUT`) and under `/WebApp/api/v1/` ("always calls the first version of the API",
//! guide). Writes need an application that is not `read_only` (403, ErrorCode 10); an
//! application's `PermissionCtrl.permission` says `"255"` or `"1"`. Authentication is in
//! [`auth`], answers in [`error`], the object and its rules in [`model`].

pub mod auth;
pub mod error;
pub mod model;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use crate::Emulator;
use crate::config::{ApexCentralSettings, ContentFilterMatch, MissingOnDelete};
use auth::ApexCall;
use error::{ApexError, success};
use model::{UdsoObject, UdsoType};

/// The UDSO resource, as XSOAR's `UDSOAPIPATH` spells it.
pub const UDSO_PATH: &str = "/WebApp/api/SuspiciousObjects/UserDefinedSO";
/// The same resource pinned to the first API version (guide).
const UDSO_V1_PATH: &str = "/WebApp/api/v1/SuspiciousObjects/UserDefinedSO";

/// The Apex Central routes.
pub fn routes() -> Router<Emulator> {
    let mut router = Router::new();
    for path in [UDSO_PATH, UDSO_V1_PATH] {
        for spelling in [path.to_owned(), format!("{path}/")] {
            router = router.route(&spelling, get(list).put(add).delete(remove));
        }
    }
    router
}

/// A query parameter, `None` when absent or empty.
fn param<'a>(call: &'a ApexCall, name: &str) -> Option<&'a str> {
    call.query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn type_param(call: &ApexCall) -> Result<Option<UdsoType>, ApexError> {
    param(call, "type")
        .map(|name| {
            UdsoType::selected_by(name)
                .ok_or_else(|| ApexError::IncorrectParameter(format!("unknown type \"{name}\"")))
        })
        .transpose()
}

fn matches_filter(settings: &ApexCentralSettings, object: &UdsoObject, filter: &str) -> bool {
    match settings.content_filter {
        ContentFilterMatch::Substring => object
            .content
            .to_lowercase()
            .contains(&filter.to_lowercase()),
        ContentFilterMatch::Exact => {
            object.kind.identity(&object.content) == object.kind.identity(filter)
        }
    }
}

async fn list(State(emulator): State<Emulator>, call: ApexCall) -> Result<Response, ApexError> {
    let kind = type_param(&call)?;
    let filter = param(&call, "contentFilter");
    let settings = &emulator.config().apex_central;
    let sha1_type = settings.sha1_listed_as.as_str();
    let items: Vec<Value> = emulator.with_state(|state| {
        state
            .udso
            .values()
            .filter(|object| kind.is_none_or(|kind| object.kind == kind))
            .filter(|object| filter.is_none_or(|f| matches_filter(settings, object, f)))
            .map(|object| object.listed(sha1_type))
            .collect()
    });
    Ok(success(Value::Array(items), call.caller.access))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApexError> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media) if media.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(ApexError::IncorrectParameter(
            "the Content-Type must be application/json;charset=utf-8".to_owned(),
        )),
    }
}

async fn add(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    call: ApexCall,
) -> Result<Response, ApexError> {
    call.caller
        .require_write(ApexError::InsufficientPrivilege)?;
    require_json(&headers)?;
    let body: Value = serde_json::from_slice(&call.body)
        .map_err(|error| ApexError::IncorrectParameter(format!("malformed JSON: {error}")))?;
    let object = UdsoObject::from_param(&body).map_err(ApexError::IncorrectParameter)?;
    let max = emulator.config().apex_central.max_objects;
    emulator.with_state(|state| {
        let key = (object.kind, object.kind.identity(&object.content));
        if !state.udso.contains_key(&key) && state.udso.len() >= max {
            return Err(ApexError::MaximumExceeded(format!(
                "the User-Defined Suspicious Object list holds {max} objects"
            )));
        }
        state.udso.insert(key, object);
        Ok(())
    })?;
    Ok(success(Value::from(""), call.caller.access))
}

async fn remove(State(emulator): State<Emulator>, call: ApexCall) -> Result<Response, ApexError> {
    call.caller
        .require_write(ApexError::InsufficientPrivilege)?;
    let kind = type_param(&call)?
        .ok_or_else(|| ApexError::IncorrectParameter("\"type\" is required".to_owned()))?;
    let content = param(&call, "content")
        .ok_or_else(|| ApexError::IncorrectParameter("\"content\" is required".to_owned()))?;
    let removed = emulator.with_state(|state| state.udso.remove(&(kind, kind.identity(content))));
    match (removed, emulator.config().apex_central.missing_on_delete) {
        (None, MissingOnDelete::DataNotFound) => Err(ApexError::DataNotFound),
        _ => Ok(success(Value::from(""), call.caller.access)),
    }
}
