//! Collections: named, saved filters over the library that yield indicators in priority order.
//! The same struct is stored in the library (as JSON) and read from the config file (TOML).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicator::Kind;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{IndicatorRecord, SourceVote};

use crate::model::{Class, Status};

/// Highest score an indicator can have.
pub const MAX_SCORE: u8 = 10;

/// A named filter over the library. Every field narrows the set; an empty list means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// The name workflows and TAXII collections refer to it by (unique in the file).
    pub name: String,
    /// What it holds, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Indicator kinds to include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    /// Only indicators or only assets (default: both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// Lowest score to include (0–10); unscored indicators never pass a minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u8>,
    /// The indicator carries at least one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_any: Vec<String>,
    /// The indicator carries every one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_all: Vec<String>,
    /// The indicator carries none of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_none: Vec<String>,
    /// At least one of these sources reports it and has not revoked it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Statuses to include; `active` only unless said otherwise.
    #[serde(default = "default_status")]
    pub status: Vec<Status>,
    /// Only indicators some source saw within this long before now (`30d`, `12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_within: Option<SeenWithin>,
    /// The order it yields its members in, which decides who is left out at a cap.
    #[serde(default)]
    pub order: Order,
}

fn default_status() -> Vec<Status> {
    vec![Status::Active]
}

/// The order a collection yields its members in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Highest score first, then most recently seen (unscored last).
    #[default]
    Priority,
    /// Most recently seen first, then highest score.
    Recent,
}

impl Order {
    pub const NAMES: &'static [&'static str] = &["priority", "recent"];

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Priority => "priority",
            Order::Recent => "recent",
        }
    }
}

impl Order {
    /// Which of two members comes first in this order: the order the library's
    /// [`scan`](crate::LibraryBackend::scan) yields, so members read kind by kind can be merged
    /// back into it. Priority: highest score first (unscored last), then most recently seen;
    /// recent: the other way round; ties by kind name, then value (byte order).
    pub fn compare(self, a: &IndicatorRecord, b: &IndicatorRecord) -> std::cmp::Ordering {
        let score = b.score.cmp(&a.score);
        let seen = b.last_seen.cmp(&a.last_seen);
        let (first, second) = match self {
            Order::Priority => (score, seen),
            Order::Recent => (seen, score),
        };
        first
            .then(second)
            .then_with(|| a.kind.as_str().cmp(b.kind.as_str()))
            .then_with(|| a.value.cmp(&b.value))
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Order {
    type Err = InvalidCollection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "priority" => Ok(Order::Priority),
            "recent" => Ok(Order::Recent),
            _ => Err(InvalidCollection::new(
                "order",
                format!("`{s}` is not one of {}", Order::NAMES.join(", ")),
            )),
        }
    }
}

/// A look-back window such as `30d` or `12h` (humantime syntax), serialised as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenWithin(pub Duration);

impl FromStr for SeenWithin {
    type Err = InvalidCollection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match humantime::parse_duration(s.trim()) {
            Ok(d) if !d.is_zero() => Ok(SeenWithin(d)),
            Ok(_) => Err(InvalidCollection::new(
                "seen_within",
                "must be longer than zero",
            )),
            Err(e) => Err(InvalidCollection::new(
                "seen_within",
                format!("`{s}` is not a duration like 30d or 12h: {e}"),
            )),
        }
    }
}

/// A string in humantime syntax, as it is read.
impl JsonSchema for SeenWithin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SeenWithin".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration longer than zero such as `30d` or `12h` (humantime syntax).",
            "examples": ["30d", "12h"]
        })
    }
}

impl fmt::Display for SeenWithin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_duration(self.0).fmt(f)
    }
}

impl Serialize for SeenWithin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeenWithin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A collection definition that cannot be used, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidCollection {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidCollection {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        InvalidCollection {
            field,
            reason: reason.into(),
        }
    }
}

impl Collection {
    /// A collection with no filter beyond the default status (`active`).
    pub fn new(name: impl Into<String>) -> Self {
        Collection {
            name: name.into(),
            description: None,
            kinds: Vec::new(),
            class: None,
            min_score: None,
            tags_any: Vec::new(),
            tags_all: Vec::new(),
            tags_none: Vec::new(),
            sources: Vec::new(),
            status: default_status(),
            seen_within: None,
            order: Order::default(),
        }
    }

    /// Whether a kind's member count follows from the library's totals per kind, status and
    /// class (no filter on score, recency, tags or sources): then counting it costs a few
    /// rows, not a pass over the kind.
    pub fn counted_from_totals(&self) -> bool {
        self.min_score.is_none()
            && self.seen_within.is_none()
            && self.tags_any.is_empty()
            && self.tags_all.is_empty()
            && self.tags_none.is_empty()
            && self.sources.is_empty()
    }

    /// How the active indicators whose validity has lapsed since their status was refreshed
    /// (stored `active`, effectively `expired`) change a count from the totals: taken off (-1)
    /// when the collection takes active but not expired ones, added (1) for the reverse, and
    /// nothing when it takes both or neither.
    pub(crate) fn lapse_sign(&self) -> i64 {
        let active = self.status.contains(&Status::Active);
        let expired = self.status.contains(&Status::Expired);
        i64::from(expired) - i64::from(active)
    }

