//! Apex Central (on-premise): the User-Defined Suspicious Object (UDSO) list, which Apex
//! Central distributes to Apex One, Deep Discovery and TippingPoint.
//!
//! - [`config`]: base URL, application ID, API key, HTTP policy.
//! - [`request`]: pure parts: the request checksum and the signed token, request bodies,
//!   reading answers.
//! - [`client`]: [`ApexCentralClient`]: `list`, `find`, `add`, `remove`, `check`, `stats`.
//!
//! One value per call: the API adds and removes a single object per request (Automation API
//! guide, "Add UDSO"; XSOAR's `TrendMicroApex.py`), so a caller sends many calls concurrently,
//! within the HTTP policy's `max_concurrency`. Every request carries a fresh JWT (made with the
//! `jsonwebtoken` crate, HS256 over the API key) whose `checksum` covers exactly the method, path,
//! query and body sent; Apex Central refuses tokens older than the application's communication
//! time-out, so a retried request is signed again.
//!
//! Reading back: `contentFilter` "filters the list to suspicious objects that match the
//! specified string" (XSOAR's `TrendMicroApex.yml`), a partial match as far as anyone knows, so
//! [`ApexCentralClient::find`] keeps only the object whose content is the value itself. SHA-1
//! objects are added as `file_sha1` and may be listed as `file_sha1` or `file`; SHA-1s come back
//! in upper case (XSOAR's README example). Apex Central publishes no cap on the list: a full
//! list answers 413 "Maximum exceeded" (ErrorCode 12), which is [`crate::Error::CapReached`].

pub mod client;
pub mod config;
pub mod request;

use std::fmt;

use indicator::Kind;
use serde::Serialize;
use time::OffsetDateTime;

pub use client::{ApexCentralClient, Removal};
pub use config::ApexCentralConfig;

use crate::Error;

/// The product name used in errors, logs and metrics.
pub const PRODUCT: &str = "Apex Central";

/// Longest note Apex Central takes (guide, "Add UDSO": "maximum length: 256 characters").
pub const MAX_NOTES_CHARS: usize = 256;

/// Longest URL Apex Central takes (guide, "Add UDSO": "maximum length: 2047 characters").
pub const MAX_URL_CHARS: usize = 2047;

/// What kind of value a UDSO holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UdsoType {
    /// A file's SHA-1 (the API's `file_sha1`).
    File,
    /// An IPv4 address.
    Ip,
    /// A URL starting with `http://` or `https://`.
    Url,
    Domain,
}

impl UdsoType {
    /// The type for an indicator kind: sha1 → file, ipv4 → ip, url, domain. Apex Central's API
    /// takes no SHA-256, MD5, CIDR, e-mail address, and IPv4 addresses only ("provide the IPv4
    /// address", guide).
    pub fn for_kind(kind: Kind) -> Result<Self, Error> {
        let unsupported = |reason| Error::Unsupported {
            product: PRODUCT,
            kind: kind.to_string(),
            reason,
        };
        match kind {
            Kind::Sha1 => Ok(UdsoType::File),
            Kind::Ipv4 => Ok(UdsoType::Ip),
            Kind::Url => Ok(UdsoType::Url),
            Kind::Domain => Ok(UdsoType::Domain),
            Kind::Ipv6 => Err(unsupported("the UDSO API takes IPv4 addresses only")),
            Kind::Cidr => Err(unsupported("the UDSO list takes single IP addresses only")),
            Kind::Sha256 | Kind::Md5 => {
                Err(unsupported("the UDSO list takes SHA-1 file hashes only"))
            }
            Kind::Email => Err(unsupported("the UDSO list has no e-mail addresses")),
        }
    }

    /// The API's name (`file_sha1` for SHA-1s: `file` is the type of uploaded files, whose
    /// `content` is the file itself as base64).
    pub fn as_str(self) -> &'static str {
        match self {
            UdsoType::File => "file_sha1",
            UdsoType::Ip => "ip",
            UdsoType::Url => "url",
            UdsoType::Domain => "domain",
        }
    }

    /// The type of a listed object; SHA-1 objects may be listed as `file_sha1` or `file`.
    pub fn from_listed(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "file_sha1" | "file" => Some(UdsoType::File),
            "ip" => Some(UdsoType::Ip),
            "url" => Some(UdsoType::Url),
            "domain" => Some(UdsoType::Domain),
            _ => None,
        }
    }

    /// Whether two contents of this type name the same object (hashes and domains compare
    /// without case).
    pub fn same_content(self, a: &str, b: &str) -> bool {
        match self {
            UdsoType::File | UdsoType::Domain => a.eq_ignore_ascii_case(b),
            UdsoType::Ip | UdsoType::Url => a == b,
        }
    }
}

