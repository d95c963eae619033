//! The User-Defined Suspicious Object and the rules a new one must meet.
//!
//! - `type`: `ip`, `url`, `file_sha1`, `domain` (Apex Central 2019 Automation API guide, "Add
//!   UDSO"; XSOAR `TrendMicroApex.yml`, whose delete command offers exactly these four;
//!   `mpkondrashin/tmdetect` `pkg/apex/generate.go`). `file` is the type of objects made from an
//!   uploaded file (its content is the file as base64, XSOAR `TrendMicroApex.yml`
//!   `trendmicro-apex-udso-add`; the "Add File UDSO" API): file uploads are not emulated, so
//!   adding one is refused; in reads and deletes `file` selects the SHA-1 objects too.
//! - `content`: for `ip` an IPv4 address ("provide the IPv4 address", guide; IPv6 is refused —
//!   **\[open\]** whether later versions take it); for `url` a URL starting with `http://` or
//!   `https://`, at most 2047 characters (guide); for `file_sha1` 40 hex digits (guide: "maximum
//!   length: 40 characters"); for `domain` a host name of at most 253 characters (**\[open\]**: the
//!   guide gives no rule).
//! - `scan_action`: `log` or `block` (guide), and `quarantine` for file objects only (XSOAR
//!   `TrendMicroApex.yml`: "The quarantine scan action is only available for file type
//!   objects"; **\[open\]** whether that includes `file_sha1`: the emulator says it does).
//!   Compared without ASCII case (the File UDSO API spells them `LOG`, `Log`).
//! - `notes`: optional, at most 256 characters (guide).
//! - `expiration_utc_date`: optional (XSOAR and Trend's MISP sample send it; the 2019 guide
//!   predates it). Taken as RFC 3339 (`2020-01-25T09:00:00Z` in XSOAR's help,
//!   `2023-08-13T19:06:07.915215+03:00` in tmdetect's `apex.go` comment) or without a zone as
//!   UTC (`2006-01-02T15:04:05`, tmdetect's `expiration_utc_date.go`); absent, `null` or `""`
//!   (what XSOAR sends by default) means it never expires. Listed without a zone and without
//!   fractions (tmdetect's format; a Siemplify example shows `2021-03-26T12:26:49.753`), `null`
//!   when it never expires (XSOAR's README example). Expired objects leave the list
//!   (**\[open\]**, as Vision One does).
//! - SHA-1 values are kept in upper case, as listed in XSOAR's README example
//!   (`A94A8FE5CCB19BA61C4C0873D391E987982FBBD3`) and sent by tmdetect (**\[open\]**); hashes and
//!   domains compare without case, so re-adding one in another case updates it.

use std::net::Ipv4Addr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::clock::{format_iso, parse_iso};

/// Longest URL (guide, "Add UDSO").
pub const MAX_URL_CHARS: usize = 2047;
/// Longest note (guide, "Add UDSO").
pub const MAX_NOTES_CHARS: usize = 256;
/// Longest domain (**\[open\]**: DNS's limit).
pub const MAX_DOMAIN_CHARS: usize = 253;

/// The kind of a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UdsoType {
    Ip,
    Url,
    FileSha1,
    Domain,
}

impl UdsoType {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UdsoType::Ip => "ip",
            UdsoType::Url => "url",
            UdsoType::FileSha1 => "file_sha1",
            UdsoType::Domain => "domain",
        }
    }

    /// The type a `type` parameter selects in reads and deletes (`file` selects SHA-1s).
    pub fn selected_by(name: &str) -> Option<Self> {
        match name {
            "ip" => Some(UdsoType::Ip),
            "url" => Some(UdsoType::Url),
            "file_sha1" | "file" => Some(UdsoType::FileSha1),
            "domain" => Some(UdsoType::Domain),
            _ => None,
        }
    }

    /// The form two values of this type are compared in.
    pub fn identity(self, content: &str) -> String {
        match self {
            UdsoType::FileSha1 | UdsoType::Domain => content.to_ascii_lowercase(),
            UdsoType::Ip | UdsoType::Url => content.to_owned(),
        }
    }
}

/// What products do when they meet the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanAction {
    Log,
    Block,
    Quarantine,
}

impl ScanAction {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "log" => Some(ScanAction::Log),
            "block" => Some(ScanAction::Block),
            "quarantine" => Some(ScanAction::Quarantine),
            _ => None,
        }
    }
}

