//! URLs, parsed by hand rather than with the `url` crate so that the path and query stay
//! byte-for-byte as given (an indicator must match what was seen, not a normalised form).
//! The scheme and host are canonicalised (host as a domain or IP address), a default port and
//! the fragment are dropped. A value such as `example.com/path` is a URL without a scheme
//! (flag `no-scheme`), stored as written apart from its host.
//!
//! The host is the one a browser connects to: the URL is cut where the WHATWG URL Standard
//! cuts it ([`authority`]), so `https://evil.com\@corp.example/login` is a URL on `evil.com`
//! (its value keeps every byte; only `evil.com` is canonicalised and flagged).

mod authority;

use std::net::IpAddr;

pub use self::authority::{UrlParts, split_url, url_host};
use self::authority::{cut_authority, is_special, split_host_port, split_userinfo};
use crate::domain;
use crate::{Flag, Indicator, Kind, Reason, ip, refang};

/// Schemes seen in indicators, with their default ports.
const SCHEMES: &[(&str, Option<u16>)] = &[
    ("http", Some(80)),
    ("https", Some(443)),
    ("ftp", Some(21)),
    ("ftps", Some(990)),
    ("sftp", Some(22)),
    ("tftp", Some(69)),
    ("ssh", Some(22)),
    ("telnet", Some(23)),
    ("ws", Some(80)),
    ("wss", Some(443)),
    ("smb", Some(445)),
    ("ldap", Some(389)),
    ("ldaps", Some(636)),
    ("rdp", Some(3389)),
    ("rtsp", Some(554)),
    ("irc", None),
    ("ircs", None),
    ("mms", None),
    ("tcp", None),
    ("udp", None),
    ("socks4", None),
    ("socks5", None),
    ("git", None),
];

/// A canonical host and what it contributes to the indicator.
struct Host {
    value: String,
    display: Option<String>,
    flags: Vec<Flag>,
}

/// Parses `scheme://authority/path?query#fragment`.
pub(crate) fn parse_with_scheme(s: &str, scheme_end: usize) -> Result<Indicator, Reason> {
    let scheme = s[..scheme_end].to_ascii_lowercase();
    let default_port = SCHEMES
        .iter()
        .find(|(name, _)| *name == scheme)
        .map(|(_, port)| *port)
        .ok_or_else(|| Reason::UnsupportedScheme(s[..scheme_end].to_owned()))?;
    let (body, fragment) = drop_fragment(s);
    let prefix = format!("{scheme}://");
    build(
        &prefix,
        &body[scheme_end + 3..],
        fragment,
        Authority {
            default_port,
            userinfo_allowed: true,
            special: is_special(&scheme),
        },
    )
}

/// Parses a URL written without a scheme (`example.com/path`, `1.2.3.4:8080`), or, for a feed
/// that states the kind is url, a bare host.
pub(crate) fn parse_without_scheme(s: &str) -> Result<Indicator, Reason> {
    let (body, fragment) = drop_fragment(s);
    // Without a scheme, a single-label "host" (`N/A`, `and/or`) means this is no URL at all.
    // Sent as http or https (see the mapping's `url_scheme`), so cut as those are.
    let authority = Authority {
        default_port: None,
        userinfo_allowed: false,
        special: true,
    };
    let mut ind = build("", body, fragment, authority).map_err(|reason| match reason {
        Reason::SingleLabel(_) => Reason::Unrecognised,
        other => other,
    })?;
    ind.add_flag(Flag::NoScheme);
    Ok(ind)
}

/// The URL without its fragment, and whether there was one. Punctuation that the fragment
/// kept from the end of the value is trimmed as refanging trims it, so that the canonical value
/// parses to itself.
fn drop_fragment(s: &str) -> (&str, bool) {
    match s.split_once('#') {
        Some((before, _)) => (refang::unwrap(before), true),
        None => (s, false),
    }
}

/// How a scheme's authority is read.
#[derive(Debug, Clone, Copy)]
struct Authority {
    default_port: Option<u16>,
    /// Whether `user@` may precede the host (not in a URL without a scheme, where `a@b/c`
    /// would be ambiguous with an e-mail address).
    userinfo_allowed: bool,
    /// WHATWG special scheme: `\` ends the authority like `/`.
    special: bool,
}