impl fmt::Display for UdsoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What products do when they meet the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanAction {
    Log,
    Block,
    /// File objects only ("The quarantine scan action is only available for file type
    /// objects", XSOAR's `TrendMicroApex.yml`).
    Quarantine,
}

impl ScanAction {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanAction::Log => "log",
            ScanAction::Block => "block",
            ScanAction::Quarantine => "quarantine",
        }
    }

    /// Reads the API's name, without regard to case (the File UDSO API writes `LOG`, `Log`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "log" => Some(ScanAction::Log),
            "block" => Some(ScanAction::Block),
            "quarantine" => Some(ScanAction::Quarantine),
            _ => None,
        }
    }
}

impl fmt::Display for ScanAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One User-Defined Suspicious Object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Udso {
    pub kind: UdsoType,
    /// The value: SHA-1 hex, IPv4 address, URL or domain.
    pub content: String,
    /// Free text, at most [`MAX_NOTES_CHARS`] characters (the marker goes here).
    pub notes: String,
    pub scan_action: ScanAction,
    /// When Apex Central drops the object (UTC, whole seconds); `None` never expires.
    /// Serialised as RFC 3339.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

impl Udso {
    /// An object without notes that never expires.
    pub fn new(kind: UdsoType, content: impl Into<String>, scan_action: ScanAction) -> Self {
        Self {
            kind,
            content: content.into(),
            notes: String::new(),
            scan_action,
            expires: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_kinds_map_to_udso_types() {
        assert_eq!(UdsoType::for_kind(Kind::Sha1).unwrap(), UdsoType::File);
        assert_eq!(
            UdsoType::for_kind(Kind::Sha1).unwrap().as_str(),
            "file_sha1"
        );
        assert_eq!(UdsoType::for_kind(Kind::Ipv4).unwrap(), UdsoType::Ip);
        assert_eq!(UdsoType::for_kind(Kind::Url).unwrap(), UdsoType::Url);
        assert_eq!(UdsoType::for_kind(Kind::Domain).unwrap(), UdsoType::Domain);
        for kind in [Kind::Sha256, Kind::Md5, Kind::Cidr, Kind::Ipv6, Kind::Email] {
            let error = UdsoType::for_kind(kind).unwrap_err().to_string();
            assert!(error.contains(kind.as_str()), "{error}");
            assert!(error.contains(PRODUCT), "{error}");
        }
    }

    #[test]
    fn listed_types_and_actions_read_in_every_spelling() {
        assert_eq!(UdsoType::from_listed("file"), Some(UdsoType::File));
        assert_eq!(UdsoType::from_listed("FILE_SHA1"), Some(UdsoType::File));
        assert_eq!(UdsoType::from_listed("mailbox"), None);
        assert_eq!(
            ScanAction::parse("Quarantine"),
            Some(ScanAction::Quarantine)
        );
        assert_eq!(ScanAction::parse("LOG"), Some(ScanAction::Log));
        assert_eq!(ScanAction::parse("clean"), None);
    }

    #[test]
    fn objects_serialise_with_readable_dates() {
        let mut udso = Udso::new(UdsoType::File, "ab", ScanAction::Quarantine);
        udso.expires = Some(time::macros::datetime!(2030-01-25 09:00:00 UTC));
        let json = serde_json::to_value(&udso).unwrap();
        assert_eq!(json["expires"], "2030-01-25T09:00:00Z");
        assert_eq!(json["kind"], "file");
        assert_eq!(json["scan_action"], "quarantine");
    }

    #[test]
    fn contents_compare_as_apex_central_does() {
        assert!(UdsoType::File.same_content("ab12", "AB12"));
        assert!(UdsoType::Domain.same_content("Evil.Example", "evil.example"));
        assert!(!UdsoType::Url.same_content("https://e.example/A", "https://e.example/a"));
    }
}
