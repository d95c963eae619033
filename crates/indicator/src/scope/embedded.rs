//! IPv4 addresses carried inside IPv6 addresses by transition mechanisms, so that an IPv6
//! address is judged by the IPv4 address it leads to as well as by its own block.
//!
//! `2002:a00:1::1` is 6to4 for `10.0.0.1`: its own block (`2002::/16`) is public, but a host
//! that sends to it reaches a private address through a relay. The forms, each a prefix and
//! where the 32 IPv4 bits sit in the 128:
//!
//! | form | prefix | IPv4 bits |
//! |---|---|---|
//! | 6to4 (RFC 3056) | `2002::/16` | 16..48 |
//! | NAT64 well-known prefix (RFC 6052) | `64:ff9b::/96` | 96..128 |
//! | Teredo server (RFC 4380) | `2001::/32` | 32..64 |
//! | Teredo client (RFC 4380) | `2001::/32` | 96..128, inverted |
//! | IPv4-mapped (RFC 4291) | `::ffff:0:0/96` | 96..128 |
//! | IPv4-compatible, deprecated (RFC 4291) | `::/96` | 96..128 |
//!
//! A network inside a form's prefix embeds the IPv4 network its fixed bits give
//! (`2002:a00::/24` embeds `10.0.0.0/8`); a network that holds the whole prefix embeds all of
//! IPv4 (`0.0.0.0/0`).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// One transition mechanism: its prefix and where it keeps the IPv4 address.
struct Form {
    name: &'static str,
    prefix: Ipv6Net,
    /// The first of the 32 IPv4 bits, counted from the most significant bit.
    offset: u8,
    /// XORed with the bits to get the address (Teredo inverts the client's).
    invert: u32,
}

const fn form(name: &'static str, a: [u16; 8], prefix: u8, offset: u8, invert: u32) -> Form {
    let addr = Ipv6Addr::new(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    Form {
        name,
        prefix: Ipv6Net::new_assert(addr, prefix),
        offset,
        invert,
    }
}

const FORMS: [Form; 6] = [
    form("6to4", [0x2002, 0, 0, 0, 0, 0, 0, 0], 16, 16, 0),
    form("NAT64", [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, 96, 0),
    form("Teredo server", [0x2001, 0, 0, 0, 0, 0, 0, 0], 32, 32, 0),
    form(
        "Teredo client",
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        32,
        96,
        u32::MAX,
    ),
    form("IPv4-mapped", [0, 0, 0, 0, 0, 0xffff, 0, 0], 96, 96, 0),
    form("IPv4-compatible", [0, 0, 0, 0, 0, 0, 0, 0], 96, 96, 0),
];

/// An IPv4 network an IPv6 network leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedded {
    /// The IPv4 network (a /32 for a single address).
    pub net: Ipv4Net,
    /// The mechanism: `6to4`, `NAT64`, `Teredo server`, `Teredo client`, `IPv4-mapped` or
    /// `IPv4-compatible`.
    pub via: &'static str,
}

/// Every IPv4 network `net` embeds, one per form whose prefix it meets (Teredo gives two).
pub fn embedded_ipv4(net: &Ipv6Net) -> impl Iterator<Item = Embedded> + '_ {
    FORMS.iter().filter_map(move |form| {
        let embedded = if form.prefix.contains(net) {
            inside(form, net)
        } else if net.contains(&form.prefix) {
            Ipv4Net::default()
        } else {
            return None;
        };
        Some(Embedded {
            net: embedded,
            via: form.name,
        })
    })
}

/// The IPv4 network that a network inside `form`'s prefix fixes: as many bits as its prefix
/// reaches into the IPv4 field.
fn inside(form: &Form, net: &Ipv6Net) -> Ipv4Net {
    let bits = u128::from(net.network());
    let shift = 96 - u32::from(form.offset);
    // Truncation keeps exactly the 32 bits of the field.
    let field = (bits >> shift) as u32 ^ form.invert;
    let prefix = net.prefix_len().saturating_sub(form.offset).min(32);
    // A prefix of at most 32 is always valid for IPv4.
    Ipv4Net::new(Ipv4Addr::from(field), prefix)
        .map(|n| n.trunc())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(net: &str) -> Vec<(String, &'static str)> {
        let net: Ipv6Net = net
            .parse()
            .or_else(|_| net.parse::<Ipv6Addr>().map(Ipv6Net::from))
            .unwrap();
        embedded_ipv4(&net)
            .map(|e| (e.net.to_string(), e.via))
            .collect()
    }

    #[test]
    fn each_form_gives_its_address() {
        assert_eq!(of("2002:a00:1::1"), [("10.0.0.1/32".into(), "6to4")]);
        assert_eq!(of("64:ff9b::a00:1"), [("10.0.0.1/32".into(), "NAT64")]);
        assert_eq!(
            of("::ffff:10.0.0.1"),
            [("10.0.0.1/32".into(), "IPv4-mapped")]
        );
        assert_eq!(
            of("::10.0.0.1"),
            [("10.0.0.1/32".into(), "IPv4-compatible")]
        );
        // RFC 4380's example: server 65.54.227.120, client 192.0.2.45 (inverted).
        assert_eq!(
            of("2001:0:4136:e378:8000:63bf:3fff:fdd2"),
            [
                ("65.54.227.120/32".into(), "Teredo server"),
                ("192.0.2.45/32".into(), "Teredo client"),
            ]
        );
        assert!(of("2606:4700::1111").is_empty());
    }

    #[test]
    fn networks_embed_the_networks_their_bits_fix() {
        assert_eq!(of("2002:a00::/24"), [("10.0.0.0/8".into(), "6to4")]);
        assert_eq!(of("2002::/16"), [("0.0.0.0/0".into(), "6to4")]);
        assert_eq!(of("2002:a00:1:1::/64"), [("10.0.0.1/32".into(), "6to4")]);
        assert_eq!(of("64:ff9b::a00:0/104"), [("10.0.0.0/8".into(), "NAT64")]);
        // Wider than the prefix: all of IPv4.
        assert_eq!(
            of("2000::/4"),
            [
                ("0.0.0.0/0".into(), "6to4"),
                ("0.0.0.0/0".into(), "Teredo server"),
                ("0.0.0.0/0".into(), "Teredo client"),
            ]
        );
        // A Teredo network above the client bits fixes none of them.
        assert_eq!(
            of("2001:0:4136:e378::/64"),
            [
                ("65.54.227.120/32".into(), "Teredo server"),
                ("0.0.0.0/0".into(), "Teredo client"),
            ]
        );
    }
}
