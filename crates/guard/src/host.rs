//! The host an e-mail address points at, read from its canonical value without a full parse
//! (the `indicator` crate has already validated it). A URL's host is `indicator::url_host`:
//! the host a browser connects to, by the WHATWG URL Standard.

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
    fn hosts_of_emails() {
        assert_eq!(email_host("a.b@mail.example.com"), "mail.example.com");
        assert_eq!(email_host("x@[10.0.0.1]"), "10.0.0.1");
    }
}
