//! The pure parts of talking to Vision One: what is checked before sending, how objects are
//! encoded and split into requests, and how answers (207 multi-status, error bodies, list pages
//! and their `nextLink`) are read. No I/O here, so all of it is tested directly.

use std::net::IpAddr;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::{
    ExceptionObject, ItemOutcome, ListedException, ListedSuspicious, ObjectValue, RiskLevel,
    ScanAction, SuspiciousObject,
};

/// Longest `description` Vision One takes, in characters.
pub const MAX_DESCRIPTION: usize = 1000;
/// Longest `TMV1-Filter` header Vision One takes, in characters.
pub const MAX_FILTER: usize = 4000;

/// Which list a value is checked for: wildcards and ranges are only for exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Suspicious,
    Exception,
}

/// Checks a value against the spec's limits; `Err` says why Vision One would refuse it.
pub fn check_value(value: &ObjectValue, list: ListKind) -> Result<(), String> {
    let text = value.value();
    if text.is_empty() {
        return Err(format!("empty {}", value.key()));
    }
    let chars = text.chars().count();
    let max = match value {
        ObjectValue::Url(_) => 2048,
        ObjectValue::Domain(_) => 253,
        ObjectValue::Ip(_) => 39,
        ObjectValue::SenderMailAddress(_) => 320,
        ObjectValue::FileSha1(_) => return check_hex(text, 40, "fileSha1"),
        ObjectValue::FileSha256(_) => return check_hex(text, 64, "fileSha256"),
    };
    if chars > max {
        return Err(format!(
            "{} is {chars} characters long; Vision One takes at most {max}",
            value.key()
        ));
    }
    // The Suspicious Object List takes single addresses only; what the Exception List takes
    // for `ip` is unsettled (CIDR per product help), so it is left to Vision One to judge.
    if list == ListKind::Suspicious
        && matches!(value, ObjectValue::Ip(_))
        && text.parse::<IpAddr>().is_err()
    {
        return Err(format!("`{text}` is not a single IP address"));
    }
    Ok(())
}

fn check_hex(text: &str, len: usize, key: &str) -> Result<(), String> {
    if text.len() == len && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("{key} must be exactly {len} hex digits"))
    }
}

fn check_description(description: Option<&str>) -> Result<(), String> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION => Err(format!(
            "description is {} characters long; Vision One takes at most {MAX_DESCRIPTION}",
            text.chars().count()
        )),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSuspicious<'a> {
    #[serde(flatten)]
    value: &'a ObjectValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scan_action: Option<ScanAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_level: Option<RiskLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    days_to_expiration: Option<i16>,
}

#[derive(Serialize)]
struct WireException<'a> {
    #[serde(flatten)]
    value: &'a ObjectValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// One object as JSON, or why it cannot be sent.
pub type Encoded = Result<Vec<u8>, String>;

/// Checks and encodes one suspicious object; unset optional fields are left out.
pub fn encode_suspicious(object: &SuspiciousObject) -> Encoded {
    check_value(&object.value, ListKind::Suspicious)?;
    check_description(object.description.as_deref())?;
    to_json(&WireSuspicious {
        value: &object.value,
        description: object.description.as_deref(),
        scan_action: object.scan_action,
        risk_level: object.risk_level,
        days_to_expiration: object.expiry.map(|expiry| expiry.as_days()),
    })
}

/// Checks and encodes one exception.
pub fn encode_exception(object: &ExceptionObject) -> Encoded {
    check_value(&object.value, ListKind::Exception)?;
    check_description(object.description.as_deref())?;
    to_json(&WireException {
        value: &object.value,
        description: object.description.as_deref(),
    })
}

/// Checks and encodes one value to remove (the single-key object).
pub fn encode_removal(value: &ObjectValue, list: ListKind) -> Encoded {
    check_value(value, list)?;
    to_json(value)
}

fn to_json(value: &impl Serialize) -> Encoded {
    serde_json::to_vec(value).map_err(|error| format!("cannot encode: {error}"))
}

/// Splits encoded items (given by their sizes in bytes) into consecutive batches of at most
/// `max_count` items whose JSON array (`[`, items, commas, `]`) is at most `max_bytes`. An item
/// too big for any batch still goes out, alone.
pub fn plan_batches(sizes: &[usize], max_count: usize, max_bytes: usize) -> Vec<Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 2; // the brackets
    for (index, &size) in sizes.iter().enumerate() {
        let count = index - start;
        let added = size + usize::from(count > 0); // a comma before all but the first
        if count > 0 && (count == max_count || bytes + added > max_bytes) {
            batches.push(start..index);
            start = index;
            bytes = 2 + size;
        } else {
            bytes += added;
        }
    }
    if start < sizes.len() {
        batches.push(start..sizes.len());
    }
    batches
}