/// Assembles the canonical URL from the scheme prefix and what follows it (sans fragment).
fn build(prefix: &str, rest: &str, fragment: bool, rules: Authority) -> Result<Indicator, Reason> {
    // A browser skips extra slashes here (`http:///host`); a value written so is refused
    // rather than stored in a form whose host is hard to see.
    if rules.special && rest.starts_with(['/', '\\']) {
        return Err(Reason::NoHost);
    }
    let (authority, path) = cut_authority(rest, rules.special);
    let (userinfo, host_port) = match split_userinfo(authority) {
        (Some(_), _) if !rules.userinfo_allowed => {
            return Err(Reason::BadUrlHost(authority.to_owned()));
        }
        split => split,
    };
    let (host, written_port) = split_port(host_port)?;
    let default_port = rules.default_port;
    let host = canonical_host(host)?;
    let dropped_port = written_port.is_some() && written_port == default_port;
    let port = written_port.filter(|_| !dropped_port);
    let assemble = |host: &str| {
        let mut url = String::with_capacity(prefix.len() + rest.len() + 8);
        url.push_str(prefix);
        if let Some(user) = userinfo {
            url.push_str(user);
            url.push('@');
        }
        url.push_str(host);
        if let Some(port) = port {
            url.push(':');
            url.push_str(&port.to_string());
        }
        url.push_str(path);
        url
    };
    let mut ind = Indicator::new(Kind::Url, assemble(&host.value));
    ind.display = host.display.as_deref().map(assemble);
    for flag in host.flags {
        ind.add_flag(flag);
    }
    if fragment {
        ind.add_flag(Flag::FragmentDropped);
    }
    if dropped_port {
        ind.add_flag(Flag::DefaultPortDropped);
    }
    Ok(ind)
}

/// Splits `host[:port]` (IPv6 hosts in brackets); an empty port (`host:`) counts as none.
fn split_port(host_port: &str) -> Result<(&str, Option<u16>), Reason> {
    let (host, port) = match split_host_port(host_port) {
        (host, Some(port)) if !port.is_empty() => (host, port),
        (host, _) => return Ok((host, None)),
    };
    match port.parse::<u16>() {
        Ok(number) if port.bytes().all(|b| b.is_ascii_digit()) => Ok((host, Some(number))),
        _ => Err(Reason::BadPort(port.to_owned())),
    }
}

