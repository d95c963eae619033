//! Networks: `address/prefix` (or `address/dotted-mask` for IPv4) and address ranges
//! `a - b`. A network with host bits set becomes the network it lies in (flag `host-bits-set`);
//! a `/32` or `/128` is a single address and gets the address kind; a range becomes the
//! minimal exact set of CIDRs (flag `from-range`); IPv4-mapped IPv6 networks become IPv4.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::aggregate::{addr_bits, cover, v4_net, v6_net};
use crate::{Flag, Indicator, Kind, Reason, ip, scope};

/// Splits `s` at its first `/` when the part before it is an IP address shape (so that
/// `example.com/path` is left to the URL parser) and the part after is a prefix or mask.
pub(crate) fn split(s: &str) -> Option<(&str, &str)> {
    let (addr, prefix) = s.split_once('/')?;
    // A fragment would be dropped from a URL, leaving a value that reads as a CIDR, so the
    // shape is judged without it (and the prefix parser then rejects the `#`).
    let written = prefix.split_once('#').map_or(prefix, |(before, _)| before);
    let prefix_like =
        !written.is_empty() && written.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (is_ip_like(addr) && prefix_like).then_some((addr, prefix))
}

/// True when `s` has the shape of an address of either family.
fn is_ip_like(s: &str) -> bool {
    ip::looks_like_ipv6(s) || ip::looks_like_ipv4(s)
}

/// Parses `addr/prefix` as split by [`split`].
pub(crate) fn parse(addr: &str, prefix: &str) -> Result<Indicator, Reason> {
    let (ip, mapped) = ip::parse_ip(addr)?;
    let (len, dotted) = prefix_len(ip, mapped, prefix)?;
    // A mapped address with a prefix shorter than /96 reaches outside the mapped block.
    let (ip, len, mapped) = match ip {
        IpAddr::V4(v4) if mapped && len < 96 => (IpAddr::V6(v4.to_ipv6_mapped()), len, false),
        _ if mapped => (ip, len - 96, true),
        _ => (ip, len, false),
    };
    let net = IpNet::new(ip, len)
        .map_err(|_| Reason::BadPrefix(prefix.to_owned(), max_len(ip, mapped)))?;
    let mut ind = net_indicator(net.trunc());
    for (on, flag) in [
        (net.trunc() != net, Flag::HostBitsSet),
        (dotted, Flag::DottedMask),
        (mapped, Flag::MappedIpv4),
    ] {
        if on {
            ind.add_flag(flag);
        }
    }
    Ok(ind)
}

/// The longest prefix as written for this address (mapped IPv4 is written in IPv6 terms).
fn max_len(ip: IpAddr, mapped: bool) -> u8 {
    match ip {
        IpAddr::V4(_) if !mapped => 32,
        _ => 128,
    }
}

/// The prefix length as written (in IPv6 terms for mapped addresses), and whether it was a
/// dotted mask.
fn prefix_len(ip: IpAddr, mapped: bool, prefix: &str) -> Result<(u8, bool), Reason> {
    let max = max_len(ip, mapped);
    let bad = || Reason::BadPrefix(prefix.to_owned(), max);
    if prefix.contains('.') {
        if max != 32 {
            return Err(bad());
        }
        let mask = u32::from(ip::parse_ipv4(prefix).map_err(|_| bad())?);
        return match mask.leading_ones() {
            ones if mask.checked_shl(ones).unwrap_or(0) == 0 => Ok((ones as u8, true)),
            _ => Err(Reason::NonContiguousMask(prefix.to_owned())),
        };
    }
    let len = match prefix.parse::<u8>() {
        Ok(len) if prefix.len() <= 3 && len <= max => len,
        _ => return Err(bad()),
    };
    Ok((len, false))
}

/// The indicator for a network: a single address for `/32` and `/128`, else a CIDR; with scope.
pub(crate) fn net_indicator(net: IpNet) -> Indicator {
    if net.prefix_len() == net.max_prefix_len() {
        return ip::indicator(net.addr());
    }
    let mut ind = Indicator::new(Kind::Cidr, net.to_string());
    ind.scope = Some(scope::classify(&net));
    ind
}

/// Splits `a - b` or `a-b` into its ends when the start is an IP address shape.
pub(crate) fn split_range(s: &str) -> Option<(&str, &str)> {
    let (start, end) = s.split_once('-')?;
    let start = start.trim_end();
    is_ip_like(start).then_some((start, end.trim_start()))
}

/// Parses a range into the CIDRs that cover it exactly. An IPv4 range may give only the last
/// part of its end (`10.0.0.1-20`), as many feeds do.
pub(crate) fn parse_range(start: &str, end: &str) -> Result<Vec<Indicator>, Reason> {
    let (a, a_mapped) = ip::parse_ip(start)?;
    let (b, b_mapped) = match (a, last_part(end)) {
        (IpAddr::V4(v4), Some(last)) => {
            let [x, y, z, _] = v4.octets();
            (IpAddr::V4([x, y, z, last].into()), false)
        }
        _ => ip::parse_ip(end)?,
    };
    let (lo, bits) = addr_bits(a);
    let (hi, hi_bits) = addr_bits(b);
    if bits != hi_bits {
        return Err(Reason::RangeMixedFamily);
    }
    if lo > hi {
        return Err(Reason::RangeReversed(a.to_string(), b.to_string()));
    }
    let mut out = Vec::new();
    cover(lo, hi, bits, |net, prefix| {
        let net = if bits == 32 {
            v4_net(net, prefix)
        } else {
            v6_net(net, prefix)
        };
        let mut ind = net_indicator(net);
        ind.add_flag(Flag::FromRange);
        if a_mapped || b_mapped {
            ind.add_flag(Flag::MappedIpv4);
        }
        out.push(ind);
    });
    Ok(out)
}

/// A range end written as just a last IPv4 part: 1–3 digits, no leading zero, at most 255.
fn last_part(end: &str) -> Option<u8> {
    let plain = (1..=3).contains(&end.len())
        && end.bytes().all(|b| b.is_ascii_digit())
        && (end == "0" || !end.starts_with('0'));
    plain.then(|| end.parse().ok()).flatten()
}
