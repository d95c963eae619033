//! Where a browser cuts a URL, and which host it connects to, by the WHATWG URL Standard
//! (<https://url.spec.whatwg.org/>) that browsers follow rather than RFC 3986.
//!
//! The difference that matters: in a *special* scheme (http, https, ws, wss, ftp) a backslash
//! ends the authority just as `/` does, so `https://evil.com\@corp.example/login` leads to
//! `evil.com` with the path `\@corp.example/login`, not to `corp.example` with the user
//! `evil.com\`. A URL written without a scheme is sent as http or https, so it is cut the same
//! way. Cutting is done here by hand, without allocating, so that the indicator parser keeps the
//! path and query byte for byte; turning the host text into the host a browser connects to is
//! left to the `url` crate's WHATWG host parser whenever the text is not already plain.

use std::borrow::Cow;
use std::net::Ipv6Addr;

/// The schemes the WHATWG URL Standard calls special, of those iocsync takes (`file` is not
/// one it takes).
const SPECIAL_SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// True when `scheme` (any case) is special: `\` ends its authority and its host is parsed as
/// a domain or an IP address.
pub(crate) fn is_special(scheme: &str) -> bool {
    SPECIAL_SCHEMES
        .iter()
        .any(|special| special.eq_ignore_ascii_case(scheme))
}

/// A URL cut into the parts a browser reads before its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// The scheme as written; `None` for a URL written without one.
    pub scheme: Option<&'a str>,
    /// What comes before the last `@` of the authority.
    pub userinfo: Option<&'a str>,
    /// The host as written (an IPv6 address with its brackets).
    pub host: &'a str,
    /// What follows the host's `:` (possibly empty).
    pub port: Option<&'a str>,
    /// The path, query and fragment, byte for byte.
    pub rest: &'a str,
}

/// Cuts `url` (with or without `scheme://`) as a browser does; see the module note.
pub fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, after) = match url.find("://") {
        // Only a scheme before `://` (not `example.com/?next=http://...`).
        Some(at) if is_scheme(&url[..at]) => (Some(&url[..at]), &url[at + 3..]),
        _ => (None, url),
    };
    let special = scheme.is_none_or(is_special);
    // Browsers skip any further slashes before a special URL's authority (`http:///x.com`).
    let after = if special {
        after.trim_start_matches(['/', '\\'])
    } else {
        after
    };
    let (authority, rest) = cut_authority(after, special);
    let (userinfo, host_port) = split_userinfo(authority);
    let (host, port) = split_host_port(host_port);
    UrlParts {
        scheme,
        userinfo,
        host,
        port,
        rest,
    }
}

fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The authority and what follows it: the authority ends at the first `/`, `?` or `#`, and in a
/// special scheme at the first `\` too.
pub(crate) fn cut_authority(text: &str, special: bool) -> (&str, &str) {
    let end = if special {
        text.find(['/', '?', '#', '\\'])
    } else {
        text.find(['/', '?', '#'])
    };
    text.split_at(end.unwrap_or(text.len()))
}

/// `userinfo@host:port`: the userinfo is everything before the *last* `@`.
pub(crate) fn split_userinfo(authority: &str) -> (Option<&str>, &str) {
    match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    }
}

/// `host:port`: the host ends at the first `:` outside brackets (`[2001:db8::1]:443`).
pub(crate) fn split_host_port(host_port: &str) -> (&str, Option<&str>) {
    let mut in_brackets = false;
    for (at, byte) in host_port.bytes().enumerate() {
        match byte {
            b'[' => in_brackets = true,
            b']' => in_brackets = false,
            b':' if !in_brackets => return (&host_port[..at], Some(&host_port[at + 1..])),
            _ => {}
        }
    }
    (host_port, None)
}

/// The host a browser connects to for `url` (a URL indicator's value, with or without a
/// scheme): a domain in lower case without its trailing dot, or an IP address without
/// brackets. A host no browser would accept comes back as written.
pub fn url_host(url: &str) -> Cow<'_, str> {
    let parts = split_url(url);
    if parts.scheme.is_none_or(is_special) {
        special_host(parts.host)
    } else {
        // Other schemes have an opaque host: taken as written.
        Cow::Borrowed(unbracketed(parts.host))
    }
}

/// A special URL's host as the WHATWG host parser gives it (percent-decoded, IDNA-mapped,
/// `0x7f.1` read as IPv4 `127.0.0.1`), without the allocation when the text is already plain.
fn special_host(host: &str) -> Cow<'_, str> {
    if let Some(plain) = plain_host(host) {
        return Cow::Borrowed(plain);
    }
    match ::url::Host::parse(host) {
        Ok(::url::Host::Domain(domain)) => match domain.strip_suffix('.') {
            Some(bare) => Cow::Owned(bare.to_owned()),
            None => Cow::Owned(domain),
        },
        Ok(::url::Host::Ipv4(addr)) => Cow::Owned(addr.to_string()),
        Ok(::url::Host::Ipv6(addr)) => Cow::Owned(addr.to_string()),
        Err(_) => Cow::Borrowed(unbracketed(host)),
    }
}

