//! What an indicator becomes on a Vision One list: its value key (`ip`, `url`, ...), the scheme a
//! URL without one gets, risk level from the score, scan action and expiry — and the API
//! objects (suspicious objects, exceptions) a claim's attributes are sent as.

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::IndicatorRecord;
use trendmicro::vision_one::{ExceptionObject, Expiry, ObjectValue, RiskLevel, SuspiciousObject};

use crate::mapping::{Describer, Desired, ExpiryIntent, ObjectAttributes, whole_days_until};
use config::{BlocklistParams, ExceptionParams, ExpirySetting, RiskSetting, UrlScheme};

/// The API value of a claim on `value`.
pub fn object_value(attributes: &ObjectAttributes, value: &str) -> Option<ObjectValue> {
    ObjectValue::from_key(&attributes.key, value.to_owned())
}

/// The suspicious object `attributes` ask for, sent at `now`.
pub fn suspicious(
    attributes: &ObjectAttributes,
    value: ObjectValue,
    now: DateTime<Utc>,
) -> SuspiciousObject {
    SuspiciousObject {
        value,
        description: Some(attributes.description.clone()),
        scan_action: attributes.scan_action,
        risk_level: attributes.risk_level,
        expiry: attributes
            .expiry
            .and_then(|intent| days_to_expiration(intent, now)),
    }
}

/// The exception `attributes` ask for.
pub fn exception(attributes: &ObjectAttributes, value: ObjectValue) -> ExceptionObject {
    ExceptionObject {
        value,
        description: Some(attributes.description.clone()),
    }
}

fn days_to_expiration(intent: ExpiryIntent, now: DateTime<Utc>) -> Option<Expiry> {
    match intent {
        ExpiryIntent::Customer => None,
        ExpiryIntent::Never => Some(Expiry::NEVER),
        ExpiryIntent::Days(days) => Expiry::days(days),
        ExpiryIntent::Until(until) => Expiry::days(whole_days_until(until, now)),
    }
}

/// The suspicious objects one indicator becomes, or why it becomes none.
pub fn blocklist(
    record: &IndicatorRecord,
    params: &BlocklistParams,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    let values = vision_one_values(record, params.url_scheme)?;
    let risk_level = match params.risk_level {
        RiskSetting::Customer => None,
        RiskSetting::Fixed(level) => Some(level),
        RiskSetting::Score { high, medium } => Some(match record.score.unwrap_or(0) {
            s if s >= high => RiskLevel::High,
            s if s >= medium => RiskLevel::Medium,
            _ => RiskLevel::Low,
        }),
    };
    let expiry = match params.expiry {
        ExpirySetting::Customer => ExpiryIntent::Customer,
        ExpirySetting::Never => ExpiryIntent::Never,
        ExpirySetting::Days(days) => ExpiryIntent::Days(days),
        ExpirySetting::ValidUntil { fallback } => match (record.valid_until, fallback) {
            (Some(until), _) => ExpiryIntent::Until(until),
            (None, Some(days)) => ExpiryIntent::Days(days),
            (None, None) => ExpiryIntent::Never,
        },
    };
    Ok(values
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: ObjectAttributes {
                scan_action: params.scan_action,
                risk_level,
                expiry: Some(expiry),
                ..ObjectAttributes::new(value.key(), describe.describe(record))
            },
            value: value.value().to_owned(),
        })
        .collect())
}

/// The exceptions one indicator becomes, or why it becomes none.
pub fn exceptions(
    record: &IndicatorRecord,
    params: &ExceptionParams,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    described(record, params.url_scheme, describe)
}

/// The objects one indicator becomes with only a value and a description (exceptions, v3
/// response blocks), or why it becomes none.
pub fn described(
    record: &IndicatorRecord,
    url_scheme: UrlScheme,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    Ok(vision_one_values(record, url_scheme)?
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: ObjectAttributes::new(value.key(), describe.describe(record)),
            value: value.value().to_owned(),
        })
        .collect())
}

/// The Vision One value key of a kind (`None`: Vision One takes no such kind).
pub fn v1_key(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 => Some("ip"),
        Kind::Domain => Some("domain"),
        Kind::Url => Some("url"),
        Kind::Email => Some("senderMailAddress"),
        Kind::Sha1 => Some("fileSha1"),
        Kind::Sha256 => Some("fileSha256"),
        Kind::Cidr | Kind::Md5 => None,
    }
}

