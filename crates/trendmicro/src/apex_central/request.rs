//! The pure parts of Apex Central's UDSO API: the request checksum and the signed token, the
//! add body, and reading answers.
//!
//! **Token** (Automation API guide, "Authentication"; Trend's Python sample `create_checksum` /
//! `create_jwt_token`, reproduced in XSOAR's `TrendMicroApex.py`): a JWT signed HS256 with the
//! API key, claims `appid`, `iat` (Unix seconds), `version: "V1"` and `checksum` =
//! base64(SHA-256(`METHOD|raw url|canonical headers|body`)): method in upper case, raw URL the
//! path and query string in lower case (no `?` without a query), canonical headers the request
//! headers starting with `API` (this client sends none, so an empty string), body the bytes
//! sent. The raw URL is taken from the URL as sent, percent-escapes included, so the server,
//! hashing what it receives, sees the same string.
//!
//! **Answers**: `{"Data", "Meta": {"Result", "ErrorCode", "ErrorMsg"}, "PermissionCtrl":
//! {"permission"}, ...}`. `Result` 1 and `ErrorCode` 0 mean success; both are integers in the
//! guide's format page and in XSOAR's and tmdetect's readers, strings in the "Add UDSO" page's
//! example: both are read. Listed objects are `{type, content, notes, scan_action,
//! expiration_utc_date}`, the date without a zone (`2006-01-02T15:04:05`, tmdetect), with a
//! fraction (`2021-03-26T12:26:49.753`, a Siemplify example) or with one, and `null` (XSOAR's
//! README example), `""` or `"None"` when the object never expires.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use url::Url;

use super::{MAX_NOTES_CHARS, MAX_URL_CHARS, ScanAction, Udso, UdsoType};
use crate::Error;
use crate::transport::{config_error, secret_header};

/// base64(SHA-256(`METHOD|lower(raw url)|canonical headers|body`)), as Trend's sample computes
/// it.
pub fn checksum(method: &str, raw_url: &str, canonical_headers: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.to_uppercase());
    hash.update(b"|");
    hash.update(raw_url.to_lowercase());
    hash.update(b"|");
    hash.update(canonical_headers);
    hash.update(b"|");
    hash.update(body);
    STANDARD.encode(hash.finalize())
}

/// The path and query string of `url` exactly as it goes on the wire (no `?` when there is no
/// query).
pub fn raw_url(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The token's claims, in the sample's order.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    appid: &'a str,
    iat: u64,
    version: &'static str,
    checksum: String,
}

/// Signs requests for one application.
pub struct Signer {
    application_id: String,
    key: EncodingKey,
}

impl fmt::Debug for Signer {
    /// Shows the application ID, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for the application; an empty key is [`Error::Config`] (`api_key`).
    pub fn new(application_id: &str, api_key: &SecretString) -> Result<Self, Error> {
        let key = EncodingKey::from_secret(api_key.expose_secret().as_bytes())
            .map_err(|_| config_error("api_key", "is empty"))?;
        Ok(Self {
            application_id: application_id.to_owned(),
            key,
        })
    }

