//! How values are kept in columns, the same in every backend: times as milliseconds since the
//! Unix epoch, kinds as their names, structured values as JSON text; and the error a value
//! read back gets when it does not parse.

use chrono::{DateTime, Utc};
use indicator::Kind;

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch, the unit every time column uses.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::corrupt("timestamp", ms.to_string(), "out of range"))
}

pub(crate) fn parse_kind(text: &str) -> Result<Kind> {
    text.parse::<Kind>()
        .map_err(|e| Error::corrupt("kind", text, e.to_string()))
}

pub(crate) fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what, source })
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    text: String,
) -> Result<T> {
    serde_json::from_str(&text).map_err(|e| Error::corrupt(what, text, e))
}
