//! The kinds of indicator iocsync knows, with their stable lower-case names (used in feeds, the
//! library, JSON output and on the command line).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an indicator is. Together with the canonical value it is the indicator's identity.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A single IPv4 address.
    Ipv4,
    /// A single IPv6 address.
    Ipv6,
    /// An IPv4 or IPv6 network (`network/prefix`, never a single address).
    Cidr,
    /// A domain name (at least two labels).
    Domain,
    /// A URL, with or without a scheme.
    Url,
    /// An e-mail address.
    Email,
    /// An MD5 file hash (32 hex digits).
    Md5,
    /// A SHA-1 file hash (40 hex digits).
    Sha1,
    /// A SHA-256 file hash (64 hex digits).
    Sha256,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 9] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Cidr,
        Kind::Domain,
        Kind::Url,
        Kind::Email,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
    ];

    /// The stable lower-case name (`"ipv4"`, `"sha256"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Cidr => "cidr",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
        }
    }

    /// True for the kinds that denote addresses or networks (ipv4, ipv6, cidr).
    pub const fn is_network(self) -> bool {
        matches!(self, Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr)
    }

    /// True for the file-hash kinds (md5, sha1, sha256).
    pub const fn is_hash(self) -> bool {
        matches!(self, Kind::Md5 | Kind::Sha1 | Kind::Sha256)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown indicator kind `{0}` (expected one of ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Accepts the lower-case names, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_from_str_and_serde() {
        for kind in Kind::ALL {
            assert_eq!(kind.to_string().parse::<Kind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), kind);
        }
        assert_eq!("SHA256".parse::<Kind>().unwrap(), Kind::Sha256);
        assert!("ip".parse::<Kind>().is_err());
    }
}
