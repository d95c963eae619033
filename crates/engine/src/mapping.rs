//! Mapping: what one library indicator becomes on a target (value key, scheme, risk level,
//! scan action, expiry, description), or why it cannot go there. Pure functions.

use chrono::{DateTime, Duration, Utc};
use indicator::Kind;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use store::IndicatorRecord;
use trendmicro::vision_one::{
    ExceptionObject, Expiry, ObjectValue, RiskLevel, ScanAction, SuspiciousObject,
};

use crate::config::{
    BlocklistParams, ExceptionParams, ExpirySetting, IpListParams, RiskSetting, UrlScheme,
    XdrParams,
};
use trendmicro::xdr_v2::ValueType;

use std::collections::BTreeMap;

use crate::marker::Marker;
use crate::trigger::ValueTemplate;

/// Vision One's longest description.
const MAX_DESCRIPTION: usize = 1000;

/// One value as the target will hold it, and the attributes it is sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub kind: Kind,
    pub value: String,
    pub attributes: V1Attributes,
}

/// The expiry a Vision One object is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpiryIntent {
    Customer,
    Never,
    Days(u16),
    Until(DateTime<Utc>),
}

/// What one claim wants an object to be on a per-object target (Vision One lists, XDR v2
/// blocks, HTTP template calls); stored in the ledger as JSON. The object on the target is the
/// strongest of its claims (see [`crate::claims`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1Attributes {
    /// The API's value key (`ip`, `url`, ...). Empty in claims written by older versions'
    /// one-off blocks, which is filled from the value's kind when read.
    #[serde(default)]
    pub key: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_action: Option<ScanAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<RiskLevel>,
    /// `None` on the exception list (exceptions do not expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<ExpiryIntent>,
    /// The score sent (HTTP template targets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// When the pushed object expires on the target (known only for day counts and dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The value's place in its workflow's priority order when claimed (0 first): a one-off
    /// block that needs room displaces the workflow object ranked last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// When iocsync lifts the claim (trigger blocks with a `ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lift_at: Option<DateTime<Utc>>,
    /// The target's task or action id for the claim's last write (XDR v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    /// The object was on the target before iocsync and was taken over on purpose
    /// (`adopt_existing`, `iocsync adopt`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl V1Attributes {
    /// Attributes with only a value key and a description; the rest is added with struct update
    /// syntax where an action sets it.
    pub fn new(key: impl Into<String>, description: String) -> Self {
        Self {
            key: key.into(),
            description,
            scan_action: None,
            risk_level: None,
            expiry: None,
            score: None,
            expires_at: None,
            rank: None,
            lift_at: None,
            action_id: None,
            adopted: false,
        }
    }

    /// True when sending `self` would ask for the same object as `pushed` did.
    pub fn same_request(&self, pushed: &V1Attributes) -> bool {
        self.key == pushed.key
            && self.description == pushed.description
            && self.scan_action == pushed.scan_action
            && self.risk_level == pushed.risk_level
            && self.expiry == pushed.expiry
            && self.score == pushed.score
    }

    /// Whether an object pushed with these attributes expires within `window` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, window: Duration) -> bool {
        self.expires_at.is_some_and(|at| at - now <= window)
    }

    /// Whether an object of these attributes is renewed as its expiry nears: only a number of
    /// days is; a date (an indicator's valid-until) is the end the source asked for.
    pub fn renewable(&self) -> bool {
        matches!(self.expiry, Some(ExpiryIntent::Days(_)))
    }

    /// The attributes as pushed at `now` (with the expiry instant filled in: what the target
    /// will hold, in the whole days it takes).
    pub fn pushed_at(&self, now: DateTime<Utc>) -> V1Attributes {
        let expires_at = match self.expiry {
            Some(ExpiryIntent::Days(days)) => Some(now + Duration::days(i64::from(days))),
            Some(ExpiryIntent::Until(until)) => {
                let days = whole_days_until(until, now);
                Some(now + Duration::days(i64::from(days)))
            }
            _ => None,
        };
        V1Attributes {
            expires_at,
            ..self.clone()
        }
    }

    /// The API value.
    pub fn object_value(&self, value: &str) -> Option<ObjectValue> {
        ObjectValue::from_key(&self.key, value.to_owned())
    }

    /// The suspicious object to send at `now`.
    pub fn suspicious(&self, value: ObjectValue, now: DateTime<Utc>) -> SuspiciousObject {
        SuspiciousObject {
            value,
            description: Some(self.description.clone()),
            scan_action: self.scan_action,
            risk_level: self.risk_level,
            expiry: self
                .expiry
                .and_then(|intent| days_to_expiration(intent, now)),
        }
    }

    /// The exception to send.
    pub fn exception(&self, value: ObjectValue) -> ExceptionObject {
        ExceptionObject {
            value,
            description: Some(self.description.clone()),
        }
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

/// Whole days from `now` to `until`, rounded down so the object is gone by then (not up to a
/// day later), within the API's 1..=365: less than a day left still takes the one day
/// Vision One allows at least.
fn whole_days_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u16 {
    let days = (until - now).num_seconds().div_euclid(86_400).clamp(1, 365);
    u16::try_from(days).unwrap_or(365)
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
            attributes: V1Attributes {
                scan_action: params.scan_action,
                risk_level,
                expiry: Some(expiry),
                ..V1Attributes::new(value.key(), describe.describe(record))
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
    Ok(vision_one_values(record, params.url_scheme)?
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: V1Attributes::new(value.key(), describe.describe(record)),
            value: value.value().to_owned(),
        })
        .collect())
}

