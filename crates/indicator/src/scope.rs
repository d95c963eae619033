//! The scope of an IP address or network, from the IANA special-purpose address registries
//! (<https://www.iana.org/assignments/iana-ipv4-special-registry>,
//! <https://www.iana.org/assignments/iana-ipv6-special-registry>), the IPv4 multicast block, and
//! the IPv6 address-space registry (everything outside `2000::/3` and the local/multicast blocks
//! is reserved by the IETF). The registries are carried as one table, [`SPECIAL_RANGES`].
//!
//! How a network is classified (see [`lookup`]):
//! 1. the most specific table entry that contains the whole network decides, when there is one;
//! 2. otherwise a network that contains part of the special space is never public: it takes the
//!    scope of the largest special entry inside it (ties: the lowest address). So `0.0.0.0/1`
//!    is `this-network` and `0.0.0.0/0` is `multicast`, not `public`;
//! 3. otherwise an IPv6 network that leads to an IPv4 network through a transition mechanism
//!    (6to4, NAT64, Teredo, IPv4-mapped or -compatible; see [`embedded_ipv4`]) takes that IPv4
//!    network's scope when it is not public, so `2002:a00:1::1` (6to4 for `10.0.0.1`) is
//!    `private` like `10.0.0.1`;
//! 4. otherwise it is public.
//!
//! Registry entries that are globally reachable (anycast services, AS112, AMT, ORCHIDv2, ...)
//! are in the table with scope [`Scope::Public`], so that a more specific public entry inside a
//! special block (`192.0.0.9` inside `192.0.0.0/24`) is still public.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

mod embedded;

pub use embedded::{Embedded, embedded_ipv4};

/// Where an address is meant to be used, as the IANA registries say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Globally routable unicast space.
    Public,
    /// Private-use networks (RFC 1918): 10/8, 172.16/12, 192.168/16.
    Private,
    /// Loopback: 127/8, `::1`.
    Loopback,
    /// Link-local: 169.254/16, `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT space (RFC 6598): 100.64/10.
    SharedAddressSpace,
    /// Documentation examples: 192.0.2/24, 198.51.100/24, 203.0.113/24, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Benchmarking: 198.18/15, `2001:2::/48`.
    Benchmarking,
    /// Multicast: 224/4, `ff00::/8`.
    Multicast,
    /// Reserved for future use or deprecated: 240/4, IPv6 outside the assigned blocks, ...
    Reserved,
    /// "This network": 0/8 (only valid as a source).
    ThisNetwork,
    /// Limited broadcast: 255.255.255.255.
    Broadcast,
    /// Unique local IPv6 (RFC 4193): `fc00::/7`.
    UniqueLocal,
    /// The IPv6 unspecified address `::`.
    Unspecified,
    /// IETF protocol assignments: 192.0.0/24, `2001::/23` (except their public entries).
    ProtocolAssignment,
    /// The IPv6 discard-only prefix `100::/64`.
    Discard,
    /// IPv4/IPv6 translation prefixes: `64:ff9b::/96`, `64:ff9b:1::/48`.
    Translation,
    /// IPv4-mapped IPv6 space `::ffff:0:0/96` (a single mapped address is parsed as IPv4).
    Ipv4Mapped,
    /// Teredo tunnelling: `2001::/32`.
    Teredo,
}

impl Scope {
    /// Every scope, in declaration order.
    pub const ALL: [Scope; 18] = [
        Scope::Public,
        Scope::Private,
        Scope::Loopback,
        Scope::LinkLocal,
        Scope::SharedAddressSpace,
        Scope::Documentation,
        Scope::Benchmarking,
        Scope::Multicast,
        Scope::Reserved,
        Scope::ThisNetwork,
        Scope::Broadcast,
        Scope::UniqueLocal,
        Scope::Unspecified,
        Scope::ProtocolAssignment,
        Scope::Discard,
        Scope::Translation,
        Scope::Ipv4Mapped,
        Scope::Teredo,
    ];

    /// True only for globally routable unicast space.
    pub const fn is_public(&self) -> bool {
        matches!(self, Scope::Public)
    }

