//! Deciding which parser an input belongs to. One pass over the bytes records the
//! characters that tell kinds apart (`://`, `@`, `/`, `:`, `-`, hex-only, digits-and-dots), so
//! that each input reaches exactly one parser and its error is that parser's precise reason.

use std::borrow::Cow;

use crate::{
    Flag, Indicator, Kind, MAX_INPUT, ParseError, Reason, cidr, domain, email, hash, ip, refang,
    url,
};

/// Byte classes, one bit each, looked up per byte so that the common case is one tight pass.
const HEX: u16 = 1;
const SLASH: u16 = 1 << 1;
const AT: u16 = 1 << 2;
const COLON: u16 = 1 << 3;
const QUESTION: u16 = 1 << 4;
const DASH: u16 = 1 << 5;
const SPACE: u16 = 1 << 6;
const CONTROL: u16 = 1 << 7;
const HASH: u16 = 1 << 8;

/// The class bits of every byte value.
const CLASSES: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = match byte {
            b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => HEX,
            b'/' => SLASH,
            b'@' => AT,
            b':' => COLON,
            b'?' => QUESTION,
            b'#' => HASH,
            b'-' => DASH,
            b' ' | b'\t' => SPACE,
            _ if byte.is_ascii_control() => CONTROL,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// The distinguishing features of a refanged input.
struct Shape {
    /// The class bits present anywhere in the input.
    present: u16,
    /// True when every byte is a hex digit.
    all_hex: bool,
    /// Byte offset of the `://` after a scheme, if the input starts with one.
    scheme_end: Option<usize>,
    first_slash: Option<usize>,
    first_at: Option<usize>,
    colons: usize,
}

impl Shape {
    fn of(s: &str) -> Shape {
        let bytes = s.as_bytes();
        let (mut present, mut every) = (0u16, HEX);
        for &b in bytes {
            let class = CLASSES[usize::from(b)];
            present |= class;
            every &= class;
        }
        let has = |class: u16| present & class != 0;
        let first_slash = if has(SLASH) { s.find('/') } else { None };
        let scheme_end = first_slash
            .filter(|&at| at > 0 && bytes[at - 1] == b':' && bytes.get(at + 1) == Some(&b'/'))
            .map(|at| at - 1);
        Shape {
            present,
            all_hex: every == HEX && !bytes.is_empty(),
            scheme_end,
            first_slash,
            first_at: if has(AT) { s.find('@') } else { None },
            colons: if has(COLON) {
                bytes.iter().filter(|&&b| b == b':').count()
            } else {
                0
            },
        }
    }

    fn has(&self, class: u16) -> bool {
        self.present & class != 0
    }
}

/// [`crate::parse`]: refang, then hand the input to the one parser that fits its shape.
pub(crate) fn parse(input: &str) -> Result<Vec<Indicator>, ParseError> {
    refang_then(input, |s| dispatch(s, true))
}

/// [`crate::parse_as`]: parse, then insist on the stated kind.
pub(crate) fn parse_as(kind: Kind, input: &str) -> Result<Vec<Indicator>, ParseError> {
    refang_then(input, |s| {
        let found = match dispatch(s, true)? {
            // A feed of URLs may list bare hosts: they are URLs without a scheme.
            hosts if kind == Kind::Url && hosts.iter().all(is_host) => {
                vec![url::parse_without_scheme(&host_of(&hosts, s))?]
            }
            found => found,
        };
        match found.iter().find(|ind| !agrees(kind, ind.kind)) {
            Some(wrong) => Err(Reason::KindMismatch {
                expected: kind,
                found: wrong.kind,
            }),
            None => Ok(found),
        }
    })
}

/// Refangs `input`, parses it with `parser`, and flags the results when refanging changed
/// anything.
fn refang_then(
    input: &str,
    parser: impl FnOnce(&str) -> Result<Vec<Indicator>, Reason>,
) -> Result<Vec<Indicator>, ParseError> {
    let (refanged, changed) = prepare(input)?;
    let mut found = parser(&refanged)?;
    if changed {
        found
            .iter_mut()
            .for_each(|ind| ind.add_flag(Flag::Refanged));
    }
    Ok(found)
}

/// True for a domain or a single address: what a URL without scheme or path is.
fn is_host(ind: &Indicator) -> bool {
    matches!(ind.kind, Kind::Domain | Kind::Ipv4 | Kind::Ipv6)
}

/// The host text to build a scheme-less URL from: IPv6 needs brackets.
fn host_of<'a>(found: &[Indicator], refanged: &'a str) -> Cow<'a, str> {
    match found.first() {
        Some(ind) if ind.kind == Kind::Ipv6 => Cow::Owned(format!("[{}]", ind.value)),
        _ => Cow::Borrowed(refanged),
    }
}

