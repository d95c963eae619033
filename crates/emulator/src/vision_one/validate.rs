//! Per-object validation of Vision One request bodies: exactly one value key, lengths and
//! formats per type (with the wildcards only exceptions accept), and the optional settings.
//! Messages follow Trend's "Invalid request - ..." wording and name the field.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::model::{ObjectType, RiskLevel, ScanAction};

/// Which list a value is meant for: exceptions accept wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Suspicious,
    Exception,
    /// The v3 response "block list" action: like the suspicious list.
    Response,
}

/// A value key and its checked value.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedValue {
    pub kind: ObjectType,
    pub value: String,
}

/// The optional settings of an add-to-suspicious-list item; `None` means "customer settings".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub description: Option<String>,
    pub scan_action: Option<ScanAction>,
    pub risk_level: Option<RiskLevel>,
    pub days_to_expiration: Option<i64>,
}

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 1000;

fn required_fields() -> String {
    let keys: Vec<&str> = ObjectType::ALL.iter().map(|t| t.key()).collect();
    format!(
        "Invalid request - Required fields not found: {}.",
        keys.join(" or ")
    )
}

fn invalid_field(field: &str) -> String {
    format!("Invalid request - Invalid field format: {field}.")
}

/// Finds the single value key of `item` and checks its value for `list`.
pub fn typed_value(item: &Value, list: ListKind) -> Result<TypedValue, String> {
    let map = item
        .as_object()
        .ok_or_else(|| "Invalid request - Each element must be a JSON object.".to_owned())?;
    let mut found = ObjectType::ALL
        .into_iter()
        .filter(|kind| map.contains_key(kind.key()));
    let kind = found.next().ok_or_else(required_fields)?;
    if let Some(second) = found.next() {
        return Err(format!(
            "Invalid request - Only one object type is allowed per element, found {} and {}.",
            kind.key(),
            second.key()
        ));
    }
    let value = map
        .get(kind.key())
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_field(kind.key()))?;
    if !value_is_valid(kind, value, list) {
        return Err(invalid_field(kind.key()));
    }
    Ok(TypedValue {
        kind,
        value: value.to_owned(),
    })
}

/// The optional description (≤ 1000 characters).
pub fn description(map: &Map<String, Value>) -> Result<Option<String>, String> {
    match map.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.chars().count() <= MAX_DESCRIPTION => {
            Ok(Some(text.clone()))
        }
        Some(_) => Err(invalid_field("description")),
    }
}

/// The optional settings of an add-to-suspicious-list element.
pub fn settings(item: &Value) -> Result<Settings, String> {
    let Some(map) = item.as_object() else {
        return Err(invalid_field("body"));
    };
    let scan_action = match map.get("scanAction") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "block" => Some(ScanAction::Block),
        Some(Value::String(s)) if s == "log" => Some(ScanAction::Log),
        Some(_) => return Err(invalid_field("scanAction")),
    };
    let risk_level = match map.get("riskLevel") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "high" => Some(RiskLevel::High),
        Some(Value::String(s)) if s == "medium" => Some(RiskLevel::Medium),
        Some(Value::String(s)) if s == "low" => Some(RiskLevel::Low),
        Some(_) => return Err(invalid_field("riskLevel")),
    };
    let days_to_expiration = match map.get("daysToExpiration") {
        None | Some(Value::Null) => None,
        // 0 is undocumented; the emulator refuses it so clients never rely on it.
        Some(Value::Number(n)) => match n.as_i64() {
            Some(d) if d == -1 || (1..=365).contains(&d) => Some(d),
            _ => return Err(invalid_field("daysToExpiration")),
        },
        Some(_) => return Err(invalid_field("daysToExpiration")),
    };
    Ok(Settings {
        description: description(map)?,
        scan_action,
        risk_level,
        days_to_expiration,
    })
}

/// Format and length check of one value.
pub fn value_is_valid(kind: ObjectType, value: &str, list: ListKind) -> bool {
    let wildcards = list == ListKind::Exception;
    match kind {
        ObjectType::Url => {
            value.len() <= 2048
                && url_is_plausible(value, wildcards)
                && (!wildcards || url_wildcards_in_place(value))
        }
        ObjectType::Domain => {
            let bare = match value.strip_prefix("*.") {
                Some(rest) if wildcards => rest,
                _ => value,
            };
            value.len() <= 253 && domain_is_plausible(bare)
        }
        ObjectType::Ip => value.len() <= 39 && value.parse::<IpAddr>().is_ok(),
        // Exceptions take "fully qualified email addresses" only, no wildcard (spec
        // `v3.0_threatintel_suspiciousObjectExceptions.json`, senderMailAddress).
        ObjectType::SenderMailAddress => {
            value.len() <= 320 && email_is_plausible(value) && !(wildcards && value.contains('*'))
        }
        ObjectType::FileSha1 => is_hex(value, 40),
        ObjectType::FileSha256 => is_hex(value, 64),
    }
}

