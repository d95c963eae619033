//! The parsed indicator value ([`Indicator`]) and the [`Flag`]s that record what canonicalising
//! changed or noticed, so that nothing done to an input is silent.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Kind, Scope};

/// Something canonicalising changed or noticed about an input. Flags never make a value
/// invalid; they explain how the canonical value differs from what was written, or why a
/// consumer may want to look twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// A CIDR had bits set after its prefix; the value is the network it lies in.
    HostBitsSet,
    /// A CIDR was written with a dotted netmask (`/255.255.255.0`) and is given as a prefix.
    DottedMask,
    /// A URL had no scheme (`example.com/path`); its value is stored without one.
    NoScheme,
    /// A domain has a label with an underscore (valid in DNS, not in host names).
    Underscore,
    /// A domain's top-level label is not on the public suffix list.
    UnknownTld,
    /// A domain is itself a public suffix (`co.uk`): blocking it blocks a whole registry.
    PublicSuffix,
    /// A domain has internationalised labels; the value holds the A-labels (punycode) and
    /// `display` the Unicode form.
    Idn,
    /// The input was defanged (`hxxp`, `[.]`, ...) or wrapped in quotes, brackets or trailing
    /// punctuation, and was refanged.
    Refanged,
    /// An IPv4-mapped IPv6 address or network (`::ffff:1.2.3.4`) is given as IPv4.
    MappedIpv4,
    /// The CIDR or address is one of the blocks that exactly cover an address range `a - b`.
    FromRange,
    /// A URL's fragment (`#...`) was dropped: it is never sent to a server.
    FragmentDropped,
    /// A URL's port was the scheme's default and was dropped.
    DefaultPortDropped,
}

impl Flag {
    /// The stable kebab-case name (`"host-bits-set"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Flag::HostBitsSet => "host-bits-set",
            Flag::DottedMask => "dotted-mask",
            Flag::NoScheme => "no-scheme",
            Flag::Underscore => "underscore",
            Flag::UnknownTld => "unknown-tld",
            Flag::PublicSuffix => "public-suffix",
            Flag::Idn => "idn",
            Flag::Refanged => "refanged",
            Flag::MappedIpv4 => "mapped-ipv4",
            Flag::FromRange => "from-range",
            Flag::FragmentDropped => "fragment-dropped",
            Flag::DefaultPortDropped => "default-port-dropped",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A valid indicator in canonical form. `(kind, value)` is its identity: two inputs that mean
/// the same thing (`EXAMPLE.com.` and `example[.]com`) give equal `(kind, value)` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Indicator {
    /// What the indicator is.
    pub kind: Kind,
    /// The canonical value; parsing it again gives the same value.
    pub value: String,
    /// The Unicode form, for internationalised domains (and URLs and e-mail addresses on them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The IANA special-purpose scope, for IP addresses and CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// What canonicalising changed or noticed, sorted, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}

impl Indicator {
    /// The network an ipv4, ipv6 or cidr indicator denotes (a single address as a /32 or /128);
    /// `None` for the other kinds or a value that is not canonical.
    pub fn net(&self) -> Option<IpNet> {
        match self.kind {
            Kind::Ipv4 | Kind::Ipv6 => self.value.parse::<IpAddr>().ok().map(IpNet::from),
            Kind::Cidr => self.value.parse::<IpNet>().ok(),
            _ => None,
        }
    }

    /// True when the indicator carries `flag`.
    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// Builds an indicator with no display form, scope or flags.
    pub(crate) fn new(kind: Kind, value: String) -> Self {
        Indicator {
            kind,
            value,
            display: None,
            scope: None,
            flags: Vec::new(),
        }
    }

    /// Adds `flag`, keeping the list sorted and free of repeats.
    pub(crate) fn add_flag(&mut self, flag: Flag) {
        if let Err(at) = self.flags.binary_search(&flag) {
            self.flags.insert(at, flag);
        }
    }
}

impl fmt::Display for Indicator {
    /// The kind and canonical value, as `kind:value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}
