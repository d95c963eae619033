//! Single IP addresses. IPv4 must be a plain dotted quad: the shorthand, octal and hexadecimal
//! forms that `inet_aton` accepts (`10.1`, `010.1.1.1`, `0x7f.1.1.1`) mean different addresses
//! to different tools, so they are rejected with the reason. IPv6 is written as RFC 5952 says
//! (std's formatting does exactly that); zone identifiers are rejected, and an IPv4-mapped
//! address (`::ffff:1.2.3.4`) becomes the IPv4 address it carries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::{Flag, Indicator, Kind, Reason, scope};

/// True when `s` is only digits and dots, or dotted parts some of which are `0x` hexadecimal:
/// the inputs the IPv4 parser should judge (and reject with a precise reason if need be).
pub(crate) fn looks_like_ipv4(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.first().is_none_or(|b| !b.is_ascii_digit()) {
        return false;
    }
    if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return true;
    }
    s.split('.')
        .all(|part| part.bytes().all(|b| b.is_ascii_digit()) || hex_part(part).is_some())
}

/// True when `s` has the characters of an IPv6 address (hex digits, colons, dots for an
/// embedded IPv4 part) with at least two colons, optionally followed by a `%zone`: the inputs
/// the IPv6 parser should judge.
pub(crate) fn looks_like_ipv6(s: &str) -> bool {
    let address = s.split_once('%').map_or(s, |(address, _)| address);
    address.bytes().filter(|&b| b == b':').count() >= 2
        && address
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// The digits of a `0x`-prefixed hexadecimal part.
fn hex_part(part: &str) -> Option<&str> {
    let digits = part
        .strip_prefix("0x")
        .or_else(|| part.strip_prefix("0X"))?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digits)
}

/// Parses a strict dotted-quad IPv4 address.
pub(crate) fn parse_ipv4(s: &str) -> Result<Ipv4Addr, Reason> {
    let mut octets = [0u8; 4];
    let mut count = 0;
    let mut out_of_range = None;
    for part in s.split('.') {
        if hex_part(part).is_some() {
            return Err(Reason::Ipv4NonDecimal);
        }
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Reason::Ipv4Malformed);
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(Reason::Ipv4LeadingZero(part.to_owned()));
        }
        match part.parse::<u8>() {
            Ok(octet) if count < 4 => octets[count] = octet,
            Ok(_) => {}
            Err(_) => out_of_range = out_of_range.or_else(|| Some(part.to_owned())),
        }
        count += 1;
    }
    if count != 4 {
        return Err(Reason::Ipv4PartCount(count));
    }
    match out_of_range {
        Some(part) => Err(Reason::Ipv4PartRange(part)),
        None => Ok(Ipv4Addr::from(octets)),
    }
}

/// Parses an IPv6 address without a zone identifier.
pub(crate) fn parse_ipv6(s: &str) -> Result<Ipv6Addr, Reason> {
    if let Some((_, zone)) = s.split_once('%') {
        return Err(Reason::Ipv6Zone(zone.to_owned()));
    }
    s.parse::<Ipv6Addr>().map_err(|_| Reason::Ipv6Malformed)
}

/// Parses either family; an IPv4-mapped IPv6 address comes back as IPv4 with `mapped` true.
pub(crate) fn parse_ip(s: &str) -> Result<(IpAddr, bool), Reason> {
    if s.contains(':') {
        let v6 = parse_ipv6(s)?;
        Ok(match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), true),
            None => (IpAddr::V6(v6), false),
        })
    } else {
        parse_ipv4(s).map(|v4| (IpAddr::V4(v4), false))
    }
}

/// The indicator for a single address, with its scope.
pub(crate) fn indicator(addr: IpAddr) -> Indicator {
    with_scope(addr, addr.to_string())
}

/// The indicator for `addr` whose canonical text is `value`.
fn with_scope(addr: IpAddr, value: String) -> Indicator {
    let kind = match addr {
        IpAddr::V4(_) => Kind::Ipv4,
        IpAddr::V6(_) => Kind::Ipv6,
    };
    let mut ind = Indicator::new(kind, value);
    ind.scope = Some(scope::classify(&IpNet::from(addr)));
    ind
}