    /// Checks the definition without touching the library.
    pub fn validate(&self) -> Result<(), InvalidCollection> {
        validate_name(&self.name)?;
        if let Some(score) = self.min_score
            && score > MAX_SCORE
        {
            return Err(InvalidCollection::new(
                "min_score",
                format!("{score} is above the maximum score {MAX_SCORE}"),
            ));
        }
        if self.status.is_empty() {
            return Err(InvalidCollection::new(
                "status",
                "needs at least one status",
            ));
        }
        for (field, list) in [
            ("tags_any", &self.tags_any),
            ("tags_all", &self.tags_all),
            ("tags_none", &self.tags_none),
            ("sources", &self.sources),
        ] {
            if list.iter().any(|t| t.trim().is_empty()) {
                return Err(InvalidCollection::new(field, "contains an empty name"));
            }
        }
        Ok(())
    }
}

impl Collection {
    /// Why `record` (with its sources' `votes`, its status as of `now`) is not a member, one
    /// reason per filter it fails; empty when it is a member. The same rules the library's
    /// query applies (`iocsync why` explains with it; a test holds the two together).
    pub fn exclusions(
        &self,
        record: &IndicatorRecord,
        votes: &[SourceVote],
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let mut why = Vec::new();
        if !self.status.contains(&record.status) {
            why.push(format!("its status is {}", record.status));
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&record.kind) {
            why.push(format!(
                "it is a {}, not one of the collection's kinds",
                record.kind
            ));
        }
        if let Some(class) = self.class
            && class != record.class
        {
            why.push(format!("its class is {}, not {class}", record.class));
        }
        if let Some(min) = self.min_score {
            match record.score {
                None => why.push(format!("it has no score (the collection needs {min})")),
                Some(score) if score < min => {
                    why.push(format!("its score {score} is below {min}"));
                }
                Some(_) => {}
            }
        }
        if let Some(window) = self.seen_within
            && let Ok(window_chrono) = chrono::Duration::from_std(window.0)
            && now
                .checked_sub_signed(window_chrono)
                .is_some_and(|cutoff| record.last_seen < cutoff)
        {
            why.push(format!(
                "last seen {}, longer ago than {window}",
                record
                    .last_seen
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        self.tag_exclusions(record, &mut why);
        if !self.sources.is_empty() {
            let all_revoked = votes.iter().all(|v| v.revoked);
            let stands = votes
                .iter()
                .any(|v| self.sources.contains(&v.source) && (!v.revoked || all_revoked));
            if !stands {
                why.push(format!(
                    "none of its sources {:?} is one of {:?} (or they withdrew it)",
                    votes.iter().map(|v| v.source.as_str()).collect::<Vec<_>>(),
                    self.sources
                ));
            }
        }
        why
    }

    fn tag_exclusions(&self, record: &IndicatorRecord, why: &mut Vec<String>) {
        let has = |tag: &String| record.tags.contains(tag);
        if !self.tags_any.is_empty() && !self.tags_any.iter().any(has) {
            why.push(format!("it has none of the tags {:?}", self.tags_any));
        }
        let missing: Vec<&String> = self.tags_all.iter().filter(|t| !has(t)).collect();
        if !missing.is_empty() {
            why.push(format!("it lacks the tags {missing:?}"));
        }
        let excluded: Vec<&String> = self.tags_none.iter().filter(|t| has(t)).collect();
        if !excluded.is_empty() {
            why.push(format!("it has the excluded tags {excluded:?}"));
        }
    }
}

/// Names are used on the command line and in config keys: keep them to a safe alphabet.
fn validate_name(name: &str) -> Result<(), InvalidCollection> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
        return Err(InvalidCollection::new(
            "name",
            format!("`{name}` must be 1–64 characters of letters, digits, `-`, `_` or `.`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_every_field() {
        let mut c = Collection::new("high");
        c.kinds = vec![Kind::Ipv4, Kind::Domain];
        c.class = Some(Class::Indicator);
        c.min_score = Some(7);
        c.tags_any = vec!["c2".into()];
        c.tags_all = vec!["apt".into(), "x".into()];
        c.tags_none = vec!["fp".into()];
        c.sources = vec!["misp".into()];
        c.status = vec![Status::Active, Status::Expired];
        c.seen_within = Some("30d".parse().unwrap());
        c.order = Order::Recent;
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Collection>(&json).unwrap(), c);
    }

    #[test]
    fn defaults_to_active_priority() {
        let c: Collection = serde_json::from_str(r#"{"name":"all"}"#).unwrap();
        assert_eq!(c, Collection::new("all"));
    }

    #[test]
    fn unknown_field_is_named() {
        let err = serde_json::from_str::<Collection>(r#"{"name":"a","min_scor":3}"#).unwrap_err();
        assert!(err.to_string().contains("min_scor"), "{err}");
    }

    #[test]
    fn seen_within_parses_and_prints() {
        assert_eq!(
            "12h".parse::<SeenWithin>().unwrap().0,
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(
            "30d".parse::<SeenWithin>().unwrap().0,
            Duration::from_secs(30 * 86400)
        );
        assert!("0s".parse::<SeenWithin>().is_err());
        assert!("soon".parse::<SeenWithin>().is_err());
        let w: SeenWithin = "1day 2h".parse().unwrap();
        assert_eq!(w.to_string().parse::<SeenWithin>().unwrap(), w);
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = Collection::new("bad name");
        assert_eq!(c.validate().unwrap_err().field, "name");
        c.name = "ok".into();
        c.min_score = Some(11);
        assert_eq!(c.validate().unwrap_err().field, "min_score");
        c.min_score = Some(10);
        c.status.clear();
        assert_eq!(c.validate().unwrap_err().field, "status");
        c.status = vec![Status::Active];
        c.tags_none = vec![" ".into()];
        assert_eq!(c.validate().unwrap_err().field, "tags_none");
        c.tags_none.clear();
        assert!(c.validate().is_ok());
    }
}