/// Canonicalises a URL host: a bracketed IPv6 address, an IPv4 address or a domain.
fn canonical_host(host: &str) -> Result<Host, Reason> {
    if host.is_empty() {
        return Err(Reason::NoHost);
    }
    if let Some(bracketed) = host.strip_prefix('[') {
        let inner = bracketed
            .strip_suffix(']')
            .ok_or_else(|| Reason::BadUrlHost(host.to_owned()))?;
        let addr = ip::parse_ipv6(inner)?;
        return Ok(match addr.to_ipv4_mapped() {
            Some(v4) => Host {
                value: v4.to_string(),
                display: None,
                flags: vec![Flag::MappedIpv4],
            },
            None => Host {
                value: format!("[{}]", IpAddr::V6(addr)),
                display: None,
                flags: Vec::new(),
            },
        });
    }
    if ip::looks_like_ipv4(host) {
        let addr = ip::parse_ipv4(host)?;
        return Ok(Host {
            value: addr.to_string(),
            display: None,
            flags: Vec::new(),
        });
    }
    let domain = domain::canonical(host)?;
    Ok(Host {
        value: domain.ascii,
        display: domain.unicode,
        flags: domain.flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_scheme(s: &str) -> Result<Indicator, Reason> {
        let end = s.find("://").unwrap();
        parse_with_scheme(s, end)
    }

    fn value(s: &str) -> String {
        with_scheme(s).unwrap().value
    }

    #[test]
    fn lower_cases_scheme_and_host_and_keeps_path_and_query_byte_for_byte() {
        assert_eq!(
            value("HTTP://WWW.Example.COM/Path/%7Euser/a%20b?Q=1&x=%41"),
            "http://www.example.com/Path/%7Euser/a%20b?Q=1&x=%41"
        );
        assert_eq!(
            value("https://example.com/../a/./b//c"),
            "https://example.com/../a/./b//c"
        );
        assert_eq!(value("https://example.com"), "https://example.com");
        assert_eq!(value("https://example.com?x"), "https://example.com?x");
    }

    #[test]
    fn drops_default_port_and_fragment() {
        let ind = with_scheme("http://example.com:80/a#frag").unwrap();
        assert_eq!(ind.value, "http://example.com/a");
        assert_eq!(
            ind.flags,
            vec![Flag::FragmentDropped, Flag::DefaultPortDropped]
        );
        assert_eq!(value("https://example.com:443"), "https://example.com");
        assert_eq!(
            value("https://example.com:8443/x"),
            "https://example.com:8443/x"
        );
        assert_eq!(value("http://example.com:0080/"), "http://example.com/");
        assert_eq!(value("http://example.com:/"), "http://example.com/");
        assert_eq!(value("http://example.com/x?#frag"), "http://example.com/x");
    }

    #[test]
    fn canonicalises_ip_hosts() {
        assert_eq!(
            value("http://[2001:DB8::0001]:8080/x"),
            "http://[2001:db8::1]:8080/x"
        );
        assert_eq!(value("http://[::ffff:1.2.3.4]/x"), "http://1.2.3.4/x");
        assert_eq!(value("http://1.2.3.4/x"), "http://1.2.3.4/x");
        assert_eq!(
            with_scheme("http://010.2.3.4/"),
            Err(Reason::Ipv4LeadingZero("010".into()))
        );
        assert!(matches!(
            with_scheme("http://[fe80::1%25eth0]/"),
            Err(Reason::Ipv6Zone(_))
        ));
    }

    #[test]
    fn idn_hosts_become_punycode_with_unicode_display() {
        let ind = with_scheme("https://Bücher.de/Straße?q=ä").unwrap();
        assert_eq!(ind.value, "https://xn--bcher-kva.de/Straße?q=ä");
        assert_eq!(ind.display.as_deref(), Some("https://bücher.de/Straße?q=ä"));
        assert_eq!(ind.flags, vec![Flag::Idn]);
    }

    #[test]
    fn keeps_userinfo_and_rejects_bad_parts() {
        assert_eq!(
            value("ftp://user:pw@Files.Example.com/x"),
            "ftp://user:pw@files.example.com/x"
        );
        assert_eq!(
            with_scheme("javascript://x.com"),
            Err(Reason::UnsupportedScheme("javascript".into()))
        );
        assert_eq!(with_scheme("http:///path"), Err(Reason::NoHost));
        assert_eq!(
            with_scheme("http://example.com:99999/"),
            Err(Reason::BadPort("99999".into()))
        );
        assert_eq!(
            with_scheme("http://example.com:8o/"),
            Err(Reason::BadPort("8o".into()))
        );
        assert!(matches!(
            with_scheme("http://localhost/"),
            Err(Reason::SingleLabel(_))
        ));
    }

    #[test]
    fn a_backslash_ends_the_host_as_in_a_browser_and_the_value_keeps_its_bytes() {
        // The host is evil.com: only it is canonicalised, the rest stays as written.
        let ind = with_scheme("https://EVIL.com\\@Corp.Example/login").unwrap();
        assert_eq!(ind.value, "https://evil.com\\@Corp.Example/login");
        assert_eq!(url_host(&ind.value), "evil.com");
        assert_eq!(ind.flags, vec![]);
        // Flags and display come from the real host, not from what follows the backslash.
        let ind = with_scheme("https://Bücher.de\\@corp.example/").unwrap();
        assert_eq!(ind.value, "https://xn--bcher-kva.de\\@corp.example/");
        assert_eq!(
            ind.display.as_deref(),
            Some("https://bücher.de\\@corp.example/")
        );
        assert_eq!(ind.flags, vec![Flag::Idn]);
        let ind = with_scheme("https://corp.com\\@evil.zz/").unwrap();
        assert_eq!(url_host(&ind.value), "corp.com");
        assert!(!ind.has_flag(Flag::UnknownTld));
        // A default port before the backslash is the host's port.
        let ind = with_scheme("https://evil.com:443\\@corp.example/").unwrap();
        assert_eq!(ind.value, "https://evil.com\\@corp.example/");
        assert!(ind.has_flag(Flag::DefaultPortDropped));
        // Userinfo is still what comes before the last `@`.
        assert_eq!(
            value("https://corp.example@evil.com/"),
            "https://corp.example@evil.com/"
        );
        assert_eq!(url_host("https://corp.example@evil.com/"), "evil.com");
        // Without a scheme the value is sent as http(s), so it is cut the same way.
        let ind = parse_without_scheme("corp.example\\evil.com/x").unwrap();
        assert_eq!(url_host(&ind.value), "corp.example");
        // Not a special scheme: a backslash belongs to the userinfo, as browsers read it.
        let ind = with_scheme("sftp://evil.com\\@Corp.Example/").unwrap();
        assert_eq!(ind.value, "sftp://evil.com\\@corp.example/");
        // A browser would skip the extra separators; a value written so has no host here.
        assert_eq!(with_scheme("https://\\evil.com/"), Err(Reason::NoHost));
        assert_eq!(
            with_scheme("http://[::1]x/"),
            Err(Reason::BadUrlHost("[::1]x".into()))
        );
    }

    #[test]
    fn urls_without_scheme_keep_no_scheme() {
        let ind = parse_without_scheme("WWW.Example.com/a?b=1").unwrap();
        assert_eq!(
            (ind.kind, ind.value.as_str()),
            (Kind::Url, "www.example.com/a?b=1")
        );
        assert_eq!(ind.flags, vec![Flag::NoScheme]);
        assert_eq!(
            parse_without_scheme("1.2.3.4:8080").unwrap().value,
            "1.2.3.4:8080"
        );
        assert_eq!(
            parse_without_scheme("example.com:80/x").unwrap().value,
            "example.com:80/x"
        );
    }
}