    /// The stable kebab-case name (`"shared-address-space"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Public => "public",
            Scope::Private => "private",
            Scope::Loopback => "loopback",
            Scope::LinkLocal => "link-local",
            Scope::SharedAddressSpace => "shared-address-space",
            Scope::Documentation => "documentation",
            Scope::Benchmarking => "benchmarking",
            Scope::Multicast => "multicast",
            Scope::Reserved => "reserved",
            Scope::ThisNetwork => "this-network",
            Scope::Broadcast => "broadcast",
            Scope::UniqueLocal => "unique-local",
            Scope::Unspecified => "unspecified",
            Scope::ProtocolAssignment => "protocol-assignment",
            Scope::Discard => "discard",
            Scope::Translation => "translation",
            Scope::Ipv4Mapped => "ipv4-mapped",
            Scope::Teredo => "teredo",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no [`Scope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// One entry of the special-purpose registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    /// The block.
    pub net: IpNet,
    /// The scope it gives the addresses in it (`Public` for globally reachable entries).
    pub scope: Scope,
    /// The registry's name for the block.
    pub name: &'static str,
    /// The defining document.
    pub rfc: &'static str,
}

const fn v4(
    a: [u8; 4],
    prefix: u8,
    scope: Scope,
    name: &'static str,
    rfc: &'static str,
) -> SpecialRange {
    let net = Ipv4Net::new_assert(Ipv4Addr::new(a[0], a[1], a[2], a[3]), prefix);
    SpecialRange {
        net: IpNet::V4(net),
        scope,
        name,
        rfc,
    }
}

const fn v6(
    a: [u16; 8],
    prefix: u8,
    scope: Scope,
    name: &'static str,
    rfc: &'static str,
) -> SpecialRange {
    let addr = Ipv6Addr::new(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    SpecialRange {
        net: IpNet::V6(Ipv6Net::new_assert(addr, prefix)),
        scope,
        name,
        rfc,
    }
}

use Scope as S;

/// The IANA special-purpose registries (IPv4 then IPv6, each by address), plus the IPv4
/// multicast block and the IPv6 blocks the address-space registry leaves reserved.
#[rustfmt::skip]
pub const SPECIAL_RANGES: &[SpecialRange] = &[
    v4([0, 0, 0, 0], 8, S::ThisNetwork, "This network", "RFC 791"),
    v4([0, 0, 0, 0], 32, S::ThisNetwork, "This host on this network", "RFC 1122"),
    v4([10, 0, 0, 0], 8, S::Private, "Private-Use", "RFC 1918"),
    v4([100, 64, 0, 0], 10, S::SharedAddressSpace, "Shared Address Space", "RFC 6598"),
    v4([127, 0, 0, 0], 8, S::Loopback, "Loopback", "RFC 1122"),
    v4([169, 254, 0, 0], 16, S::LinkLocal, "Link Local", "RFC 3927"),
    v4([172, 16, 0, 0], 12, S::Private, "Private-Use", "RFC 1918"),
    v4([192, 0, 0, 0], 24, S::ProtocolAssignment, "IETF Protocol Assignments", "RFC 6890"),
    v4([192, 0, 0, 0], 29, S::ProtocolAssignment, "IPv4 Service Continuity Prefix", "RFC 7335"),
    v4([192, 0, 0, 8], 32, S::ProtocolAssignment, "IPv4 dummy address", "RFC 7600"),
    v4([192, 0, 0, 9], 32, S::Public, "Port Control Protocol Anycast", "RFC 7723"),
    v4([192, 0, 0, 10], 32, S::Public, "Traversal Using Relays around NAT Anycast", "RFC 8155"),
    v4([192, 0, 0, 170], 32, S::ProtocolAssignment, "NAT64/DNS64 Discovery", "RFC 8880"),
    v4([192, 0, 0, 171], 32, S::ProtocolAssignment, "NAT64/DNS64 Discovery", "RFC 8880"),
    v4([192, 0, 2, 0], 24, S::Documentation, "Documentation (TEST-NET-1)", "RFC 5737"),
    v4([192, 31, 196, 0], 24, S::Public, "AS112-v4", "RFC 7535"),
    v4([192, 52, 193, 0], 24, S::Public, "AMT", "RFC 7450"),
    v4([192, 88, 99, 0], 24, S::Reserved, "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
    v4([192, 168, 0, 0], 16, S::Private, "Private-Use", "RFC 1918"),
    v4([192, 175, 48, 0], 24, S::Public, "Direct Delegation AS112 Service", "RFC 7534"),
    v4([198, 18, 0, 0], 15, S::Benchmarking, "Benchmarking", "RFC 2544"),
    v4([198, 51, 100, 0], 24, S::Documentation, "Documentation (TEST-NET-2)", "RFC 5737"),
    v4([203, 0, 113, 0], 24, S::Documentation, "Documentation (TEST-NET-3)", "RFC 5737"),
    v4([224, 0, 0, 0], 4, S::Multicast, "Multicast", "RFC 5771"),
    v4([240, 0, 0, 0], 4, S::Reserved, "Reserved", "RFC 1112"),
    v4([255, 255, 255, 255], 32, S::Broadcast, "Limited Broadcast", "RFC 919"),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 3, S::Reserved, "Reserved by IETF", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, S::Unspecified, "Unspecified Address", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, S::Loopback, "Loopback Address", "RFC 4291"),
    v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, S::Ipv4Mapped, "IPv4-mapped Address", "RFC 4291"),
    v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, S::Translation, "IPv4-IPv6 Translat.", "RFC 6052"),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, S::Translation, "IPv4-IPv6 Translat.", "RFC 8215"),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, S::Discard, "Discard-Only Address Block", "RFC 6666"),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, S::Reserved, "Dummy IPv6 Prefix", "RFC 9780"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, S::ProtocolAssignment, "IETF Protocol Assignments", "RFC 2928"),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, S::Teredo, "TEREDO", "RFC 4380"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, S::Public, "Port Control Protocol Anycast", "RFC 7723"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, S::Public, "TURN Anycast", "RFC 8155"),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, S::Public, "DNS-SD Service Registration Protocol Anycast", "RFC 9665"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, S::Benchmarking, "Benchmarking", "RFC 5180"),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, S::Public, "AMT", "RFC 7450"),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, S::Public, "AS112-v6", "RFC 7535"),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, S::Reserved, "Deprecated (previously ORCHID)", "RFC 4843"),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, S::Public, "ORCHIDv2", "RFC 7343"),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, S::Public, "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374"),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, S::Documentation, "Documentation", "RFC 3849"),
    v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, S::Public, "6to4", "RFC 3056"),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, S::Public, "Direct Delegation AS112 Service", "RFC 7534"),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, S::Documentation, "Documentation", "RFC 9637"),
    v6([0x4000, 0, 0, 0, 0, 0, 0, 0], 2, S::Reserved, "Reserved by IETF", "RFC 4291"),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, S::Reserved, "Segment Routing (SRv6) SIDs", "RFC 9602"),
    v6([0x8000, 0, 0, 0, 0, 0, 0, 0], 1, S::Reserved, "Reserved by IETF", "RFC 4291"),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, S::UniqueLocal, "Unique-Local", "RFC 4193"),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, S::LinkLocal, "Link-Local Unicast", "RFC 4291"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, S::Multicast, "Multicast", "RFC 4291"),
];

/// How many rows of [`SPECIAL_RANGES`] are IPv4 (they all come first).
const V4_ROWS: usize = {
    let mut n = 0;
    while n < SPECIAL_RANGES.len() && matches!(SPECIAL_RANGES[n].net, IpNet::V4(_)) {
        n += 1;
    }
    n
};

/// [`key`] of every row, computed once (rows are stored truncated, so `addr` is the network).
const KEYS: [(u128, u8); SPECIAL_RANGES.len()] = {
    let mut keys = [(0u128, 0u8); SPECIAL_RANGES.len()];
    let mut row = 0;
    while row < SPECIAL_RANGES.len() {
        keys[row] = match SPECIAL_RANGES[row].net {
            IpNet::V4(n) => ((n.addr().to_bits() as u128) << 96, n.prefix_len()),
            IpNet::V6(n) => (n.addr().to_bits(), n.prefix_len()),
        };
        row += 1;
    }
    keys
};

/// The scope of a network (a single address is a /32 or /128), by the rules in the module note.
pub fn classify(net: &IpNet) -> Scope {
    let own = lookup(net).map_or(Scope::Public, |range| range.scope);
    match net {
        IpNet::V6(v6) if own.is_public() => {
            embedded_special(v6).map_or(Scope::Public, |(_, range)| range.scope)
        }
        _ => own,
    }
}

/// The first IPv4 network `net` embeds (see [`embedded_ipv4`]) that is not public, with the
/// table entry that says so; useful to explain why a public-looking IPv6 network is not.
pub fn embedded_special(net: &Ipv6Net) -> Option<(Embedded, &'static SpecialRange)> {
    embedded_ipv4(net).find_map(|embedded| {
        lookup(&IpNet::V4(embedded.net))
            .filter(|range| !range.scope.is_public())
            .map(|range| (embedded, range))
    })
}

/// The scope of a single address.
pub fn classify_addr(addr: IpAddr) -> Scope {
    classify(&IpNet::from(addr))
}

/// The table entry that decides the scope of `net`, if any (see the module note); useful to
/// explain a classification. An entry with scope `Public` may be returned.
pub fn lookup(net: &IpNet) -> Option<&'static SpecialRange> {
    let (bits, prefix) = key(net);
    let rows = match net {
        IpNet::V4(_) => 0..V4_ROWS,
        IpNet::V6(_) => V4_ROWS..SPECIAL_RANGES.len(),
    };
    let mut container: Option<&'static SpecialRange> = None;
    let mut inside: Option<&'static SpecialRange> = None;
    for row in rows {
        let (range, (rbits, rprefix)) = (&SPECIAL_RANGES[row], KEYS[row]);
        if rprefix <= prefix && within(bits, rbits, rprefix) {
            if container.is_none_or(|c| c.net.prefix_len() < rprefix) {
                container = Some(range);
            }
        } else if rprefix > prefix
            && within(rbits, bits, prefix)
            && !range.scope.is_public()
            && inside.is_none_or(|i| i.net.prefix_len() > rprefix)
        {
            inside = Some(range);
        }
    }
    match container {
        Some(c) if !c.scope.is_public() => Some(c),
        _ => inside.or(container),
    }
}

/// The network's bits left-aligned in a `u128`, and its prefix length.
fn key(net: &IpNet) -> (u128, u8) {
    match net {
        IpNet::V4(n) => (u128::from(u32::from(n.network())) << 96, n.prefix_len()),
        IpNet::V6(n) => (u128::from(n.network()), n.prefix_len()),
    }
}

/// True when the left-aligned `bits` lie in the left-aligned block `block/prefix`.
fn within(bits: u128, block: u128, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    bits & mask == block & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(s: &str) -> Scope {
        let net = s
            .parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .unwrap();
        classify(&net)
    }

    #[test]
    fn ipv4_registry_examples() {
        for (addr, scope) in [
            ("8.8.8.8", S::Public),
            ("0.1.2.3", S::ThisNetwork),
            ("0.0.0.0", S::ThisNetwork),
            ("10.255.0.1", S::Private),
            ("172.16.0.1", S::Private),
            ("172.31.255.255", S::Private),
            ("172.32.0.1", S::Public),
            ("192.168.0.1", S::Private),
            ("100.64.0.1", S::SharedAddressSpace),
            ("100.128.0.1", S::Public),
            ("127.0.0.1", S::Loopback),
            ("169.254.169.254", S::LinkLocal),
            ("192.0.0.1", S::ProtocolAssignment),
            ("192.0.0.9", S::Public),
            ("192.0.0.10", S::Public),
            ("192.0.0.170", S::ProtocolAssignment),
            ("192.0.2.1", S::Documentation),
            ("198.51.100.7", S::Documentation),
            ("203.0.113.200", S::Documentation),
            ("198.18.0.1", S::Benchmarking),
            ("198.19.255.255", S::Benchmarking),
            ("198.20.0.1", S::Public),
            ("192.88.99.1", S::Reserved),
            ("192.31.196.1", S::Public),
            ("224.0.0.251", S::Multicast),
            ("239.255.255.250", S::Multicast),
            ("240.0.0.1", S::Reserved),
            ("255.255.255.254", S::Reserved),
            ("255.255.255.255", S::Broadcast),
        ] {
            assert_eq!(of(addr), scope, "{addr}");
        }
    }

    #[test]
    fn ipv6_registry_examples() {
        for (addr, scope) in [
            ("2606:4700:4700::1111", S::Public),
            ("2001:4860:4860::8888", S::Public),
            ("::", S::Unspecified),
            ("::1", S::Loopback),
            ("::2", S::Reserved),
            ("::ffff:0:0/96", S::Ipv4Mapped),
            ("64:ff9b::808:808", S::Translation),
            ("64:ff9b:1::1", S::Translation),
            ("100::1", S::Discard),
            ("100:0:0:1::1", S::Reserved),
            ("2001::1", S::Teredo),
            ("2001:1::1", S::Public),
            ("2001:1::4", S::ProtocolAssignment),
            ("2001:2::1", S::Benchmarking),
            ("2001:3::1", S::Public),
            ("2001:10::1", S::Reserved),
            ("2001:20::1", S::Public),
            ("2001:db8::1", S::Documentation),
            ("2001:200::1", S::Public),
            ("2002:808:808::1", S::Public),
            ("3fff::1", S::Documentation),
            ("4000::1", S::Reserved),
            ("5f00::1", S::Reserved),
            ("fc00::1", S::UniqueLocal),
            ("fd12:3456::1", S::UniqueLocal),
            ("fe80::1", S::LinkLocal),
            ("fec0::1", S::Reserved),
            ("ff02::1", S::Multicast),
        ] {
            assert_eq!(of(addr), scope, "{addr}");
        }
    }

    #[test]
    fn networks_touching_special_space_are_never_public() {
        assert_eq!(of("0.0.0.0/1"), S::ThisNetwork);
        assert_eq!(of("8.0.0.0/6"), S::Private);
        assert_eq!(of("0.0.0.0/0"), S::Multicast);
        assert_eq!(of("100.0.0.0/8"), S::SharedAddressSpace);
        assert_eq!(of("192.0.0.8/30"), S::ProtocolAssignment);
        assert_eq!(of("192.0.0.0/16"), S::ProtocolAssignment);
        assert_eq!(of("2000::/3"), S::Documentation);
        assert_eq!(of("::/0"), S::Reserved);
        assert_eq!(of("8.0.0.0/7"), S::Public);
        assert_eq!(of("2001:20::/29"), S::Public);
        assert_eq!(of("11.0.0.0/8"), S::Public);
    }

    #[test]
    fn the_table_is_well_formed_and_classifies_itself() {
        assert!(
            SPECIAL_RANGES[V4_ROWS..]
                .iter()
                .all(|r| matches!(r.net, IpNet::V6(_)))
        );
        for range in SPECIAL_RANGES {
            assert_eq!(range.net, range.net.trunc(), "{}", range.net);
            let scope = classify(&range.net);
            if range.name == "6to4" {
                // Public as a block, but it leads to every IPv4 address, private ones too.
                assert!(!scope.is_public(), "{scope}");
            } else {
                assert_eq!(scope, range.scope, "{}", range.net);
            }
        }
    }

    #[test]
    fn ipv6_that_embeds_ipv4_takes_the_ipv4_scope() {
        for (net, scope) in [
            ("2002:a00:1::1", S::Private),
            ("2002:7f00:1::", S::Loopback),
            ("2002:c000:204::1", S::Documentation),
            ("2002:a9fe:a9fe::1", S::LinkLocal),
            ("2002:a00::/24", S::Private),
            ("2002:800::/24", S::Public),
            ("2002:800::/21", S::Private),
            ("2002::/16", S::Multicast),
            // Forms whose own block is special keep the block's scope.
            ("64:ff9b::a00:1", S::Translation),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", S::Teredo),
        ] {
            assert_eq!(of(net), scope, "{net}");
        }
        let v6: Ipv6Net = "2002:a00:1::1/128".parse().unwrap();
        let (embedded, range) = embedded_special(&v6).unwrap();
        assert_eq!(
            (embedded.net.to_string(), embedded.via),
            ("10.0.0.1/32".to_owned(), "6to4")
        );
        assert_eq!(range.name, "Private-Use");
        assert!(embedded_special(&"2002:808:808::/48".parse().unwrap()).is_none());
    }

    #[test]
    fn lookup_explains_the_decision() {
        let range = lookup(&"10.0.0.0/8".parse().unwrap()).unwrap();
        assert_eq!((range.name, range.rfc), ("Private-Use", "RFC 1918"));
        assert!(lookup(&"8.8.8.0/24".parse().unwrap()).is_none());
    }

    #[test]
    fn names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{scope}\"")
            );
            assert_eq!(scope.is_public(), scope == S::Public);
        }
    }
}