/// True when an indicator of kind `found` satisfies a feed that says `stated`: a network
/// stated as cidr may be a single address (that is what `/32` and `/128` mean).
fn agrees(stated: Kind, found: Kind) -> bool {
    stated == found || (stated == Kind::Cidr && found.is_network())
}

/// Trims, checks length, refangs; says whether refanging changed anything.
fn prepare(input: &str) -> Result<(Cow<'_, str>, bool), Reason> {
    let trimmed = input.trim();
    if trimmed.len() > MAX_INPUT {
        return Err(Reason::TooLong(trimmed.len()));
    }
    let refanged = refang(trimmed);
    if refanged.is_empty() {
        return Err(Reason::Empty);
    }
    // A borrowed result is a slice of `trimmed`: it changed exactly when it is shorter.
    let changed = match &refanged {
        Cow::Borrowed(slice) => slice.len() != trimmed.len(),
        Cow::Owned(owned) => owned != trimmed,
    };
    Ok((refanged, changed))
}

/// Sends a refanged input to the parser its shape calls for (`recheck`: see [`scheme_less`]).
fn dispatch(s: &str, recheck: bool) -> Result<Vec<Indicator>, Reason> {
    let shape = Shape::of(s);
    if shape.has(CONTROL) {
        return Err(Reason::BadCharacter);
    }
    if shape.has(DASH) && shape.first_slash.is_none() {
        if let Some((start, end)) = cidr::split_range(s) {
            return cidr::parse_range(start, end);
        }
    }
    if shape.has(SPACE) {
        return Err(Reason::BadCharacter);
    }
    one(s, &shape, recheck).map(|ind| vec![ind])
}

/// Parses an input that yields a single indicator.
fn one(s: &str, shape: &Shape, recheck: bool) -> Result<Indicator, Reason> {
    if let Some(end) = shape.scheme_end {
        return url::parse_with_scheme(s, end);
    }
    match (shape.first_at, shape.first_slash) {
        (Some(at), slash) if slash.is_none_or(|slash| at < slash) => return email::parse(s),
        (_, Some(_)) => {
            return match cidr::split(s) {
                Some((addr, prefix)) => cidr::parse(addr, prefix),
                None => scheme_less(s, recheck),
            };
        }
        _ => {}
    }
    // Two colons outside brackets cannot be `host:port`, unless they sit in a query or fragment.
    let url_like = shape.has(QUESTION | HASH) || s.starts_with('[');
    if shape.colons >= 2 && (ip::looks_like_ipv6(s) || !url_like) {
        return ip::parse(s);
    }
    if shape.has(COLON | QUESTION | HASH) || s.starts_with('[') {
        return scheme_less(s, recheck);
    }
    if shape.all_hex && hash::looks_like_hash(s) {
        return hash::parse(s);
    }
    if ip::looks_like_ipv4(s) {
        return ip::parse(s);
    }
    domain::parse(s)
}

/// A URL written without a scheme. Canonicalising can change the shape of the text (a dropped
/// fragment, trimmed punctuation, `host:` losing its colon), and the value must read the same
/// way when parsed again; so a changed value is read again, and that reading wins: a bare host
/// is a domain or an address, a value that reads as a malformed CIDR is rejected as one.
fn scheme_less(s: &str, recheck: bool) -> Result<Indicator, Reason> {
    let ind = url::parse_without_scheme(s)?;
    if !recheck || ind.value == s {
        return Ok(ind);
    }
    let mut again = read_again(&ind.value)?;
    if again.kind == Kind::Url {
        ind.flags.iter().for_each(|&flag| again.add_flag(flag));
    }
    Ok(again)
}