/// One object on the User-Defined Suspicious Object list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdsoObject {
    #[serde(rename = "type")]
    pub kind: UdsoType,
    pub content: String,
    pub notes: String,
    pub scan_action: ScanAction,
    /// Unix seconds; `None` never expires. ISO 8601 in the state file.
    #[serde(
        rename = "expiration_utc_date",
        serialize_with = "iso_out",
        deserialize_with = "iso_in"
    )]
    pub expires: Option<i64>,
}

fn iso_out<S: Serializer>(expires: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    expires.map(format_iso).serialize(serializer)
}

fn iso_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| parse_iso(&t).ok_or_else(|| serde::de::Error::custom(format!("bad time {t}"))))
        .transpose()
}

/// How listed expiry dates are written (no zone, whole seconds).
const LISTED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// Zone-less input, with or without a fraction of a second.
const ZONELESS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");

impl UdsoObject {
    /// The object as the list API shows it; `sha1_type` is how SHA-1 objects are typed there.
    pub fn listed(&self, sha1_type: &str) -> Value {
        let kind = match self.kind {
            UdsoType::FileSha1 => sha1_type,
            other => other.as_str(),
        };
        let expires = self
            .expires
            .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
            .and_then(|at| at.format(LISTED).ok());
        json!({
            "type": kind,
            "content": self.content,
            "notes": self.notes,
            "scan_action": self.scan_action,
            "expiration_utc_date": expires,
        })
    }

    /// Whether the object is gone at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }

    /// Checks the `param` object of an add and makes the object it describes.
    pub fn from_param(body: &Value) -> Result<Self, String> {
        let param = body
            .get("param")
            .and_then(Value::as_object)
            .ok_or("the body must be {\"param\": {...}}")?;
        let kind = match required(param, "type")? {
            "file" => return Err("file uploads (type \"file\") are not emulated".to_owned()),
            name => UdsoType::selected_by(name).ok_or(format!("unknown type \"{name}\""))?,
        };
        let content = checked_content(kind, required(param, "content")?)?;
        let scan_action = scan_action(kind, required(param, "scan_action")?)?;
        let notes = optional(param, "notes")?.unwrap_or_default().to_owned();
        if notes.chars().count() > MAX_NOTES_CHARS {
            return Err(format!(
                "notes are longer than {MAX_NOTES_CHARS} characters"
            ));
        }
        let expires = optional(param, "expiration_utc_date")?
            .filter(|text| !text.is_empty())
            .map(|text| parse_expiry(text).ok_or(format!("bad expiration_utc_date \"{text}\"")))
            .transpose()?;
        Ok(UdsoObject {
            kind,
            content,
            notes,
            scan_action,
            expires,
        })
    }
}

fn required<'a>(param: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    optional(param, key)?.ok_or(format!("\"{key}\" is required"))
}

fn optional<'a>(param: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match param.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(format!("\"{key}\" must be a string")),
    }
}

fn scan_action(kind: UdsoType, text: &str) -> Result<ScanAction, String> {
    let action = ScanAction::parse(text).ok_or(format!("unknown scan_action \"{text}\""))?;
    if action == ScanAction::Quarantine && kind != UdsoType::FileSha1 {
        return Err("the quarantine scan action is only available for file objects".to_owned());
    }
    Ok(action)
}

/// The content as stored, or why it is refused.
fn checked_content(kind: UdsoType, content: &str) -> Result<String, String> {
    let bad = || format!("\"{content}\" is not a valid {} value", kind.as_str());
    match kind {
        UdsoType::Ip => content
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| bad()),
        UdsoType::FileSha1 => (content.len() == 40
            && content.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| content.to_ascii_uppercase())
        .ok_or_else(bad),
        UdsoType::Url => {
            let lower = content.to_ascii_lowercase();
            let scheme = lower.starts_with("http://") || lower.starts_with("https://");
            (scheme
                && content.chars().count() <= MAX_URL_CHARS
                && !content.contains(char::is_whitespace))
            .then(|| content.to_owned())
            .ok_or_else(bad)
        }
        UdsoType::Domain => is_host_name(content)
            .then(|| content.to_owned())
            .ok_or_else(bad),
    }
}

fn is_host_name(text: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    text.len() <= MAX_DOMAIN_CHARS
        && text.contains('.')
        && text.trim_end_matches('.').split('.').all(label_ok)
}