/// The JSON array of the given encoded items.
pub fn array_body<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = vec![b'['];
    for (index, item) in items.enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    body
}

/// Vision One's error object, in whole-request bodies and per-item results.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub number: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Option<WireError>,
}

/// The `error` object of a body, if the body is JSON with one (413 and 504 bodies may not be).
pub fn parse_error(body: &[u8]) -> Option<WireError> {
    serde_json::from_slice::<ErrorEnvelope>(body).ok()?.error
}

impl WireError {
    /// The message, else the code, else a stand-in.
    pub fn text(&self) -> String {
        self.message
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_else(|| "no message".to_owned())
    }
}

/// Error number Vision One gives when a list is full.
pub const CAP_REACHED_NUMBER: u64 = 4_000_018;

/// True for the whole-request 400 that means "the list is full".
pub fn is_cap_reached(error: &WireError) -> bool {
    error.number == Some(CAP_REACHED_NUMBER)
        || error
            .message
            .as_deref()
            .is_some_and(|text| text.contains("exceeds the maximum limit"))
}

/// One element of a 207 multi-status answer.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemStatus {
    pub status: u16,
    #[serde(default)]
    pub body: Option<ItemBody>,
}

/// The body of a per-item status.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemBody {
    #[serde(default)]
    pub error: Option<WireError>,
}

/// What to do with an item after its per-item status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Final(ItemOutcome),
    /// A server error: send it again in a later request.
    Retry {
        status: u16,
        message: String,
    },
}

/// Reads one per-item status; `removing` makes 404 mean "already absent".
pub fn verdict(item: &ItemStatus, removing: bool) -> Verdict {
    let message = || {
        item.body
            .as_ref()
            .and_then(|body| body.error.as_ref())
            .map_or_else(|| format!("HTTP {}", item.status), WireError::text)
    };
    match item.status {
        200..=299 => Verdict::Final(ItemOutcome::Applied),
        404 if removing => Verdict::Final(ItemOutcome::AlreadyAbsent),
        500..=599 => Verdict::Retry {
            status: item.status,
            message: message(),
        },
        status => Verdict::Final(ItemOutcome::Rejected {
            status: Some(status),
            message: message(),
        }),
    }
}

/// Parses a multi-status body, which must hold exactly `expected` elements.
pub fn parse_multi_status(body: &[u8], expected: usize) -> Result<Vec<ItemStatus>, String> {
    let items: Vec<ItemStatus> = serde_json::from_slice(body)
        .map_err(|error| format!("not a JSON array of per-item statuses: {error}"))?;
    if items.len() == expected {
        Ok(items)
    } else {
        Err(format!(
            "{} per-item statuses for {expected} objects sent",
            items.len()
        ))
    }
}

/// One page of a listing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub items: Vec<RawItem>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// A listed item as sent: its `type` names which value key it carries.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    sender_mail_address: Option<String>,
    #[serde(default)]
    file_sha1: Option<String>,
    #[serde(default)]
    file_sha256: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    scan_action: Option<ScanAction>,
    #[serde(default)]
    risk_level: Option<RiskLevel>,
    #[serde(default)]
    in_exception_list: Option<bool>,
    #[serde(default)]
    last_modified_date_time: Option<String>,
    #[serde(default)]
    expired_date_time: Option<String>,
}

impl RawItem {
    /// The value named by `type`, or why there is none.
    fn value(&mut self) -> Result<ObjectValue, String> {
        let slot = match self.kind.as_str() {
            "url" => &mut self.url,
            "domain" => &mut self.domain,
            "ip" => &mut self.ip,
            "senderMailAddress" => &mut self.sender_mail_address,
            "fileSha1" => &mut self.file_sha1,
            "fileSha256" => &mut self.file_sha256,
            other => return Err(format!("unknown type `{other}`")),
        };
        let text = slot
            .take()
            .ok_or_else(|| format!("type `{}` without a `{}` value", self.kind, self.kind))?;
        ObjectValue::from_key(&self.kind, text)
            .ok_or_else(|| format!("unknown type `{}`", self.kind))
    }

    /// A Suspicious Object List entry.
    pub fn into_suspicious(mut self) -> Result<ListedSuspicious, String> {
        Ok(ListedSuspicious {
            value: self.value()?,
            description: self.description,
            scan_action: self.scan_action,
            risk_level: self.risk_level,
            in_exception_list: self.in_exception_list.unwrap_or(false),
            last_modified: timestamp(self.last_modified_date_time.as_deref()),
            expires: timestamp(self.expired_date_time.as_deref()),
        })
    }

    /// An Exception List entry.
    pub fn into_exception(mut self) -> Result<ListedException, String> {
        Ok(ListedException {
            value: self.value()?,
            description: self.description,
            last_modified: timestamp(self.last_modified_date_time.as_deref()),
        })
    }
}