/// The XDR v2 blocks one indicator becomes (the value key is the `valueType`), or why none.
pub fn xdr(
    record: &IndicatorRecord,
    params: &XdrParams,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    let value_type = ValueType::for_kind(record.kind).map_err(|error| error.to_string())?;
    Ok(vision_one_values(record, params.url_scheme)?
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: V1Attributes::new(value_type.as_str(), describe.describe(record)),
            value: value.value().to_owned(),
        })
        .collect())
}

/// The webhook call one indicator becomes: its value as the library holds it, its kind as the
/// key, its score and description. Every kind goes.
pub fn http(record: &IndicatorRecord, describe: &Describer<'_>) -> Desired {
    Desired {
        kind: record.kind,
        value: record.value.clone(),
        attributes: V1Attributes {
            score: record.score,
            ..V1Attributes::new(record.kind.as_str(), describe.describe(record))
        },
    }
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
fn vision_one_values(
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

/// What an object's description says: this library's marker, then the workflow's
/// `description` template filled from the indicator, or the indicator's own description.
pub struct Describer<'a> {
    pub marker: &'a Marker,
    pub template: Option<&'a ValueTemplate>,
}

/// The placeholders a workflow's `description` template may use.
pub const DESCRIPTION_FIELDS: &[&str] = &[
    "value",
    "kind",
    "score",
    "tags",
    "source",
    "sources",
    "description",
];

impl Describer<'_> {
    /// The description of the object `record` becomes (at most 1,000 characters).
    pub fn describe(&self, record: &IndicatorRecord) -> String {
        let text = match self.template {
            None => record.description.clone().unwrap_or_default(),
            Some(template) => template
                .render(&description_fields(record))
                .ok()
                .and_then(|mut texts| texts.pop())
                .unwrap_or_default(),
        };
        let text = self.marker.stamp(&text);
        text.chars().take(MAX_DESCRIPTION).collect()
    }
}

/// An indicator's fields as a description template sees them (absent ones empty).
fn description_fields(record: &IndicatorRecord) -> BTreeMap<String, serde_json::Value> {
    let text = |value: String| serde_json::Value::String(value);
    BTreeMap::from([
        ("value".to_owned(), text(record.value.clone())),
        ("kind".to_owned(), text(record.kind.to_string())),
        (
            "score".to_owned(),
            text(record.score.map_or_else(String::new, |s| s.to_string())),
        ),
        ("tags".to_owned(), text(record.tags.join(", "))),
        (
            "source".to_owned(),
            text(record.sources.first().cloned().unwrap_or_default()),
        ),
        ("sources".to_owned(), text(record.sources.join(", "))),
        (
            "description".to_owned(),
            text(record.description.clone().unwrap_or_default()),
        ),
    ])
}

/// The network an indicator puts on a Deep Security IP list, or why it puts none.
pub fn ip_list(record: &IndicatorRecord, params: &IpListParams) -> Result<IpNet, String> {
    if !params.include.contains(&record.class) {
        return Err(format!(
            "class {} is not exported by this workflow",
            record.class
        ));
    }
    if !record.kind.is_network() {
        return Err(format!(
            "IP lists take addresses and CIDRs, not {}",
            record.kind
        ));
    }
    match record.kind {
        Kind::Cidr => record.value.parse::<IpNet>().map_err(|e| e.to_string()),
        _ => record
            .value
            .parse::<std::net::IpAddr>()
            .map(IpNet::from)
            .map_err(|e| e.to_string()),
    }
}

/// How a network is written on an IP list (a single address without its prefix) and its kind.
pub fn ip_list_item(net: &IpNet) -> (Kind, String) {
    if net.prefix_len() == net.max_prefix_len() {
        let kind = match net {
            IpNet::V4(_) => Kind::Ipv4,
            IpNet::V6(_) => Kind::Ipv6,
        };
        (kind, net.addr().to_string())
    } else {
        (Kind::Cidr, net.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{Class, Status};

    fn record(kind: Kind, value: &str, score: Option<u8>) -> IndicatorRecord {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        IndicatorRecord {
            kind,
            value: value.to_owned(),
            display: None,
            score,
            class: Class::Indicator,
            status: Status::Active,
            tags: vec![],
            sources: vec!["t".into()],
            description: Some("seen in phishing".into()),
            first_seen: at,
            last_seen: at,
            valid_until: None,
            sightings: 1,
        }
    }

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
        let pushed = V1Attributes {
            expiry: Some(ExpiryIntent::Until(until)),
            ..V1Attributes::new("ip", String::new())
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

    #[test]
    fn a_description_template_fills_the_indicators_fields_after_the_marker() {
        let marker = marker();
        let template = ValueTemplate::parse("$source: $tags (score $score)$description");
        let describe = Describer {
            marker: &marker,
            template: Some(&template),
        };
        let mut rec = record(Kind::Domain, "bad.example", Some(8));
        rec.tags = vec!["c2".into(), "emotet".into()];
        rec.description = None;
        assert_eq!(
            describe.describe(&rec),
            "[iocsync:0a0b0c0d] t: c2, emotet (score 8)"
        );
        rec.score = None;
        assert_eq!(
            describe.describe(&rec),
            "[iocsync:0a0b0c0d] t: c2, emotet (score )"
        );
        let long = ValueTemplate::parse(&"x".repeat(2000));
        let describe = Describer {
            marker: &marker,
            template: Some(&long),
        };
        assert_eq!(describe.describe(&rec).chars().count(), 1000);
    }

    #[test]
    fn ip_list_items_drop_host_prefixes() {
        let net: IpNet = "10.1.2.3/32".parse().unwrap();
        assert_eq!(ip_list_item(&net), (Kind::Ipv4, "10.1.2.3".to_owned()));
        let net: IpNet = "2001:db8::/32".parse().unwrap();
        assert_eq!(ip_list_item(&net), (Kind::Cidr, "2001:db8::/32".to_owned()));
    }
}