/// Reads a canonical URL value again as [`crate::parse`] would (refanging included: `[::]:`
/// leaves `[::]`, which unwraps to `::`), without a further recheck; it yields one indicator.
fn read_again(value: &str) -> Result<Indicator, Reason> {
    let mut found = dispatch(&refang(value), false)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        _ => Err(Reason::Unrecognised),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    fn one_of(s: &str) -> Indicator {
        let mut all = crate::parse(s).unwrap();
        assert_eq!(all.len(), 1, "{s} gave {all:?}");
        all.remove(0)
    }

    fn kv(s: &str) -> (Kind, String) {
        let ind = one_of(s);
        (ind.kind, ind.value)
    }

    fn err(s: &str) -> Reason {
        crate::parse(s).unwrap_err().reason().clone()
    }

    #[test]
    fn each_kind_reaches_its_parser() {
        assert_eq!(kv("1.2.3.4"), (Kind::Ipv4, "1.2.3.4".into()));
        assert_eq!(kv("2001:db8::1"), (Kind::Ipv6, "2001:db8::1".into()));
        assert_eq!(kv("10.0.0.0/8"), (Kind::Cidr, "10.0.0.0/8".into()));
        assert_eq!(kv("Example.com"), (Kind::Domain, "example.com".into()));
        assert_eq!(
            kv("https://example.com/x"),
            (Kind::Url, "https://example.com/x".into())
        );
        assert_eq!(kv("a@example.com"), (Kind::Email, "a@example.com".into()));
        assert_eq!(kv(&"A".repeat(32)), (Kind::Md5, "a".repeat(32)));
        assert_eq!(kv(&"b".repeat(40)), (Kind::Sha1, "b".repeat(40)));
        assert_eq!(kv(&"C".repeat(64)), (Kind::Sha256, "c".repeat(64)));
    }

    #[test]
    fn host_with_path_or_port_is_a_url_without_scheme_never_a_domain() {
        for (input, value) in [
            ("example.com/path", "example.com/path"),
            ("www.example.com/a?b=1", "www.example.com/a?b=1"),
            ("Example.com?x=1", "example.com?x=1"),
            ("example.com:8080", "example.com:8080"),
            ("1.2.3.4/admin.php", "1.2.3.4/admin.php"),
            ("1.2.3.4:4444", "1.2.3.4:4444"),
            ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
            ("example.com?t=12:30:00", "example.com?t=12:30:00"),
            ("1.2.3.4:80?a-b", "1.2.3.4:80?a-b"),
        ] {
            let ind = one_of(input);
            assert_eq!(
                (ind.kind, ind.value.as_str()),
                (Kind::Url, value),
                "{input}"
            );
            assert!(ind.has_flag(Flag::NoScheme));
        }
    }

    #[test]
    fn a_host_with_nothing_after_it_is_not_a_url() {
        assert_eq!(kv("example.com:"), (Kind::Domain, "example.com".into()));
        assert_eq!(kv("Example.com#top"), (Kind::Domain, "example.com".into()));
        assert_eq!(kv("1.2.3.4:"), (Kind::Ipv4, "1.2.3.4".into()));
        assert_eq!(kv("[0::]:"), (Kind::Ipv6, "::".into()));
    }

    #[test]
    fn cidrs_masks_host_bits_and_single_addresses() {
        let ind = one_of("192.168.1.77/24");
        assert_eq!(ind.value, "192.168.1.0/24");
        assert_eq!(ind.flags, vec![Flag::HostBitsSet]);
        assert_eq!(ind.scope, Some(Scope::Private));
        let ind = one_of("10.1.0.0/255.255.0.0");
        assert_eq!(
            (ind.value.as_str(), ind.flags.as_slice()),
            ("10.1.0.0/16", &[Flag::DottedMask][..])
        );
        assert_eq!(
            err("10.1.0.0/255.0.255.0"),
            Reason::NonContiguousMask("255.0.255.0".into())
        );
        assert_eq!(kv("8.8.8.8/32"), (Kind::Ipv4, "8.8.8.8".into()));
        assert_eq!(kv("2001:db8::1/128"), (Kind::Ipv6, "2001:db8::1".into()));
        assert_eq!(kv("2001:DB8::/32"), (Kind::Cidr, "2001:db8::/32".into()));
        assert_eq!(kv("::ffff:10.0.0.0/104"), (Kind::Cidr, "10.0.0.0/8".into()));
        assert_eq!(kv("::ffff:0:0/96"), (Kind::Cidr, "0.0.0.0/0".into()));
        assert_eq!(kv("::ffff:0:0/95"), (Kind::Cidr, "::fffe:0:0/95".into()));
        assert_eq!(kv("0.0.0.0/0"), (Kind::Cidr, "0.0.0.0/0".into()));
        assert_eq!(err("1.2.3.0/33"), Reason::BadPrefix("33".into(), 32));
        assert_eq!(err("2001:db8::/129"), Reason::BadPrefix("129".into(), 128));
        assert_eq!(
            err("2001:db8::/255.255.0.0"),
            Reason::BadPrefix("255.255.0.0".into(), 128)
        );
        assert_eq!(err("010.0.0.0/8"), Reason::Ipv4LeadingZero("010".into()));
        // Found by fuzzing: a fragment must not turn a would-be CIDR into a URL.
        assert_eq!(err("10.0.0.0/8#x"), Reason::BadPrefix("8#x".into(), 32));
        assert_eq!(err("12.11.1.21/.1'#1&"), Reason::BadPrefix(".1".into(), 32));
    }

    #[test]
    fn ranges_become_exact_cidrs() {
        let values = |s: &str| {
            crate::parse(s)
                .unwrap()
                .into_iter()
                .map(|i| i.value)
                .collect::<Vec<_>>()
        };
        assert_eq!(values("10.0.0.0 - 10.0.0.255"), ["10.0.0.0/24"]);
        assert_eq!(
            values("10.0.0.1-10.0.0.6"),
            ["10.0.0.1", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6"]
        );
        assert_eq!(values("2001:db8::-2001:db8::ffff"), ["2001:db8::/112"]);
        assert_eq!(values("1.2.3.4-1.2.3.4"), ["1.2.3.4"]);
        assert_eq!(values("10.0.0.0-127"), ["10.0.0.0/25"]);
        assert_eq!(
            err("10.0.0.9-3"),
            Reason::RangeReversed("10.0.0.9".into(), "10.0.0.3".into())
        );
        assert_eq!(err("10.0.0.9-256"), Reason::Ipv4PartCount(1));
        assert!(
            crate::parse("10.0.0.1-10.0.0.6")
                .unwrap()
                .iter()
                .all(|i| i.has_flag(Flag::FromRange))
        );
        assert_eq!(
            err("10.0.0.9-10.0.0.1"),
            Reason::RangeReversed("10.0.0.9".into(), "10.0.0.1".into())
        );
        assert_eq!(err("10.0.0.1-2001:db8::1"), Reason::RangeMixedFamily);
        assert_eq!(err("10.0.0.1-10.0.0"), Reason::Ipv4PartCount(3));
        assert_eq!(
            kv("my-site.example.com"),
            (Kind::Domain, "my-site.example.com".into())
        );
    }

    #[test]
    fn refanged_inputs_are_flagged() {
        let ind = one_of("hxxps://evil[.]example[.]com/payload");
        assert_eq!(ind.value, "https://evil.example.com/payload");
        assert!(ind.has_flag(Flag::Refanged));
        assert!(one_of("1[.]2[.]3[.]4").has_flag(Flag::Refanged));
        assert!(!one_of("  1.2.3.4  ").has_flag(Flag::Refanged));
    }

    #[test]
    fn junk_gets_a_reason() {
        assert_eq!(err(""), Reason::Empty);
        assert_eq!(err("   "), Reason::Empty);
        assert_eq!(err("\"\""), Reason::Empty);
        assert_eq!(err("two words"), Reason::BadCharacter);
        assert_eq!(err("2001:db8::g"), Reason::Ipv6Malformed);
        // Found by property testing: multi-byte characters where ASCII prefixes are looked for.
        assert!(matches!(err("®𞅎\u{fffc}"), Reason::BadIdn(_)));
        assert_eq!(kv("H.mm.#H:H"), (Kind::Domain, "h.mm".into()));
        assert_eq!(err("a\u{7}b.com"), Reason::BadCharacter);
        assert_eq!(err("foo"), Reason::SingleLabel("foo".into()));
        assert_eq!(err("1.2.3"), Reason::Ipv4PartCount(3));
        assert_eq!(err(&"a".repeat(33)), Reason::HashLength(33));
        assert_eq!(err(&"0".repeat(63)), Reason::HashLength(63));
        assert_eq!(
            err(&"x".repeat(MAX_INPUT + 1)),
            Reason::TooLong(MAX_INPUT + 1)
        );
    }

    #[test]
    fn parse_as_insists_on_the_stated_kind() {
        let kinds = |k: Kind, s: &str| {
            crate::parse_as(k, s)
                .map(|v| v.into_iter().map(|i| (i.kind, i.value)).collect::<Vec<_>>())
        };
        assert_eq!(
            kinds(Kind::Domain, "Example.com").unwrap(),
            [(Kind::Domain, "example.com".into())]
        );
        let err = crate::parse_as(Kind::Domain, "http://example.com/").unwrap_err();
        assert_eq!(err.to_string(), "the value is a url, not a domain");
        assert!(crate::parse_as(Kind::Sha256, &"a".repeat(32)).is_err());
        assert_eq!(
            kinds(Kind::Cidr, "1.2.3.4/32").unwrap(),
            [(Kind::Ipv4, "1.2.3.4".into())]
        );
        assert_eq!(
            kinds(Kind::Cidr, "1.2.3.0-1.2.3.255").unwrap(),
            [(Kind::Cidr, "1.2.3.0/24".into())]
        );
        assert!(crate::parse_as(Kind::Ipv4, "1.2.3.0/24").is_err());
        let url = crate::parse_as(Kind::Url, "Evil.example.com").unwrap();
        assert_eq!(
            (url[0].kind, url[0].value.as_str()),
            (Kind::Url, "evil.example.com")
        );
        assert!(url[0].has_flag(Flag::NoScheme));
        assert_eq!(
            kinds(Kind::Url, "2001:db8::1").unwrap(),
            [(Kind::Url, "[2001:db8::1]".into())]
        );
    }
}