/// Unix seconds of an expiry date as clients send it.
pub fn parse_expiry(text: &str) -> Option<i64> {
    parse_iso(text).or_else(|| {
        PrimitiveDateTime::parse(text, ZONELESS)
            .ok()
            .map(|at| at.assume_utc().unix_timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(fields: Value) -> Result<UdsoObject, String> {
        UdsoObject::from_param(&json!({ "param": fields }))
    }

    #[test]
    fn valid_objects_are_normalised() {
        let sha1 = param(json!({"type": "file_sha1", "content": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "scan_action": "Quarantine"})).unwrap();
        assert_eq!(sha1.content, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
        assert_eq!(sha1.scan_action, ScanAction::Quarantine);
        assert_eq!(sha1.expires, None);
        let ip = param(json!({"type": "ip", "content": "198.51.100.7", "scan_action": "block", "notes": "n", "expiration_utc_date": "2030-01-25T09:00:00Z"})).unwrap();
        assert_eq!(ip.expires, Some(1_895_562_000));
        assert_eq!(
            ip.listed("file_sha1")["expiration_utc_date"],
            "2030-01-25T09:00:00"
        );
        let never = param(json!({"type": "domain", "content": "evil.example", "scan_action": "log", "expiration_utc_date": ""})).unwrap();
        assert_eq!(never.listed("file")["expiration_utc_date"], Value::Null);
    }

    #[test]
    fn expiry_dates_read_in_every_documented_form() {
        assert_eq!(parse_expiry("2030-01-25T09:00:00Z"), Some(1_895_562_000));
        assert_eq!(parse_expiry("2030-01-25T09:00:00"), Some(1_895_562_000));
        assert_eq!(parse_expiry("2030-01-25T09:00:00.753"), Some(1_895_562_000));
        assert_eq!(
            parse_expiry("2030-01-25T12:00:00.915215+03:00"),
            Some(1_895_562_000)
        );
        assert_eq!(parse_expiry("25/01/2030"), None);
    }

    #[test]
    fn invalid_objects_say_why() {
        let cases = [
            (
                json!({"type": "ip", "content": "2001:db8::1", "scan_action": "log"}),
                "valid ip",
            ),
            (
                json!({"type": "url", "content": "evil.example/x", "scan_action": "log"}),
                "valid url",
            ),
            (
                json!({"type": "file_sha1", "content": "abc", "scan_action": "log"}),
                "valid file_sha1",
            ),
            (
                json!({"type": "domain", "content": "evil", "scan_action": "log"}),
                "valid domain",
            ),
            (
                json!({"type": "ip", "content": "1.2.3.4", "scan_action": "quarantine"}),
                "quarantine",
            ),
            (
                json!({"type": "ip", "content": "1.2.3.4", "scan_action": "clean"}),
                "scan_action",
            ),
            (
                json!({"type": "hash", "content": "1.2.3.4", "scan_action": "log"}),
                "unknown type",
            ),
            (
                json!({"type": "file", "content": "dGVzdA==", "scan_action": "log"}),
                "not emulated",
            ),
            (
                json!({"type": "ip", "scan_action": "log"}),
                "\"content\" is required",
            ),
            (
                json!({"type": "ip", "content": 7, "scan_action": "log"}),
                "must be a string",
            ),
            (
                json!({"type": "ip", "content": "1.2.3.4", "scan_action": "log", "notes": "x".repeat(257)}),
                "notes",
            ),
            (
                json!({"type": "ip", "content": "1.2.3.4", "scan_action": "log", "expiration_utc_date": "soon"}),
                "expiration",
            ),
        ];
        for (fields, expected) in cases {
            let error = param(fields.clone()).unwrap_err();
            assert!(error.contains(expected), "{fields}: {error}");
        }
        assert!(UdsoObject::from_param(&json!({"type": "ip"})).is_err());
        let long_url = format!("https://evil.example/{}", "a".repeat(MAX_URL_CHARS));
        assert!(param(json!({"type": "url", "content": long_url, "scan_action": "log"})).is_err());
    }

    #[test]
    fn state_form_round_trips() {
        let object = param(json!({"type": "url", "content": "https://evil.example/x", "scan_action": "block", "expiration_utc_date": "2030-01-25T09:00:00Z"})).unwrap();
        let text = serde_json::to_string(&object).unwrap();
        assert!(
            text.contains("\"expiration_utc_date\":\"2030-01-25T09:00:00Z\""),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<UdsoObject>(&text).unwrap(), object);
    }
}
