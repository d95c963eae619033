//! Vision One public API v3.0: the Suspicious Object List (blocklist) and the Exception List.
//!
//! - [`config`]: where the API is (region or base URL), the key, batching and paging settings.
//! - [`request`]: pure parts: local validation, JSON encoding, splitting into batches by count
//!   and bytes, reading the 207 multi-status answer and `nextLink`.
//! - [`client`]: [`VisionOneClient`], the operations the sync engine calls.
//! - [`response`]: the v3 response "Add to block list" tasks (block, restore, task status)
//!   and [`response::TaskWatch`], one poller for many tasks.
//!
//! Writes report one [`ItemResult`] per input, in input order, so the engine can update its
//! ledger item by item; a whole-request error that makes further requests pointless (bad key,
//! missing permission, list full, target unreachable, still rate-limited) halts the operation
//! and is returned in [`BatchReport::halted`].

pub mod client;
pub mod config;
pub mod request;
pub mod response;

use std::fmt;

use indicator::Kind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use client::VisionOneClient;
pub use config::{Region, VisionOneConfig};

use crate::Error;

/// The product name used in errors, logs and metrics.
pub const PRODUCT: &str = "Vision One";

/// One value on a Vision One list, under the key the API names it by. Serialises as the API's
/// single-key object, e.g. `{"url":"http://bad.example/x"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectValue {
    /// A URL with its scheme (≤ 2048 characters).
    Url(String),
    /// A domain name (≤ 253 characters).
    Domain(String),
    /// A single IPv4 or IPv6 address (≤ 39 characters).
    Ip(String),
    /// An e-mail sender address (≤ 320 characters).
    SenderMailAddress(String),
    /// A SHA-1 file hash (40 hex digits).
    FileSha1(String),
    /// A SHA-256 file hash (64 hex digits).
    FileSha256(String),
}

impl ObjectValue {
    /// The API's key for this value (`url`, `domain`, `ip`, `senderMailAddress`, `fileSha1`,
    /// `fileSha256`), which is also the item's `type` in listings.
    pub fn key(&self) -> &'static str {
        match self {
            ObjectValue::Url(_) => "url",
            ObjectValue::Domain(_) => "domain",
            ObjectValue::Ip(_) => "ip",
            ObjectValue::SenderMailAddress(_) => "senderMailAddress",
            ObjectValue::FileSha1(_) => "fileSha1",
            ObjectValue::FileSha256(_) => "fileSha256",
        }
    }

    /// The value itself.
    pub fn value(&self) -> &str {
        match self {
            ObjectValue::Url(value)
            | ObjectValue::Domain(value)
            | ObjectValue::Ip(value)
            | ObjectValue::SenderMailAddress(value)
            | ObjectValue::FileSha1(value)
            | ObjectValue::FileSha256(value) => value,
        }
    }

    /// The value under the API key `key`, if Vision One knows that key.
    pub fn from_key(key: &str, value: String) -> Option<Self> {
        Some(match key {
            "url" => ObjectValue::Url(value),
            "domain" => ObjectValue::Domain(value),
            "ip" => ObjectValue::Ip(value),
            "senderMailAddress" => ObjectValue::SenderMailAddress(value),
            "fileSha1" => ObjectValue::FileSha1(value),
            "fileSha256" => ObjectValue::FileSha256(value),
            _ => return None,
        })
    }

    /// Maps an indicator of `kind` to the Vision One value for it. CIDR networks (the list takes
    /// single addresses) and MD5 hashes (Vision One takes none) have no mapping.
    pub fn for_indicator(kind: Kind, value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        Ok(match kind {
            Kind::Ipv4 | Kind::Ipv6 => ObjectValue::Ip(value),
            Kind::Domain => ObjectValue::Domain(value),
            Kind::Url => ObjectValue::Url(value),
            Kind::Email => ObjectValue::SenderMailAddress(value),
            Kind::Sha1 => ObjectValue::FileSha1(value),
            Kind::Sha256 => ObjectValue::FileSha256(value),
            Kind::Cidr => return Err(unsupported(kind, "its lists take single IP addresses only")),
            Kind::Md5 => {
                return Err(unsupported(
                    kind,
                    "it takes SHA-1 and SHA-256 hashes, not MD5",
                ));
            }
        })
    }
}

fn unsupported(kind: Kind, reason: &'static str) -> Error {
    Error::Unsupported {
        product: PRODUCT,
        kind: kind.to_string(),
        reason,
    }
}

impl fmt::Display for ObjectValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key(), self.value())
    }
}

/// What connected products do on a detection. Omitted means "customer settings".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanAction {
    Block,
    Log,
}

/// Risk level of a suspicious object. Omitted means "customer settings".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// `daysToExpiration`: never, or 1 to 365 days. Zero is undocumented, so it cannot be built.
/// Leaving the expiry out of a [`SuspiciousObject`] means "customer settings" (default 30 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i16")]
pub struct Expiry(i16);

impl Expiry {
    /// The object never expires (`-1`). Vision One never evicts such objects, so a full list of
    /// them answers "exceeds the maximum limit" instead of making room.
    pub const NEVER: Expiry = Expiry(-1);

    /// Expires after `days` days: `None` unless 1 ≤ `days` ≤ 365.
    pub fn days(days: u16) -> Option<Expiry> {
        (1..=365)
            .contains(&days)
            .then(|| Expiry(i16::try_from(days).unwrap_or(365)))
    }

