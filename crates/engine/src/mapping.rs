//! What every per-object target shares about an object: the attributes one claim asks for
//! ([`ObjectAttributes`], stored in the ledger), the expiry intent, a desired value, and the
//! description (this library's marker, then the workflow's template). What an indicator
//! becomes on each target is in its folder under [`crate::targets`]. Pure functions.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use indicator::Kind;
use serde::{Deserialize, Serialize};
use store::IndicatorRecord;
use trendmicro::vision_one::{RiskLevel, ScanAction};

use crate::marker::Marker;
use config::ValueTemplate;

/// The longest description iocsync writes (Vision One's limit).
const MAX_DESCRIPTION: usize = 1000;

/// One value as the target will hold it, and the attributes it is sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub kind: Kind,
    pub value: String,
    pub attributes: ObjectAttributes,
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
pub struct ObjectAttributes {
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

impl ObjectAttributes {
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
    pub fn same_request(&self, pushed: &ObjectAttributes) -> bool {
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
    pub fn pushed_at(&self, now: DateTime<Utc>) -> ObjectAttributes {
        let expires_at = match self.expiry {
            Some(ExpiryIntent::Days(days)) => Some(now + Duration::days(i64::from(days))),
            Some(ExpiryIntent::Until(until)) => {
                let days = whole_days_until(until, now);
                Some(now + Duration::days(i64::from(days)))
            }
            _ => None,
        };
        ObjectAttributes {
            expires_at,
            ..self.clone()
        }
    }
}

/// Whole days from `now` to `until`, rounded down so the object is gone by then (not up to a
/// day later), within the API's 1..=365: less than a day left still takes the one day
/// Vision One allows at least.
pub(crate) fn whole_days_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u16 {
    let days = (until - now).num_seconds().div_euclid(86_400).clamp(1, 365);
    u16::try_from(days).unwrap_or(365)
}

/// What an object's description says: this library's marker, then the workflow's
/// `description` template filled from the indicator, or the indicator's own description.
pub struct Describer<'a> {
    pub marker: &'a Marker,
    pub template: Option<&'a ValueTemplate>,
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::DateTime;
    use indicator::Kind;
    use store::{Class, Status};

    /// An active, unexpired indicator from source `t`, for the mapping tests of every target.
    pub(crate) fn record(kind: Kind, value: &str, score: Option<u8>) -> IndicatorRecord {
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

    fn marker() -> Marker {
        Marker::new("0a0b0c0d")
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
}