/// `host` (its trailing dot dropped, its brackets removed) when the WHATWG host parser would
/// give it back unchanged: a bracketed IPv6 address, a dotted-quad IPv4 address without
/// leading zeros, or lower-case ASCII labels of letters, digits, `-` and `_`, none an ACE label,
/// the last not a number (`a.0x1f` and `a.123` are read as IPv4 numbers).
fn plain_host(host: &str) -> Option<&str> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok().then_some(inner);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let labels_plain = name.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    });
    if !labels_plain {
        return None;
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if is_ipv4_number(last) {
        return is_dotted_quad(name).then_some(name);
    }
    Some(name)
}

/// True when the WHATWG IPv4 number parser accepts `label` (decimal, or `0x` hex).
fn is_ipv4_number(label: &str) -> bool {
    match label.strip_prefix("0x") {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => label.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Four decimal parts from 0 to 255 without leading zeros: IPv4 as browsers write it.
fn is_dotted_quad(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| {
            part.bytes().all(|b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
                && part.parse::<u8>().is_ok()
        })
}

/// An IPv6 host without its brackets.
fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_backslash_ends_the_authority_of_special_schemes_only() {
        let cut = split_url("https://evil.com\\@corp.example/login");
        assert_eq!(
            (cut.userinfo, cut.host, cut.rest),
            (None, "evil.com", "\\@corp.example/login")
        );
        assert_eq!(url_host("https://corp.example\\@evil.com/"), "corp.example");
        assert_eq!(url_host("https://corp.example@evil.com/"), "evil.com");
        assert_eq!(url_host("evil.com\\@corp.example/x"), "evil.com");
        // Not special: the backslash is part of the userinfo.
        assert_eq!(
            url_host("smb://evil.com\\@corp.example/share"),
            "corp.example"
        );
    }

    #[test]
    fn hosts_are_what_a_browser_connects_to() {
        assert_eq!(url_host("http://example.com/a?b#c"), "example.com");
        assert_eq!(url_host("https://user:pw@example.com:8443/"), "example.com");
        assert_eq!(
            url_host("example.com/?next=http://other.org/"),
            "example.com"
        );
        assert_eq!(url_host("http://[2001:db8::1]:8080/x"), "2001:db8::1");
        assert_eq!(url_host("http://10.0.0.1/x"), "10.0.0.1");
        assert_eq!(url_host("ftp://files.example.org"), "files.example.org");
        assert_eq!(url_host("http:///evil.com/x"), "evil.com");
        assert_eq!(url_host("HTTP://EVIL.Example./"), "evil.example");
        assert_eq!(url_host("http://%65vil.com/"), "evil.com");
        assert_eq!(url_host("http://0x7f.1/"), "127.0.0.1");
        assert_eq!(url_host("http://2130706433/"), "127.0.0.1");
        assert_eq!(url_host("http://Bücher.de/"), "xn--bcher-kva.de");
        assert!(matches!(url_host("http://a.example/"), Cow::Borrowed(_)));
    }

    fn scheme() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["http", "https", "ws", "wss", "ftp", "HTTP", "Https"])
            .prop_map(str::to_owned)
    }

    /// Pieces that meet the edge cases of authority and host parsing.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9-]{1,8}",
            "[A-Za-z0-9_]{1,6}",
            prop::sample::select(vec![
                ".",
                "@",
                "\\",
                ":",
                ":80",
                ":8o",
                "%2e",
                "%41",
                "%5c",
                "%40",
                "[::1]",
                "[",
                "]",
                "0x7f",
                "127",
                "1.2.3.4",
                "010",
                "xn--bcher-kva",
                "bücher",
                "ＥＸ",
                "。",
                "?",
                "#",
                "/",
                "!",
                "$",
                "_",
                "~",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn url() -> impl Strategy<Value = String> {
        (
            scheme(),
            prop::sample::select(vec!["", "/", "\\", "\\\\"]),
            prop::collection::vec(piece(), 1..8),
            prop::collection::vec(piece(), 0..4),
        )
            .prop_map(|(scheme, slashes, authority, rest)| {
                format!(
                    "{scheme}://{slashes}{}/{}",
                    authority.concat(),
                    rest.concat()
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The host is the one the `url` crate (the WHATWG parser) finds, whenever it finds
        /// one: the same address, or the same domain but for a trailing dot.
        #[test]
        fn the_host_is_the_whatwg_host(input in url()) {
            let Ok(parsed) = ::url::Url::parse(&input) else {
                return Ok(());
            };
            let ours = url_host(&input);
            match parsed.host() {
                Some(::url::Host::Domain(domain)) => {
                    prop_assert_eq!(&*ours, domain.strip_suffix('.').unwrap_or(domain), "{}", input);
                }
                Some(::url::Host::Ipv4(addr)) => {
                    prop_assert_eq!(ours.parse::<IpAddr>().ok(), Some(IpAddr::V4(addr)), "{}", input);
                }
                Some(::url::Host::Ipv6(addr)) => {
                    prop_assert_eq!(ours.parse::<IpAddr>().ok(), Some(IpAddr::V6(addr)), "{}", input);
                }
                None => {}
            }
        }
    }
}
