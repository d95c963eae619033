//! The data model shared by feeds (which produce sightings) and the library (which merges them
//! into indicator records).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use indicator::Kind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a value is a threat indicator or one of the company's own assets (the Deep Security
/// seed exports both classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A threat indicator.
    #[default]
    Indicator,
    /// One of the company's own assets.
    Asset,
}

/// Lifecycle of an indicator in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Current: listed by a source and not expired.
    #[default]
    Active,
    /// `valid_until` has passed.
    Expired,
    /// Its source withdrew it (STIX `revoked`, a MISP deletion, ...).
    Revoked,
    /// Switched off by a person; kept for history.
    Disabled,
}

/// One observation of an indicator by one source, as a feed reader produces it. The library
/// merges sightings into indicators identified by `(kind, value)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    pub kind: Kind,
    /// Canonical value, as produced by the `indicator` crate.
    pub value: String,
    /// Human form when it differs from the canonical value (IDN domains).
    pub display: Option<String>,
    /// Name of the feed or person that reported it.
    pub source: String,
    /// 0–10; `None` means the source gave no score.
    pub score: Option<u8>,
    pub class: Class,
    pub tags: Vec<String>,
    pub description: Option<String>,
    /// When the source saw it (defaults to import time).
    pub seen_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The source withdrew the indicator.
    pub revoked: bool,
    /// The feed's own date for the value (a first-seen or last-online column, a STIX
    /// `modified`, a MISP timestamp), kept as the source's date. `seen_at` is when iocsync
    /// found the value listed; this is what the source said about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
}

/// An indicator as the library holds it after merging every sighting of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    pub kind: Kind,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Highest score among the sources that still report it; `None` when no source scored it.
    pub score: Option<u8>,
    pub class: Class,
    pub status: Status,
    /// Sorted, without duplicates.
    pub tags: Vec<String>,
    /// Names of the sources that reported it, sorted.
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// How many sightings were merged into it.
    pub sightings: u64,
}

/// One source's vote on an indicator: its latest score and whether it has revoked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVote {
    pub source: String,
    pub score: Option<u8>,
    pub revoked: bool,
    pub first_seen: DateTime<Utc>,
    /// When a pull or import last listed it.
    pub last_seen: DateTime<Utc>,
    /// The latest date the source itself gave for it (its first-seen or last-online column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<Utc>>,
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeReport {
    /// Sightings handed to the merge.
    pub received: usize,
    /// Indicators that did not exist before.
    pub created: usize,
    /// Sightings merged into an indicator that already existed.
    pub updated: usize,
    /// Sightings refused before touching the library, with the reason.
    pub rejected: Vec<Rejected>,
}

/// A sighting the library refused (the rest of the batch is still merged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Position of the sighting in the slice given to `merge`.
    pub index: usize,
    pub value: String,
    pub reason: String,
}

/// A name that is not one of an enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {})", .expected.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// Gives an enum a stable lower-case name (the one serde and the database use) and parses it back.
macro_rules! named_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The lower-case name used in files, flags and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        value: s.to_owned(),
                        expected: &[$($name),+],
                    }),
                }
            }
        }
    };
}

named_enum!(Class, "class", { Indicator => "indicator", Asset => "asset" });
named_enum!(Status, "status", {
    Active => "active",
    Expired => "expired",
    Revoked => "revoked",
    Disabled => "disabled",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), *status);
            assert_eq!(
                serde_json::to_string(status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
        }
        for class in Class::ALL {
            assert_eq!(class.to_string().parse::<Class>().unwrap(), *class);
            assert_eq!(
                serde_json::to_string(class).unwrap(),
                format!("\"{class}\"")
            );
        }
        let err = "gone".parse::<Status>().unwrap_err();
        assert!(err.to_string().contains("unknown status `gone`"), "{err}");
    }
}
