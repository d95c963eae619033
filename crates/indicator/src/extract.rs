//! Finding indicators inside free text (reports, e-mails, chat logs). The text is cut into
//! tokens at whitespace and at characters that never occur inside an indicator (quotes, angle
//! brackets, commas, ...); each token is refanged and parsed like a feed line. A token that
//! fails is tried once more after a `key=` or `label:` prefix (`src=1.2.3.4`, `IP:1.2.3.4`).
//!
//! Prose is full of dotted words (`file.exe`, `e.g`, `Node.js`), so a domain — or a scheme-less
//! URL or e-mail address on a domain — is only taken when its top-level label is on the
//! public suffix list. Ranges written with spaces (`a - b`) are seen as separate addresses.

use std::collections::HashSet;

use crate::{Flag, Indicator, Kind, parse};

/// The indicators found in `text`, deduplicated by kind and value, in order of first appearance.
pub fn extract(text: &str) -> Vec<Indicator> {
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    let mut out = Vec::new();
    for token in text.split(is_separator).filter(|token| !token.is_empty()) {
        for ind in candidates(token) {
            if seen.insert((ind.kind, ind.value.clone())) {
                out.push(ind);
            }
        }
    }
    out
}

/// Characters that end a token.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '|' | '"' | '<' | '>' | '“' | '”' | '‘' | '’' | '«' | '»'
        )
}

/// The indicators one token yields: the token itself, or what follows a `key=`/`label:` prefix.
fn candidates(token: &str) -> Vec<Indicator> {
    if let Some(found) = plausible(token) {
        return found;
    }
    let after_prefix = token
        .split_once('=')
        .map(|(_, value)| value)
        .or_else(|| label_value(token));
    after_prefix.and_then(plausible).unwrap_or_default()
}

/// The part after `Label:` when the label is only letters and what follows is not `//`.
fn label_value(token: &str) -> Option<&str> {
    let (label, value) = token.split_once(':')?;
    let is_label = !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphabetic());
    (is_label && !value.starts_with('/')).then_some(value)
}

/// The token's indicators, unless it fails to parse or is a dotted word of prose.
fn plausible(token: &str) -> Option<Vec<Indicator>> {
    let found = parse(token).ok()?;
    let prose = |ind: &Indicator| {
        let named = matches!(ind.kind, Kind::Domain | Kind::Email) || ind.has_flag(Flag::NoScheme);
        named && ind.has_flag(Flag::UnknownTld)
    };
    (!found.iter().any(prose)).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        extract(text)
            .into_iter()
            .map(|ind| format!("{}:{}", ind.kind, ind.value))
            .collect()
    }

    #[test]
    fn finds_defanged_indicators_in_prose_in_order_without_repeats() {
        let text = "The actor used hxxps://evil[.]example[.]com/stage2 (see also evil[.]example[.]com), \
                    then beaconed to 203.0.113[.]7:8443 and 198[.]51[.]100[.]23. Mail from \
                    \"billing[at]invoices-example.net\". Payload SHA-256 \
                    E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855; again evil[.]example[.]com.";
        assert_eq!(
            values(text),
            [
                "url:https://evil.example.com/stage2",
                "domain:evil.example.com",
                "url:203.0.113.7:8443",
                "ipv4:198.51.100.23",
                "email:billing@invoices-example.net",
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ]
        );
    }

    #[test]
    fn skips_dotted_words_of_prose() {
        assert!(
            values("Run setup.exe, e.g. with Node.js or config.yaml; i.e. not 1.2.3 either.")
                .is_empty()
        );
    }

    #[test]
    fn looks_past_key_and_label_prefixes() {
        assert_eq!(
            values("src=10.0.0.1 IP:8.8.8.8 url=<http://a.example.com/x>"),
            [
                "ipv4:10.0.0.1",
                "ipv4:8.8.8.8",
                "url:http://a.example.com/x"
            ]
        );
    }

    #[test]
    fn empty_and_odd_text_gives_nothing() {
        assert!(extract("").is_empty());
        assert!(extract("[[[ ((( ]]] \u{0} \u{feff}").is_empty());
    }
}