/// The kind of a value as a Vision One list holds it (by its value key).
pub fn kind_of(key: &str, value: &str) -> Option<Kind> {
    Some(match key {
        "ip" => match value.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(_) => Kind::Ipv4,
            std::net::IpAddr::V6(_) => Kind::Ipv6,
        },
        "domain" => Kind::Domain,
        "url" => Kind::Url,
        "senderMailAddress" => Kind::Email,
        "fileSha1" => Kind::Sha1,
        "fileSha256" => Kind::Sha256,
        _ => return None,
    })
}

/// The Vision One values for an indicator: schemeless URLs get the configured scheme(s).
pub fn vision_one_values(
    record: &IndicatorRecord,
    scheme: UrlScheme,
) -> Result<Vec<ObjectValue>, String> {
    if record.kind == Kind::Url && !record.value.contains("://") {
        let with = |prefix: &str| ObjectValue::Url(format!("{prefix}{}", record.value));
        return match scheme {
            UrlScheme::Http => Ok(vec![with("http://")]),
            UrlScheme::Https => Ok(vec![with("https://")]),
            UrlScheme::Both => Ok(vec![with("http://"), with("https://")]),
            UrlScheme::Skip => Err("URL without a scheme (url_scheme = \"skip\")".to_owned()),
        };
    }
    ObjectValue::for_indicator(record.kind, record.value.clone())
        .map(|value| vec![value])
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::record;
    use crate::marker::Marker;
    use chrono::Duration;
    use config::ExpirySetting;
    use trendmicro::vision_one::ScanAction;

    fn params() -> BlocklistParams {
        BlocklistParams {
            url_scheme: UrlScheme::Both,
            objects_per_run: None,
            scan_action: Some(ScanAction::Block),
            risk_level: RiskSetting::Score { high: 7, medium: 4 },
            expiry: ExpirySetting::Days(30),
            cap_per_type: 10,
            renew_within: Duration::days(3),
        }
    }

    fn marker() -> Marker {
        Marker::new("0a0b0c0d")
    }

    #[test]
    fn kinds_map_to_value_keys_and_scores_to_risk() {
        let marker = marker();
        let m = Describer {
            marker: &marker,
            template: None,
        };
        let ip = blocklist(&record(Kind::Ipv4, "1.2.3.4", Some(8)), &params(), &m).unwrap();
        assert_eq!(ip[0].attributes.key, "ip");
        assert_eq!(ip[0].attributes.risk_level, Some(RiskLevel::High));
        assert_eq!(
            ip[0].attributes.description,
            "[iocsync:0a0b0c0d] seen in phishing"
        );
        let mail = blocklist(&record(Kind::Email, "a@b.example", Some(4)), &params(), &m).unwrap();
        assert_eq!(mail[0].attributes.key, "senderMailAddress");
        assert_eq!(mail[0].attributes.risk_level, Some(RiskLevel::Medium));
        let url = blocklist(&record(Kind::Url, "bad.example/x", None), &params(), &m).unwrap();
        let values: Vec<_> = url.iter().map(|d| d.value.as_str()).collect();
        assert_eq!(values, ["http://bad.example/x", "https://bad.example/x"]);
        assert_eq!(url[0].attributes.risk_level, Some(RiskLevel::Low));
        assert!(blocklist(&record(Kind::Md5, &"a".repeat(32), None), &params(), &m).is_err());
        assert!(blocklist(&record(Kind::Cidr, "10.0.0.0/8", None), &params(), &m).is_err());
    }

    #[test]
    fn valid_until_becomes_whole_days_rounded_down() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let until = now + Duration::hours(36);
        let days = days_to_expiration(ExpiryIntent::Until(until), now).unwrap();
        assert_eq!(
            days.as_days(),
            1,
            "gone by the valid-until, not a day after"
        );
        let week = days_to_expiration(ExpiryIntent::Until(now + Duration::days(7)), now).unwrap();
        assert_eq!(week.as_days(), 7, "exactly seven days is seven");
        let soon = days_to_expiration(ExpiryIntent::Until(now + Duration::hours(3)), now).unwrap();
        assert_eq!(soon.as_days(), 1, "Vision One's least");
        let pushed = ObjectAttributes {
            expiry: Some(ExpiryIntent::Until(until)),
            ..ObjectAttributes::new("ip", String::new())
        }
        .pushed_at(now);
        assert_eq!(
            pushed.expires_at,
            Some(now + Duration::days(1)),
            "what the target holds"
        );
        assert!(!pushed.renewable());
        let far = days_to_expiration(ExpiryIntent::Until(now + Duration::days(900)), now);
        assert_eq!(far.unwrap().as_days(), 365);
    }
}