/// Parses a single address of either family into its indicator.
pub(crate) fn parse(s: &str) -> Result<Indicator, Reason> {
    if !s.contains(':') {
        // A strictly parsed dotted quad is already in canonical form: keep the text.
        let addr = parse_ipv4(s)?;
        return Ok(with_scope(IpAddr::V4(addr), s.to_owned()));
    }
    let (addr, mapped) = parse_ip(s)?;
    let mut ind = indicator(addr);
    if mapped {
        ind.add_flag(Flag::MappedIpv4);
    }
    Ok(ind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    fn ok(s: &str) -> Indicator {
        parse(s).unwrap()
    }

    #[test]
    fn accepts_dotted_quads() {
        let ind = ok("8.8.8.8");
        assert_eq!(
            (ind.kind, ind.value.as_str(), ind.scope),
            (Kind::Ipv4, "8.8.8.8", Some(Scope::Public))
        );
        assert_eq!(ok("0.0.0.0").value, "0.0.0.0");
        assert_eq!(ok("255.255.255.255").scope, Some(Scope::Broadcast));
    }

    #[test]
    fn rejects_ambiguous_ipv4_forms_with_a_reason() {
        assert_eq!(
            parse("010.1.1.1"),
            Err(Reason::Ipv4LeadingZero("010".into()))
        );
        assert_eq!(parse("1.2.3.00"), Err(Reason::Ipv4LeadingZero("00".into())));
        assert_eq!(parse("10.1"), Err(Reason::Ipv4PartCount(2)));
        assert_eq!(parse("1.2.3"), Err(Reason::Ipv4PartCount(3)));
        assert_eq!(parse("1.2.3.4.5"), Err(Reason::Ipv4PartCount(5)));
        assert_eq!(parse("3232235777"), Err(Reason::Ipv4PartCount(1)));
        assert_eq!(parse("0x7f.0.0.1"), Err(Reason::Ipv4NonDecimal));
        assert_eq!(parse("0x7f000001"), Err(Reason::Ipv4NonDecimal));
        assert_eq!(parse("1.2.3.256"), Err(Reason::Ipv4PartRange("256".into())));
        assert_eq!(parse("1..3.4"), Err(Reason::Ipv4Malformed));
        assert_eq!(parse("1.2.3.4."), Err(Reason::Ipv4Malformed));
    }

    #[test]
    fn writes_ipv6_as_rfc5952_says() {
        assert_eq!(
            ok("2001:0DB8:0000:0000:0000:0000:0000:0001").value,
            "2001:db8::1"
        );
        assert_eq!(ok("2001:db8:0:0:1:0:0:1").value, "2001:db8::1:0:0:1");
        assert_eq!(ok("2001:db8:0:1:1:1:1:1").value, "2001:db8:0:1:1:1:1:1");
        assert_eq!(ok("2606:4700:4700::1111").scope, Some(Scope::Public));
        assert_eq!(ok("::1").scope, Some(Scope::Loopback));
        assert_eq!(ok("::").scope, Some(Scope::Unspecified));
    }

    #[test]
    fn rejects_zone_ids_and_junk() {
        assert_eq!(parse("fe80::1%eth0"), Err(Reason::Ipv6Zone("eth0".into())));
        assert_eq!(parse("2001:db8:::1"), Err(Reason::Ipv6Malformed));
        assert_eq!(parse("2001:db8::g"), Err(Reason::Ipv6Malformed));
    }

    #[test]
    fn mapped_ipv6_becomes_ipv4() {
        let ind = ok("::ffff:192.168.1.1");
        assert_eq!((ind.kind, ind.value.as_str()), (Kind::Ipv4, "192.168.1.1"));
        assert_eq!(ind.scope, Some(Scope::Private));
        assert_eq!(ind.flags, vec![Flag::MappedIpv4]);
        assert_eq!(ok("::FFFF:c0a8:0101").value, "192.168.1.1");
    }

    #[test]
    fn looks_like_ipv4_only_for_numeric_shapes() {
        assert!(looks_like_ipv4("1.2.3.4"));
        assert!(looks_like_ipv4("1.2.3"));
        assert!(looks_like_ipv4("0x7f.1.1.1"));
        assert!(!looks_like_ipv4("1e100.net"));
        assert!(!looks_like_ipv4("123.abc"));
        assert!(!looks_like_ipv4("a.1.1.1"));
    }

    #[test]
    fn looks_like_ipv6_only_for_address_characters() {
        assert!(looks_like_ipv6("2001:db8::1"));
        assert!(looks_like_ipv6("::ffff:1.2.3.4"));
        assert!(looks_like_ipv6("fe80::1%eth0"));
        assert!(!looks_like_ipv6("1.2.3.4:80"));
        assert!(!looks_like_ipv6("example.com?a=1:2:3"));
    }
}
