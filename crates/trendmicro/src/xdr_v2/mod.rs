//! The legacy XDR v2.0 response API: block and restore-block (the DNIF webhook's actions), and
//! the task each one starts.
//!
//! - [`config`]: region or base URL, token, polling pace.
//! - [`request`]: pure parts: value types, request bodies, answers.
//! - [`client`]: [`XdrV2Client`]: `block`, `restore_block`, `get_task`; its tasks are followed by
//!   [`client::TaskWatch`].

pub mod client;
pub mod config;
pub mod request;

use std::fmt;

use indicator::Kind;
use serde::{Deserialize, Serialize};

pub use client::XdrV2Client;
pub use config::XdrV2Config;

use crate::Error;

/// The product name used in errors, logs and metrics.
pub const PRODUCT: &str = "XDR v2";

/// What kind of value a block names (`valueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Ip,
    Url,
    Domain,
    /// An e-mail address.
    Mailbox,
    FileSha1,
}

impl ValueType {
    /// The value type for an indicator kind: ipv4/ipv6 → ip, url, domain, email → mailbox,
    /// sha1 → file_sha1. CIDR, MD5 and SHA-256 have none.
    pub fn for_kind(kind: Kind) -> Result<Self, Error> {
        let unsupported = |reason| Error::Unsupported {
            product: PRODUCT,
            kind: kind.to_string(),
            reason,
        };
        match kind {
            Kind::Ipv4 | Kind::Ipv6 => Ok(ValueType::Ip),
            Kind::Url => Ok(ValueType::Url),
            Kind::Domain => Ok(ValueType::Domain),
            Kind::Email => Ok(ValueType::Mailbox),
            Kind::Sha1 => Ok(ValueType::FileSha1),
            Kind::Cidr => Err(unsupported(
                "the block action takes single IP addresses only",
            )),
            Kind::Md5 => Err(unsupported("the block action takes SHA-1 file hashes only")),
            Kind::Sha256 => Err(unsupported(
                "the v2 block action takes SHA-1 file hashes only (use Vision One's suspicious-object list)",
            )),
        }
    }

    /// The API's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Ip => "ip",
            ValueType::Url => "url",
            ValueType::Domain => "domain",
            ValueType::Mailbox => "mailbox",
            ValueType::FileSha1 => "file_sha1",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ID of the task a block or restore-block started (a number in Trend's examples; kept as
/// text so that a string ID reads as well).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ActionId(pub String);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A task's `taskStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Ongoing,
    Success,
    Failed,
    Timeout,
    Skipped,
    Finished,
    /// A status this client does not know; treated as not final.
    Other(String),
}

impl TaskStatus {
    /// Reads the API's status name.
    pub fn parse(text: &str) -> Self {
        match text {
            "pending" => TaskStatus::Pending,
            "ongoing" => TaskStatus::Ongoing,
            "success" => TaskStatus::Success,
            "failed" => TaskStatus::Failed,
            "timeout" => TaskStatus::Timeout,
            "skipped" => TaskStatus::Skipped,
            "finished" => TaskStatus::Finished,
            other => TaskStatus::Other(other.to_owned()),
        }
    }

    /// True once the task will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskStatus::Success
                | TaskStatus::Failed
                | TaskStatus::Timeout
                | TaskStatus::Skipped
                | TaskStatus::Finished
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Ongoing => "ongoing",
            TaskStatus::Success => "success",
            TaskStatus::Failed => "failed",
            TaskStatus::Timeout => "timeout",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Finished => "finished",
            TaskStatus::Other(other) => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_kinds_map_to_value_types() {
        assert_eq!(ValueType::for_kind(Kind::Ipv4).unwrap(), ValueType::Ip);
        assert_eq!(ValueType::for_kind(Kind::Ipv6).unwrap(), ValueType::Ip);
        assert_eq!(
            ValueType::for_kind(Kind::Email).unwrap(),
            ValueType::Mailbox
        );
        assert_eq!(
            ValueType::for_kind(Kind::Sha1).unwrap().as_str(),
            "file_sha1"
        );
        for kind in [Kind::Cidr, Kind::Md5, Kind::Sha256] {
            let error = ValueType::for_kind(kind).unwrap_err().to_string();
            assert!(error.contains(kind.as_str()), "{error}");
        }
    }

    #[test]
    fn task_statuses_know_which_are_final() {
        for name in ["success", "failed", "timeout", "skipped", "finished"] {
            assert!(TaskStatus::parse(name).is_final(), "{name}");
            assert_eq!(TaskStatus::parse(name).to_string(), name);
        }
        for name in ["pending", "ongoing", "queued"] {
            assert!(!TaskStatus::parse(name).is_final(), "{name}");
        }
    }
}
