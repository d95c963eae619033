//! E-mail addresses: the local part is kept exactly as given (its case may matter to the
//! receiving server), the domain is canonicalised like any domain. A `mailto:` prefix is
//! dropped.

use crate::domain;
use crate::{Indicator, Kind, Reason};

/// Characters allowed in an unquoted local part besides letters and digits (RFC 5322 atext).
const ATEXT: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

/// Parses `local@domain`.
pub(crate) fn parse(input: &str) -> Result<Indicator, Reason> {
    let s = strip_mailto(input);
    let (local, host) = s.rsplit_once('@').ok_or(Reason::Unrecognised)?;
    check_local(local)?;
    if host.is_empty() {
        return Err(Reason::NoEmailDomain);
    }
    let domain = domain::canonical(host)?;
    let mut ind = Indicator::new(Kind::Email, format!("{local}@{}", domain.ascii));
    ind.display = domain.unicode.map(|unicode| format!("{local}@{unicode}"));
    for flag in domain.flags {
        ind.add_flag(flag);
    }
    Ok(ind)
}

/// Drops a leading `mailto:` in any letter case.
fn strip_mailto(s: &str) -> &str {
    match s.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => &s[7..],
        _ => s,
    }
}

/// Checks a local part: 1–64 bytes, either a quoted string or dot-separated atoms of
/// letters, digits, `ATEXT` and non-ASCII characters (RFC 6531).
fn check_local(local: &str) -> Result<(), Reason> {
    if local.is_empty() {
        return Err(Reason::EmptyLocalPart);
    }
    if local.len() > 64 {
        return Err(Reason::LocalPartTooLong(local.len()));
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    let valid = if quoted {
        !local.chars().any(char::is_control)
    } else {
        local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || ATEXT.contains(&b) || !b.is_ascii())
        })
    };
    if valid {
        Ok(())
    } else {
        Err(Reason::BadLocalPart(local.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flag;

    #[test]
    fn keeps_the_local_part_and_canonicalises_the_domain() {
        let ind = parse("John.Doe+ioc@Example.COM.").unwrap();
        assert_eq!(
            (ind.kind, ind.value.as_str()),
            (Kind::Email, "John.Doe+ioc@example.com")
        );
        assert_eq!(
            parse("MAILTO:a@b.example.org").unwrap().value,
            "a@b.example.org"
        );
        assert_eq!(
            parse("\"odd@local\"@example.com").unwrap().value,
            "\"odd@local\"@example.com"
        );
    }

    #[test]
    fn idn_domains_get_a_display_form() {
        let ind = parse("info@bücher.de").unwrap();
        assert_eq!(ind.value, "info@xn--bcher-kva.de");
        assert_eq!(ind.display.as_deref(), Some("info@bücher.de"));
        assert_eq!(ind.flags, vec![Flag::Idn]);
    }

    #[test]
    fn rejects_bad_local_parts_and_domains() {
        assert_eq!(parse("@example.com"), Err(Reason::EmptyLocalPart));
        assert_eq!(
            parse(&format!("{}@example.com", "a".repeat(65))),
            Err(Reason::LocalPartTooLong(65))
        );
        assert_eq!(
            parse("a..b@example.com"),
            Err(Reason::BadLocalPart("a..b".into()))
        );
        assert_eq!(
            parse(".a@example.com"),
            Err(Reason::BadLocalPart(".a".into()))
        );
        assert_eq!(
            parse("a(b)@example.com"),
            Err(Reason::BadLocalPart("a(b)".into()))
        );
        assert_eq!(
            parse("a@localhost"),
            Err(Reason::SingleLabel("localhost".into()))
        );
        assert_eq!(parse("a@"), Err(Reason::NoEmailDomain));
    }
}
