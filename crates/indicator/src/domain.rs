//! Domain names: lower-cased, trailing root dot removed, internationalised names converted to
//! A-labels (punycode) with the `idna` crate (UTS 46) and their Unicode form kept for display.
//! Labels are checked as DNS requires (1–63 bytes, 253 in all, letters, digits and inner
//! hyphens; underscores are accepted but flagged, since DNS allows them in records such as
//! `_dmarc`). A single label is not a domain, nor is a name whose top label is all digits
//! (`1.2.3` is a broken IPv4 address). The top-level label is checked against the public
//! suffix list (`psl`), and a name that is itself a public suffix (`co.uk`) is flagged.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::{Flag, Indicator, Kind, Reason};

/// A domain in canonical form, with what was noticed on the way.
#[derive(Debug)]
pub(crate) struct Domain {
    /// The A-label form: lower case, no trailing dot.
    pub(crate) ascii: String,
    /// The Unicode form, when some label is internationalised.
    pub(crate) unicode: Option<String>,
    /// Flags to carry onto the indicator.
    pub(crate) flags: Vec<Flag>,
}

/// Canonicalises and checks a domain name.
pub(crate) fn canonical(input: &str) -> Result<Domain, Reason> {
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() {
        return Err(Reason::Empty);
    }
    let ascii = if name.is_ascii() && !has_ace_label(name) {
        name.to_ascii_lowercase()
    } else {
        to_ascii(name)?
    };
    let mut flags = check_labels(&ascii)?;
    let unicode = has_ace_label(&ascii).then(|| idna::domain_to_unicode(&ascii).0);
    if unicode.is_some() {
        flags.push(Flag::Idn);
    }
    match psl::suffix(ascii.as_bytes()) {
        Some(suffix) if suffix.is_known() => {
            if psl::domain(ascii.as_bytes()).is_none() {
                flags.push(Flag::PublicSuffix);
            }
        }
        _ => flags.push(Flag::UnknownTld),
    }
    Ok(Domain {
        ascii,
        unicode,
        flags,
    })
}

/// Parses a domain indicator.
pub(crate) fn parse(input: &str) -> Result<Indicator, Reason> {
    let domain = canonical(input)?;
    let mut ind = Indicator::new(Kind::Domain, domain.ascii);
    ind.display = domain.unicode;
    for flag in domain.flags {
        ind.add_flag(flag);
    }
    Ok(ind)
}

/// True when some label is an ACE (`xn--`) label, which must be validated by IDNA.
fn has_ace_label(name: &str) -> bool {
    // Most names have no `--` at all; only then is a label-by-label look needed.
    name.contains("--")
        && name.split('.').any(|label| {
            label
                .as_bytes()
                .get(..4)
                .is_some_and(|head| head.eq_ignore_ascii_case(b"xn--"))
        })
}

/// Converts an internationalised name (or one with `xn--` labels) to lower-case A-labels.
fn to_ascii(name: &str) -> Result<String, Reason> {
    // The ASCII deny list is left empty so that underscores pass; `check_labels` then applies
    // the DNS character rules to the result.
    Uts46::new()
        .to_ascii(
            name.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::CheckFirstLast,
            DnsLength::Ignore,
        )
        .map(|ascii| ascii.into_owned())
        .map_err(
            |_| match name.split('.').find(|label| has_ace_label(label)) {
                Some(label) if name.is_ascii() => Reason::BadPunycode(label.to_owned()),
                _ => Reason::BadIdn(name.to_owned()),
            },
        )
}

/// Checks lengths, characters and hyphens of a lower-case ASCII name; returns flags noticed.
fn check_labels(ascii: &str) -> Result<Vec<Flag>, Reason> {
    if ascii.len() > 253 {
        return Err(Reason::DomainTooLong(ascii.len()));
    }
    let mut flags = Vec::new();
    let mut labels = 0;
    let mut last = "";
    for label in ascii.split('.') {
        check_label(label)?;
        if label.contains('_') && !flags.contains(&Flag::Underscore) {
            flags.push(Flag::Underscore);
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(Reason::SingleLabel(ascii.to_owned()));
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::NumericTld(last.to_owned()));
    }
    Ok(flags)
}