    /// The JWT for one request issued at `iat` (Unix seconds); `raw_url` as [`raw_url`] gives it.
    pub fn token(
        &self,
        method: &str,
        raw_url: &str,
        body: &[u8],
        iat: u64,
    ) -> Result<SecretString, Error> {
        let claims = Claims {
            appid: &self.application_id,
            iat,
            version: "V1",
            checksum: checksum(method, raw_url, "", body),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map(SecretString::from)
            .map_err(|error| Error::Config {
                key: "api_key".to_owned(),
                reason: format!("cannot sign a request with it: {error}"),
            })
    }

    /// The `Authorization: Bearer <JWT>` value, marked sensitive (the token is a credential
    /// for as long as the server's time-out).
    pub fn authorization(
        &self,
        method: &str,
        raw_url: &str,
        body: &[u8],
        iat: u64,
    ) -> Result<HeaderValue, Error> {
        let token = self.token(method, raw_url, body, iat)?;
        secret_header("Bearer ", &token, "api_key")
    }
}

/// The `PUT` body adding `udso`, after the checks Apex Central would make.
pub fn add_body(udso: &Udso) -> Result<String, Error> {
    check(udso)?;
    let mut param = json!({
        "type": udso.kind.as_str(),
        "content": udso.content,
        "notes": udso.notes,
        "scan_action": udso.scan_action.as_str(),
    });
    if let Some(expires) = udso.expires {
        param["expiration_utc_date"] = Value::from(format_expiry(expires));
    }
    Ok(json!({ "param": param }).to_string())
}

fn invalid(what: &str, reason: String) -> Error {
    Error::InvalidInput {
        what: what.to_owned(),
        reason,
    }
}

/// Refuses what Apex Central documents it refuses (guide, "Add UDSO"; XSOAR's
/// `TrendMicroApex.yml` for quarantine).
fn check(udso: &Udso) -> Result<(), Error> {
    let content = &udso.content;
    if content.trim().is_empty() || content.chars().any(char::is_whitespace) {
        return Err(invalid(
            "UDSO content",
            format!("`{content}` is empty or has spaces"),
        ));
    }
    if udso.scan_action == ScanAction::Quarantine && udso.kind != UdsoType::File {
        return Err(invalid(
            "scan action",
            format!("quarantine is for file objects only, not {}", udso.kind),
        ));
    }
    if udso.notes.chars().count() > MAX_NOTES_CHARS {
        return Err(invalid(
            "UDSO notes",
            format!("longer than {MAX_NOTES_CHARS} characters"),
        ));
    }
    match udso.kind {
        UdsoType::File
            if content.len() != 40 || !content.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Err(invalid(
                "file SHA-1",
                format!("`{content}` is not 40 hex digits"),
            ))
        }
        UdsoType::Url if !has_http_scheme(content) || content.chars().count() > MAX_URL_CHARS => {
            Err(invalid(
                "URL",
                format!(
                    "must start with http:// or https:// and hold at most {MAX_URL_CHARS} characters"
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn has_http_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `2020-01-25T09:00:00Z`, the form XSOAR's help shows (UTC, whole seconds).
const SENT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// A zone-less date as listed, with or without a fraction of a second.
const LISTED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");

/// An expiry date as sent.
pub fn format_expiry(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    // Fails only for years outside 0..=9999, which Apex Central could not take either.
    utc.format(SENT)
        .unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

/// A listed expiry date: `Ok(None)` for the never-expires forms, `Err` for anything unreadable.
pub fn parse_expiry(text: Option<&str>) -> Result<Option<OffsetDateTime>, String> {
    let Some(text) = text
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "None")
    else {
        return Ok(None);
    };
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(text, LISTED).map(PrimitiveDateTime::assume_utc))
        .map(|at| Some(at.replace_nanosecond(0).unwrap_or(at)))
        .map_err(|_| format!("unreadable expiration_utc_date `{text}`"))
}

/// An integer that may come as a JSON number or a numeric string.
fn lenient_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

/// The `Meta` of an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Meta {
    #[serde(rename = "Result", default, deserialize_with = "lenient_int")]
    pub result: Option<i64>,
    #[serde(rename = "ErrorCode", default, deserialize_with = "lenient_int")]
    pub error_code: Option<i64>,
    #[serde(rename = "ErrorMsg", default)]
    pub error_msg: Option<String>,
}

impl Meta {
    /// `Result` 1 and `ErrorCode` 0 (a missing field does not count against it).
    pub fn succeeded(&self) -> bool {
        self.result.unwrap_or(1) == 1 && self.error_code.unwrap_or(0) == 0
    }

    /// `ErrorMsg (ErrorCode n)`, for errors.
    pub fn describe(&self) -> String {
        let message = self.error_msg.as_deref().unwrap_or("no message");
        match self.error_code {
            Some(code) => format!("{message} (ErrorCode {code})"),
            None => message.to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Meta")]
    meta: Option<Meta>,
    #[serde(rename = "Data", default)]
    data: Value,
    #[serde(rename = "PermissionCtrl", default)]
    permission: Option<PermissionCtrl>,
}

#[derive(Deserialize)]
struct PermissionCtrl {
    #[serde(default, deserialize_with = "lenient_int")]
    permission: Option<i64>,
}

/// The `Meta` of an answer, if it has one.
pub fn parse_meta(body: &[u8]) -> Option<Meta> {
    serde_json::from_slice::<Envelope>(body).ok()?.meta
}

/// `PermissionCtrl.permission`: 255 full control, 1 read-only (guide, "API Responses").
pub fn parse_permission(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Envelope>(body)
        .ok()?
        .permission?
        .permission
}

/// A list answer: the objects of known types, and how many of unknown types were left out.
pub fn parse_list(body: &[u8]) -> Result<(Vec<Udso>, usize), String> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|error| format!("not an Apex Central answer: {error}"))?;
    let items = match envelope.data {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => return Err(format!("Data is `{other}`, not a list")),
    };
    let mut objects = Vec::with_capacity(items.len());
    let mut skipped = 0;
    for item in &items {
        match listed_object(item)? {
            Some(object) => objects.push(object),
            None => skipped += 1,
        }
    }
    Ok((objects, skipped))
}

/// One listed object; `None` for a type this client does not manage.
fn listed_object(item: &Value) -> Result<Option<Udso>, String> {
    let fields = item
        .as_object()
        .ok_or(format!("listed item `{item}` is not an object"))?;
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    let Some(kind) = text("type").and_then(UdsoType::from_listed) else {
        return Ok(None);
    };
    let content = text("content").ok_or(format!("listed item `{item}` has no content"))?;
    let scan_action = text("scan_action")
        .and_then(ScanAction::parse)
        .ok_or(format!("listed item `{item}` has no known scan_action"))?;
    let expires = parse_expiry(text("expiration_utc_date"))?;
    Ok(Some(Udso {
        kind,
        content: content.to_owned(),
        notes: text("notes").unwrap_or_default().to_owned(),
        scan_action,
        expires,
    }))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    // Vectors computed independently with Python 3's standard library, as Trend's sample does
    // (hashlib.sha256 of "METHOD|lower(path?query)||body", base64-encoded):
    //   import base64, hashlib
    //   s = "PUT|/webapp/api/suspiciousobjects/userdefinedso/||" + body
    //   base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
    const ADD_BODY: &str = r#"{"param":{"content":"198.51.100.7","notes":"[iocsync:1a2b3c4d]","scan_action":"block","type":"ip"}}"#;
    const ADD_CHECKSUM: &str = "lBy1mp3FKtUXFBEE9ZsDJ4amV2jvZDXT1rkXRJeRFpY=";
    // s = "GET|/webapp/api/suspiciousobjects/userdefinedso?type=url&contentfilter=https%3a%2f%2fevil.example%2f||"
    const LIST_RAW_URL: &str = "/WebApp/api/SuspiciousObjects/UserDefinedSO?type=url&contentFilter=https%3A%2F%2Fevil.example%2F";
    const LIST_CHECKSUM: &str = "+8rGmraR621VJIIiVSBLYx8SXffaFjKd5fsq1MfStj0=";
    // The whole token, HS256 with key "apex-test-key", made with Python's hmac module over the
    // header and claims exactly as jsonwebtoken serialises them:
    //   h = b64url('{"typ":"JWT","alg":"HS256"}')
    //   p = b64url('{"appid":"2E28ED1B-ABA2-4D10","iat":1767225600,"version":"V1","checksum":"' + ADD_CHECKSUM + '"}')
    //   sig = b64url(hmac.new(b"apex-test-key", (h + "." + p).encode(), hashlib.sha256).digest())
    // where b64url strips the '=' padding. PyJWT 2.15.1, the library of Trend's sample and
    // XSOAR, verifies it: jwt.decode(ADD_TOKEN, "apex-test-key", algorithms=["HS256"]) returns
    // these claims.
    const ADD_TOKEN: &str = concat!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.",
        "eyJhcHBpZCI6IjJFMjhFRDFCLUFCQTItNEQxMCIsImlhdCI6MTc2NzIyNTYwMCwidmVyc2lvbiI6IlYxIiwiY2hlY2tzdW0iOiJsQnkxbXAzRkt0VVhGQkVFOVpzREo0YW1WMmp2WkRYVDFya1hSSmVSRnBZPSJ9.",
        "N9Z7hzbETAX6j3JGhRD9_A2ROzO5lhmGjvgbOJTjvYk"
    );

    #[test]
    fn checksums_match_trends_sample() {
        assert_eq!(
            checksum(
                "put",
                "/WebApp/api/SuspiciousObjects/UserDefinedSO/",
                "",
                ADD_BODY.as_bytes()
            ),
            ADD_CHECKSUM
        );
        assert_eq!(checksum("GET", LIST_RAW_URL, "", b""), LIST_CHECKSUM);
    }

    #[test]
    fn tokens_match_an_independent_hmac() {
        let signer =
            Signer::new("2E28ED1B-ABA2-4D10", &SecretString::from("apex-test-key")).unwrap();
        assert!(Signer::new("x", &SecretString::from("")).is_err());
        let token = signer
            .token(
                "PUT",
                "/WebApp/api/SuspiciousObjects/UserDefinedSO/",
                ADD_BODY.as_bytes(),
                1_767_225_600,
            )
            .unwrap();
        assert_eq!(token.expose_secret(), ADD_TOKEN);
        let header = signer.authorization("GET", "/x", b"", 1).unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{signer:?}").contains("apex-test-key"));
    }

    #[test]
    fn raw_urls_keep_escapes_and_drop_an_empty_query() {
        let mut url =
            Url::parse("https://apex.example/WebApp/api/SuspiciousObjects/UserDefinedSO").unwrap();
        assert_eq!(raw_url(&url), "/WebApp/api/SuspiciousObjects/UserDefinedSO");
        url.query_pairs_mut()
            .append_pair("type", "url")
            .append_pair("contentFilter", "https://evil.example/");
        assert_eq!(raw_url(&url), LIST_RAW_URL);
    }

    #[test]
    fn add_bodies_carry_the_param_object() {
        let mut udso = Udso::new(UdsoType::Ip, "198.51.100.7", ScanAction::Block);
        udso.notes = "[iocsync:1a2b3c4d]".into();
        assert_eq!(add_body(&udso).unwrap(), ADD_BODY);
        udso.expires = Some(datetime!(2030-01-25 12:00:00.5 +03:00));
        let body: Value = serde_json::from_str(&add_body(&udso).unwrap()).unwrap();
        assert_eq!(body["param"]["expiration_utc_date"], "2030-01-25T09:00:00Z");
    }

    #[test]
    fn add_bodies_refuse_what_apex_central_refuses() {
        let cases = [
            Udso::new(UdsoType::Ip, "198.51.100.7", ScanAction::Quarantine),
            Udso::new(UdsoType::File, "abc", ScanAction::Log),
            Udso::new(UdsoType::Url, "evil.example/x", ScanAction::Log),
            Udso::new(
                UdsoType::Url,
                format!("https://e.example/{}", "a".repeat(MAX_URL_CHARS)),
                ScanAction::Log,
            ),
            Udso::new(UdsoType::Domain, "", ScanAction::Log),
            Udso::new(UdsoType::Domain, "evil example", ScanAction::Log),
            Udso {
                notes: "n".repeat(MAX_NOTES_CHARS + 1),
                ..Udso::new(UdsoType::Domain, "evil.example", ScanAction::Log)
            },
        ];
        for udso in cases {
            assert!(
                matches!(add_body(&udso), Err(Error::InvalidInput { .. })),
                "{udso:?}"
            );
        }
        let sha1 = Udso::new(
            UdsoType::File,
            "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3",
            ScanAction::Quarantine,
        );
        assert!(add_body(&sha1).unwrap().contains("\"type\":\"file_sha1\""));
    }

    #[test]
    fn meta_reads_numbers_and_numeric_strings() {
        let number = parse_meta(br#"{"Meta":{"Result":1,"ErrorCode":0,"ErrorMsg":""}}"#).unwrap();
        assert!(number.succeeded());
        let text = parse_meta(br#"{"Meta":{"Result":"1","ErrorCode":"0","ErrorMsg":""}}"#).unwrap();
        assert!(text.succeeded());
        let failed = parse_meta(
            br#"{"Meta":{"Result":0,"ErrorCode":18,"ErrorMsg":"Authentication failure: Token expired"}}"#,
        )
        .unwrap();
        assert!(!failed.succeeded());
        assert_eq!(
            failed.describe(),
            "Authentication failure: Token expired (ErrorCode 18)"
        );
        assert_eq!(parse_meta(b"<html>"), None);
        assert_eq!(
            parse_permission(br#"{"PermissionCtrl":{"permission":"255","elements":null}}"#),
            Some(255)
        );
    }

    #[test]
    fn lists_read_every_documented_form() {
        let body = json!({"Data": [
            {"type": "file", "content": "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3", "notes": "Documentation", "scan_action": "log", "expiration_utc_date": null},
            {"type": "ip", "content": "8.8.8.8", "notes": null, "scan_action": "Block", "expiration_utc_date": "2021-03-26T12:26:49.753"},
            {"type": "url", "content": "https://e.example/", "notes": "", "scan_action": "log", "expiration_utc_date": "2030-01-25T09:00:00Z"},
            {"type": "domain", "content": "e.example", "notes": "", "scan_action": "log", "expiration_utc_date": "None"},
            {"type": "mailbox", "content": "x@e.example", "scan_action": "log"},
        ], "Meta": {"Result": 1, "ErrorCode": 0, "ErrorMsg": ""}});
        let (objects, skipped) = parse_list(body.to_string().as_bytes()).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(objects.len(), 4);
        assert_eq!(objects[0].kind, UdsoType::File);
        assert_eq!(objects[1].scan_action, ScanAction::Block);
        assert_eq!(objects[1].expires, Some(datetime!(2021-03-26 12:26:49 UTC)));
        assert_eq!(objects[2].expires, Some(datetime!(2030-01-25 09:00:00 UTC)));
        assert_eq!(objects[3].expires, None);
        for bad in [
            json!({"Data": "x"}),
            json!({"Data": [{"type": "ip", "content": "1.2.3.4", "scan_action": "explode"}]}),
            json!({"Data": [{"type": "ip", "scan_action": "log"}]}),
            json!({"Data": [{"type": "ip", "content": "1.2.3.4", "scan_action": "log", "expiration_utc_date": "tomorrow"}]}),
            json!({"Data": [7]}),
        ] {
            assert!(parse_list(bad.to_string().as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_list(b"not json").is_err());
    }
}