/// An ISO 8601 timestamp; an unreadable one is dropped rather than failing the whole listing.
fn timestamp(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?, &Rfc3339).ok()
}

/// The URL to fetch a `nextLink` from: its path from `/v3.0/` on and its query, on the
/// configured base. Only the path and query are taken from the answer, so the key is never sent
/// to a host the answer names, and a base with a path prefix (a gateway) keeps working.
pub fn next_page_url(base: &Url, next_link: &str) -> Result<Url, String> {
    let link = Url::parse(next_link)
        .or_else(|_| base.join(next_link))
        .map_err(|error| format!("unreadable nextLink `{next_link}`: {error}"))?;
    let path = link.path();
    let start = path
        .find("/v3.0/")
        .ok_or_else(|| format!("nextLink `{next_link}` does not point under /v3.0/"))?;
    let mut url = crate::transport::join_path(base, &path[start..]);
    url.set_query(link.query());
    Ok(url)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::vision_one::Expiry;

    #[test]
    fn encodes_only_the_fields_set() {
        let mut object = SuspiciousObject::new(ObjectValue::Url("http://bad.example/x".into()));
        assert_eq!(
            encode_suspicious(&object).unwrap(),
            br#"{"url":"http://bad.example/x"}"#
        );
        object.description = Some("d".into());
        object.risk_level = Some(RiskLevel::High);
        object.scan_action = Some(ScanAction::Block);
        object.expiry = Expiry::days(30);
        assert_eq!(
            String::from_utf8(encode_suspicious(&object).unwrap()).unwrap(),
            r#"{"url":"http://bad.example/x","description":"d","scanAction":"block","riskLevel":"high","daysToExpiration":30}"#
        );
        object.expiry = Some(Expiry::NEVER);
        assert!(
            String::from_utf8(encode_suspicious(&object).unwrap())
                .unwrap()
                .ends_with(r#""daysToExpiration":-1}"#)
        );
    }

    #[test]
    fn local_checks_follow_the_spec_limits() {
        let ip = |text: &str| ObjectValue::Ip(text.into());
        assert!(check_value(&ip("1.2.3.4"), ListKind::Suspicious).is_ok());
        assert!(check_value(&ip("10.0.0.0/8"), ListKind::Suspicious).is_err());
        assert!(check_value(&ip("10.0.0.0/8"), ListKind::Exception).is_ok());
        assert!(check_value(&ObjectValue::FileSha1("ab".repeat(20)), ListKind::Exception).is_ok());
        assert!(check_value(&ObjectValue::FileSha1("zz".repeat(20)), ListKind::Exception).is_err());
        assert!(
            check_value(
                &ObjectValue::FileSha256("a".repeat(63)),
                ListKind::Exception
            )
            .is_err()
        );
        assert!(check_value(&ObjectValue::Domain("a".repeat(254)), ListKind::Exception).is_err());
        assert!(check_value(&ObjectValue::Url(String::new()), ListKind::Exception).is_err());

        let long = ExceptionObject {
            value: ObjectValue::Domain("*.example.com".into()),
            description: Some("é".repeat(MAX_DESCRIPTION)),
        };
        assert!(encode_exception(&long).is_ok());
        let too_long = ExceptionObject {
            description: Some("é".repeat(MAX_DESCRIPTION + 1)),
            ..long
        };
        assert!(encode_exception(&too_long).unwrap_err().contains("1001"));
    }

    #[test]
    fn batches_split_by_count_and_by_bytes() {
        assert_eq!(plan_batches(&[10; 5], 2, 1000), vec![0..2, 2..4, 4..5]);
        // [a,b] with 10-byte items is 2 + 10 + 1 + 10 = 23 bytes.
        assert_eq!(plan_batches(&[10; 3], 100, 23), vec![0..2, 2..3]);
        assert_eq!(plan_batches(&[10; 3], 100, 22), vec![0..1, 1..2, 2..3]);
        assert_eq!(plan_batches(&[50, 1], 100, 10), vec![0..1, 1..2]);
        assert!(plan_batches(&[], 10, 100).is_empty());
    }

    proptest! {
        #[test]
        fn batches_cover_every_item_once_within_limits(
            sizes in prop::collection::vec(1usize..300, 0..200),
            max_count in 1usize..20,
            max_bytes in 2usize..2000,
        ) {
            let batches = plan_batches(&sizes, max_count, max_bytes);
            let mut next = 0;
            for batch in &batches {
                prop_assert_eq!(batch.start, next);
                prop_assert!(!batch.is_empty() && batch.len() <= max_count);
                let items: Vec<Vec<u8>> = sizes[batch.clone()].iter().map(|&n| vec![b'x'; n]).collect();
                let body = array_body(items.iter().map(Vec::as_slice));
                prop_assert!(batch.len() == 1 || body.len() <= max_bytes);
                next = batch.end;
            }
            prop_assert_eq!(next, sizes.len());
        }
    }

    #[test]
    fn array_body_joins_items() {
        let items: [&[u8]; 2] = [b"{\"ip\":\"1.2.3.4\"}", b"{\"ip\":\"::1\"}"];
        assert_eq!(
            array_body(items.into_iter()),
            b"[{\"ip\":\"1.2.3.4\"},{\"ip\":\"::1\"}]"
        );
        assert_eq!(array_body(std::iter::empty()), b"[]");
    }

    #[test]
    fn multi_status_verdicts() {
        let body = br#"[{"status":201},{"status":400,"body":{"error":{"code":"BadRequest","message":"Invalid url"}}},{"status":500,"body":{"error":{"code":"InternalServerError","message":"Internal server error"}}},{"status":404,"body":{"error":{"code":"NotFound","message":"Not found"}}}]"#;
        let items = parse_multi_status(body, 4).unwrap();
        assert_eq!(
            verdict(&items[0], false),
            Verdict::Final(ItemOutcome::Applied)
        );
        assert_eq!(
            verdict(&items[1], false),
            Verdict::Final(ItemOutcome::Rejected {
                status: Some(400),
                message: "Invalid url".into()
            })
        );
        assert!(matches!(
            verdict(&items[2], false),
            Verdict::Retry { status: 500, .. }
        ));
        assert_eq!(
            verdict(&items[3], true),
            Verdict::Final(ItemOutcome::AlreadyAbsent)
        );
        assert!(matches!(
            verdict(&items[3], false),
            Verdict::Final(ItemOutcome::Rejected {
                status: Some(404),
                ..
            })
        ));
        assert!(
            parse_multi_status(body, 3)
                .unwrap_err()
                .contains("4 per-item statuses")
        );
        assert!(parse_multi_status(b"{}", 1).is_err());
    }

    #[test]
    fn cap_reached_by_number_or_text() {
        let by_number =
            parse_error(br#"{"error":{"code":"BadRequest","message":"x","number":4000018}}"#)
                .unwrap();
        assert!(is_cap_reached(&by_number));
        let by_text = parse_error(
            br#"{"error":{"code":"BadRequest","message":"The number of objects exceeds the maximum limit"}}"#,
        )
        .unwrap();
        assert!(is_cap_reached(&by_text));
        let other = parse_error(
            br#"{"error":{"code":"BadRequest","message":"Bad request","number":4000102}}"#,
        )
        .unwrap();
        assert!(!is_cap_reached(&other));
        assert!(parse_error(b"<html>413</html>").is_none());
    }

    #[test]
    fn listed_items_are_read_by_type() {
        let page: Page = serde_json::from_slice(br#"{"items":[
            {"type":"fileSha256","fileSha256":"ab","scanAction":"log","riskLevel":"low","inExceptionList":true,
             "lastModifiedDateTime":"2019-03-15T07:44:27Z","expiredDateTime":"2019-04-14T07:44:27Z"},
            {"type":"ip","url":"http://x"}],
            "nextLink":"https://api.xdr.trendmicro.com/v3.0/threatintel/suspiciousObjects?top=50&skipToken=abc"}"#).unwrap();
        assert!(page.next_link.is_some());
        let mut items = page.items.into_iter();
        let first = items.next().unwrap().into_suspicious().unwrap();
        assert_eq!(first.value, ObjectValue::FileSha256("ab".into()));
        assert_eq!(first.scan_action, Some(ScanAction::Log));
        assert!(first.in_exception_list);
        assert_eq!(first.expires.unwrap().unix_timestamp(), 1_555_227_867);
        let second = items.next().unwrap().into_suspicious().unwrap_err();
        assert!(second.contains("without a `ip` value"), "{second}");
    }

    #[test]
    fn next_link_keeps_the_configured_host_and_prefix() {
        let base = Url::parse("http://127.0.0.1:8080/gw").unwrap();
        let next = next_page_url(
            &base,
            "https://api.xdr.trendmicro.com/v3.0/threatintel/suspiciousObjects?top=50&skipToken=eyJ",
        )
        .unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:8080/gw/v3.0/threatintel/suspiciousObjects?top=50&skipToken=eyJ"
        );
        // The spec's own example carries an extra `/xdr`: still under /v3.0/, kept as sent.
        let odd = next_page_url(&base, "https://h/v3.0/xdr/threatintel/x?skipToken=1").unwrap();
        assert_eq!(odd.path(), "/gw/v3.0/xdr/threatintel/x");
        assert!(next_page_url(&base, "https://evil.example/steal?x=1").is_err());
        let relative =
            next_page_url(&base, "/v3.0/threatintel/suspiciousObjects?skipToken=2").unwrap();
        assert_eq!(relative.query(), Some("skipToken=2"));
    }
}