/// Checks one label.
fn check_label(label: &str) -> Result<(), Reason> {
    if label.is_empty() {
        return Err(Reason::EmptyLabel);
    }
    if label.len() > 63 {
        return Err(Reason::LabelTooLong(label.to_owned()));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(Reason::LabelCharacter(label.to_owned()));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(Reason::LabelHyphen(label.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Indicator {
        parse(s).unwrap()
    }

    #[test]
    fn lower_cases_and_drops_the_root_dot() {
        let ind = ok("WWW.Example.COM.");
        assert_eq!(
            (ind.kind, ind.value.as_str()),
            (Kind::Domain, "www.example.com")
        );
        assert!(ind.flags.is_empty());
        assert_eq!(ind.display, None);
    }

    #[test]
    fn converts_idn_to_a_labels_and_keeps_unicode_for_display() {
        let ind = ok("bücher.example.de");
        assert_eq!(ind.value, "xn--bcher-kva.example.de");
        assert_eq!(ind.display.as_deref(), Some("bücher.example.de"));
        assert_eq!(ind.flags, vec![Flag::Idn]);
        let ind = ok("XN--BCHER-KVA.de");
        assert_eq!(ind.value, "xn--bcher-kva.de");
        assert_eq!(ind.display.as_deref(), Some("bücher.de"));
        assert_eq!(ok("пример.рф").value, "xn--e1afmkfd.xn--p1ai");
        assert_eq!(ok("例え。テスト.jp").value, ok("例え.テスト.jp").value);
    }

    #[test]
    fn rejects_invalid_punycode() {
        assert!(matches!(parse("xn--a.com"), Err(Reason::BadPunycode(_))));
        assert!(parse("xn--abc-.com").is_err());
        // An ACE label that decodes to plain ASCII is not valid punycode either.
        assert!(parse("xn--example-.com").is_err());
    }

    #[test]
    fn checks_labels() {
        assert_eq!(
            parse("-bad.example.com"),
            Err(Reason::LabelHyphen("-bad".into()))
        );
        assert_eq!(
            parse("bad-.example.com"),
            Err(Reason::LabelHyphen("bad-".into()))
        );
        assert_eq!(parse("a..example.com"), Err(Reason::EmptyLabel));
        assert_eq!(parse(".example.com"), Err(Reason::EmptyLabel));
        let long = "a".repeat(64);
        assert_eq!(
            parse(&format!("{long}.com")),
            Err(Reason::LabelTooLong(long))
        );
        let name = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        assert_eq!(parse(&name), Err(Reason::DomainTooLong(name.len())));
        assert!(matches!(
            parse("exa$mple.com"),
            Err(Reason::LabelCharacter(_))
        ));
        assert!(matches!(
            parse("exa mple.com"),
            Err(Reason::LabelCharacter(_))
        ));
        assert!(ok(&format!("{}.com", "a".repeat(63))).flags.is_empty());
    }

    #[test]
    fn single_labels_and_numeric_tlds_are_not_domains() {
        assert_eq!(
            parse("localhost"),
            Err(Reason::SingleLabel("localhost".into()))
        );
        assert_eq!(parse("FOO."), Err(Reason::SingleLabel("foo".into())));
        assert_eq!(parse("a.123"), Err(Reason::NumericTld("123".into())));
    }

    #[test]
    fn flags_underscores_unknown_tlds_and_public_suffixes() {
        assert_eq!(ok("_dmarc.example.com").flags, vec![Flag::Underscore]);
        assert_eq!(ok("evil.notatld").flags, vec![Flag::UnknownTld]);
        assert_eq!(ok("co.uk").flags, vec![Flag::PublicSuffix]);
        assert!(ok("example.co.uk").flags.is_empty());
        assert!(ok("evil.xyz").flags.is_empty());
    }
}