    /// The value sent as `daysToExpiration`.
    pub fn as_days(self) -> i16 {
        self.0
    }
}

impl From<Expiry> for i16 {
    fn from(expiry: Expiry) -> i16 {
        expiry.0
    }
}

/// One object to add to the Suspicious Object List. Unset fields are left out of the request
/// so Vision One applies the customer's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspiciousObject {
    pub value: ObjectValue,
    /// At most 1000 characters.
    pub description: Option<String>,
    pub scan_action: Option<ScanAction>,
    pub risk_level: Option<RiskLevel>,
    pub expiry: Option<Expiry>,
}

impl SuspiciousObject {
    /// An object with every optional field left to the customer's settings.
    pub fn new(value: ObjectValue) -> Self {
        Self {
            value,
            description: None,
            scan_action: None,
            risk_level: None,
            expiry: None,
        }
    }
}

/// One object to add to the Exception List. Domains take a leading wildcard (`*.example.com`),
/// URLs leading and trailing ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionObject {
    pub value: ObjectValue,
    /// At most 1000 characters.
    pub description: Option<String>,
}

/// What became of one item of a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Added or updated (201), or removed (204).
    Applied,
    /// A removal of a value the list did not hold (404): the list is as wanted.
    AlreadyAbsent,
    /// Refused, by Vision One (`status` is its per-item or whole-request status) or before
    /// sending by local validation (`status` is `None`). Sending it unchanged will not help.
    Rejected {
        status: Option<u16>,
        message: String,
    },
    /// Still failing with a server error after every attempt, or answered in a way that leaves
    /// its state unknown. Worth trying again in a later run.
    Failed {
        status: Option<u16>,
        message: String,
    },
    /// Not applied because the operation halted first (see [`BatchReport::halted`]).
    Skipped,
}

impl ItemOutcome {
    /// True when the list now is as the caller wanted for this item.
    pub fn is_done(&self) -> bool {
        matches!(self, ItemOutcome::Applied | ItemOutcome::AlreadyAbsent)
    }
}

/// The result for one input item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    pub value: ObjectValue,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
    /// Requests that carried this item (0 when rejected locally or never sent).
    pub attempts: u32,
}

/// The result of a write: one entry per input, in input order, and the error that halted it.
#[derive(Debug)]
pub struct BatchReport {
    pub items: Vec<ItemResult>,
    /// The whole-request error that stopped the operation (bad key, missing permission, list
    /// full, unreachable, rate limit not lifting). Items not applied by then are
    /// [`ItemOutcome::Skipped`]. Use [`Error::stops_target`] to decide whether to go on with
    /// other operations on this target.
    pub halted: Option<Error>,
}

impl BatchReport {
    /// How many items are in the state the caller wanted.
    pub fn done(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.outcome.is_done())
            .count()
    }
}

/// One entry of the Suspicious Object List.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedSuspicious {
    pub value: ObjectValue,
    pub description: Option<String>,
    pub scan_action: Option<ScanAction>,
    pub risk_level: Option<RiskLevel>,
    pub in_exception_list: bool,
    pub last_modified: Option<OffsetDateTime>,
    /// When it expires; Vision One sends a far-future date for objects that never expire.
    pub expires: Option<OffsetDateTime>,
}

/// One entry of the Exception List.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedException {
    pub value: ObjectValue,
    pub description: Option<String>,
    pub last_modified: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialise_as_single_key_objects() {
        let value = ObjectValue::SenderMailAddress("a@b.example".into());
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"senderMailAddress":"a@b.example"}"#
        );
        assert_eq!(
            ObjectValue::from_key(value.key(), value.value().into()),
            Some(value)
        );
        assert_eq!(ObjectValue::from_key("md5", "x".into()), None);
    }

    #[test]
    fn item_results_serialise_flat() {
        let item = ItemResult {
            value: ObjectValue::Ip("1.2.3.4".into()),
            outcome: ItemOutcome::Rejected {
                status: Some(400),
                message: "bad".into(),
            },
            attempts: 1,
        };
        assert_eq!(
            serde_json::to_value(&item).unwrap(),
            serde_json::json!({"value":{"ip":"1.2.3.4"},"outcome":"rejected","status":400,
                               "message":"bad","attempts":1})
        );
    }

    #[test]
    fn expiry_excludes_zero_and_past_a_year() {
        assert_eq!(Expiry::days(0), None);
        assert_eq!(Expiry::days(366), None);
        assert_eq!(Expiry::days(1).map(Expiry::as_days), Some(1));
        assert_eq!(Expiry::days(365).map(Expiry::as_days), Some(365));
        assert_eq!(Expiry::NEVER.as_days(), -1);
    }

    #[test]
    fn indicator_kinds_map_or_say_why_not() {
        assert_eq!(
            ObjectValue::for_indicator(Kind::Ipv6, "2001:db8::1").unwrap(),
            ObjectValue::Ip("2001:db8::1".into())
        );
        assert_eq!(
            ObjectValue::for_indicator(Kind::Email, "a@b.example").unwrap(),
            ObjectValue::SenderMailAddress("a@b.example".into())
        );
        let error = ObjectValue::for_indicator(Kind::Md5, "0".repeat(32)).unwrap_err();
        assert!(error.to_string().contains("not MD5"), "{error}");
        assert!(ObjectValue::for_indicator(Kind::Cidr, "10.0.0.0/8").is_err());
    }
}