fn is_hex(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Host names: dot-separated labels of letters, digits, `-` and `_` (non-ASCII letters allowed
/// for IDNs), each 1–63 bytes, not starting or ending with `-`, at least two labels.
pub fn domain_is_plausible(value: &str) -> bool {
    let value = value.strip_suffix('.').unwrap_or(value);
    let labels: Vec<&str> = value.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

/// URLs: optional `scheme://`, a non-empty host (name, IPv4 or bracketed IPv6, optional port),
/// optional path; no whitespace or control characters. Exceptions may begin and end with `*`.
fn url_is_plausible(value: &str, wildcards: bool) -> bool {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let rest = match value.split_once("://") {
        Some((scheme, rest)) => {
            let scheme_ok = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !scheme_ok {
                return false;
            }
            rest
        }
        None => value,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split_once(']')
                .is_some_and(|(a, _)| a.parse::<IpAddr>().is_ok());
        }
        None => host.split(':').next().unwrap_or_default(),
    };
    let host = match host.strip_prefix("*.") {
        Some(rest) if wildcards => rest,
        _ => host,
    };
    host.parse::<IpAddr>().is_ok() || domain_is_plausible(host) || host == "localhost"
}

/// Exception URLs take "leading and tailing wildcards" (spec
/// `v3.0_threatintel_suspiciousObjectExceptions.json`, example `https://*.example.com/path1/*`):
/// a `*` only as the host's first label or as the last character.
fn url_wildcards_in_place(value: &str) -> bool {
    let body = value.strip_suffix('*').unwrap_or(value);
    let rest = body.split_once("://").map_or(body, |(_, rest)| rest);
    !rest.strip_prefix("*.").unwrap_or(rest).contains('*')
}

fn email_is_plausible(value: &str) -> bool {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && !local
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '@')
                && domain_is_plausible(domain)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exactly_one_value_key() {
        let ok = typed_value(
            &json!({"ip": "1.2.3.4", "description": "x"}),
            ListKind::Suspicious,
        );
        assert_eq!(ok.map(|v| v.kind), Ok(ObjectType::Ip));
        assert!(
            typed_value(
                &json!({"ip": "1.2.3.4", "url": "http://a.b"}),
                ListKind::Suspicious
            )
            .unwrap_err()
            .contains("Only one object type")
        );
        assert!(
            typed_value(&json!({"description": "x"}), ListKind::Suspicious)
                .unwrap_err()
                .contains("Required fields not found")
        );
        assert!(typed_value(&json!("1.2.3.4"), ListKind::Suspicious).is_err());
    }

    #[test]
    fn formats() {
        use ObjectType::*;
        let s = ListKind::Suspicious;
        let e = ListKind::Exception;
        assert!(value_is_valid(Ip, "2001:db8::1", s));
        assert!(!value_is_valid(Ip, "10.0.0.0/8", s));
        assert!(value_is_valid(Domain, "bad.example", s));
        assert!(!value_is_valid(Domain, "*.example.com", s));
        assert!(value_is_valid(Domain, "*.example.com", e));
        assert!(!value_is_valid(Domain, "example.com/path", s));
        assert!(value_is_valid(Url, "http://bad.example/x?y=1", s));
        assert!(value_is_valid(Url, "bad.example/x", s));
        assert!(value_is_valid(Url, "https://*.example.com/path/*", e));
        assert!(!value_is_valid(Url, "https://*.example.com/path/*", s));
        assert!(value_is_valid(Url, "*.example.com/path", e));
        assert!(value_is_valid(Url, "https://example.com/path*", e));
        assert!(!value_is_valid(Url, "https://example.com/a*/b", e));
        assert!(!value_is_valid(Url, "https://www.*.example.com/", e));
        assert!(!value_is_valid(Url, "https://*.example.com/a/**", e));
        assert!(!value_is_valid(SenderMailAddress, "*@example.com", e));
        assert!(!value_is_valid(SenderMailAddress, "a*b@example.com", e));
        assert!(value_is_valid(SenderMailAddress, "phish@example.com", e));
        assert!(!value_is_valid(Url, "http://bad example/", s));
        assert!(value_is_valid(Url, "http://[2001:db8::1]:8080/a", s));
        assert!(value_is_valid(SenderMailAddress, "a@b.example", s));
        assert!(!value_is_valid(SenderMailAddress, "a.b.example", s));
        assert!(value_is_valid(FileSha1, &"a".repeat(40), s));
        assert!(!value_is_valid(FileSha1, &"g".repeat(40), s));
        assert!(!value_is_valid(FileSha256, &"a".repeat(63), s));
        assert!(!value_is_valid(
            Url,
            &format!("http://a.example/{}", "x".repeat(2048)),
            s
        ));
    }

    #[test]
    fn settings_ranges() {
        assert_eq!(
            settings(&json!({"ip": "1.2.3.4", "daysToExpiration": -1}))
                .map(|s| s.days_to_expiration),
            Ok(Some(-1))
        );
        assert!(settings(&json!({"daysToExpiration": 0})).is_err());
        assert!(settings(&json!({"daysToExpiration": 366})).is_err());
        assert!(settings(&json!({"daysToExpiration": "30"})).is_err());
        assert!(settings(&json!({"scanAction": "drop"})).is_err());
        assert!(settings(&json!({"riskLevel": "HIGH"})).is_err());
        assert!(settings(&json!({"description": "d".repeat(1001)})).is_err());
        assert!(settings(&json!({"description": "d".repeat(1000)})).is_ok());
    }
}
