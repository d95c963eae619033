//! Vision One's object vocabulary: the six value types, scan actions, risk levels, and the
//! stored suspicious objects and exceptions with their JSON forms.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::{NEVER_EXPIRES, format_iso};

/// The value keys an object can carry, named as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectType {
    #[serde(rename = "url")]
    Url,
    #[serde(rename = "domain")]
    Domain,
    #[serde(rename = "ip")]
    Ip,
    #[serde(rename = "senderMailAddress")]
    SenderMailAddress,
    #[serde(rename = "fileSha1")]
    FileSha1,
    #[serde(rename = "fileSha256")]
    FileSha256,
}

impl ObjectType {
    pub const ALL: [ObjectType; 6] = [
        ObjectType::Url,
        ObjectType::Domain,
        ObjectType::Ip,
        ObjectType::SenderMailAddress,
        ObjectType::FileSha1,
        ObjectType::FileSha256,
    ];

    /// The JSON key (and `type` value) of this type.
    pub fn key(self) -> &'static str {
        match self {
            ObjectType::Url => "url",
            ObjectType::Domain => "domain",
            ObjectType::Ip => "ip",
            ObjectType::SenderMailAddress => "senderMailAddress",
            ObjectType::FileSha1 => "fileSha1",
            ObjectType::FileSha256 => "fileSha256",
        }
    }

    /// The type whose JSON key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }

    /// Identity of a value within its type: hashes, domains and addresses compare without
    /// case; URLs and IPs as written.
    pub fn identity(self, value: &str) -> String {
        match self {
            ObjectType::Url | ObjectType::Ip => value.to_owned(),
            _ => value.to_ascii_lowercase(),
        }
    }
}

/// What connected products do on a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanAction {
    Block,
    Log,
}

impl ScanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanAction::Block => "block",
            ScanAction::Log => "log",
        }
    }
}

/// Risk level of a suspicious object; ordered low < medium < high for `orderBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// One entry of the Suspicious Object List.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuspiciousObject {
    #[serde(rename = "type")]
    pub kind: ObjectType,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub scan_action: ScanAction,
    pub risk_level: RiskLevel,
    /// Unix seconds.
    pub last_modified: i64,
    /// Unix seconds; `None` never expires.
    pub expires: Option<i64>,
    /// Modification sequence number: breaks ties between equal times when paging.
    pub seq: u64,
}

impl SuspiciousObject {
    /// Expiry for sorting and eviction, never-expiring objects last.
    pub fn expiry_or_never(&self) -> i64 {
        self.expires.unwrap_or(NEVER_EXPIRES)
    }

    /// The item as the list endpoint returns it.
    pub fn to_api_json(&self, in_exception_list: bool) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), self.kind.key().into());
        map.insert(self.kind.key().into(), self.value.clone().into());
        if let Some(description) = &self.description {
            map.insert("description".into(), description.clone().into());
        }
        map.insert("scanAction".into(), self.scan_action.as_str().into());
        map.insert("riskLevel".into(), self.risk_level.as_str().into());
        map.insert("inExceptionList".into(), in_exception_list.into());
        map.insert(
            "lastModifiedDateTime".into(),
            format_iso(self.last_modified).into(),
        );
        map.insert(
            "expiredDateTime".into(),
            format_iso(self.expiry_or_never()).into(),
        );
        Value::Object(map)
    }
}

/// One entry of the Exception List.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionObject {
    #[serde(rename = "type")]
    pub kind: ObjectType,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub last_modified: i64,
    pub seq: u64,
}

impl ExceptionObject {
    /// The item as the list endpoint returns it.
    pub fn to_api_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), self.kind.key().into());
        map.insert(self.kind.key().into(), self.value.clone().into());
        if let Some(description) = &self.description {
            map.insert("description".into(), description.clone().into());
        }
        map.insert(
            "lastModifiedDateTime".into(),
            format_iso(self.last_modified).into(),
        );
        Value::Object(map)
    }

    /// Whether this exception covers `value` of type `kind`: exact (case-insensitive) or
    /// through the `*` wildcards exceptions allow.
    pub fn covers(&self, kind: ObjectType, value: &str) -> bool {
        self.kind == kind && crate::wildcard::glob_matches(&self.value, value)
    }
}
