//! The host a URL or e-mail address points at, read from its canonical value without a full
//! URL parse (the `indicator` crate has already validated it).

/// The host of a URL, with or without a scheme: `http://user@Host:8080/p` gives `Host`,
/// `[2001:db8::1]:443/x` gives `2001:db8::1`.
pub(crate) fn url_host(url: &str) -> &str {
    let rest = match url.find("://") {
        // Only a scheme before `://` (not `example.com/?next=http://...`).
        Some(at) if is_scheme(&url[..at]) => &url[at + 3..],
        _ => url,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The domain (or address literal) of an e-mail address.
pub(crate) fn email_host(email: &str) -> &str {
    let domain = email.rsplit_once('@').map_or(email, |(_, d)| d);
    domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .unwrap_or(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("http://example.com/a?b#c"), "example.com");
        assert_eq!(url_host("https://user:pw@example.com:8443/"), "example.com");
        assert_eq!(url_host("example.com/path"), "example.com");
        assert_eq!(
            url_host("example.com/?next=http://other.org/"),
            "example.com"
        );
        assert_eq!(url_host("http://[2001:db8::1]:8080/x"), "2001:db8::1");
        assert_eq!(url_host("http://10.0.0.1/x"), "10.0.0.1");
        assert_eq!(url_host("ftp://files.example.org"), "files.example.org");
    }

    #[test]
    fn hosts_of_emails() {
        assert_eq!(email_host("a.b@mail.example.com"), "mail.example.com");
        assert_eq!(email_host("x@[10.0.0.1]"), "10.0.0.1");
    }
}
