//! Refanging: undoing the ways analysts "defang" indicators so nobody clicks them (`hxxp://`,
//! `example[.]com`, `user[at]example.com`, ...), and unwrapping the quotes, brackets and
//! sentence punctuation that surround an indicator quoted in text.
//!
//! The common case — nothing to undo — allocates nothing and returns a slice of the input.

use std::borrow::Cow;

/// Defanged spellings and what they stand for, matched case-insensitively anywhere in a value.
const REPLACEMENTS: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("\\.", "."),
    ("[://]", "://"),
    ("[:]", ":"),
    ("[/]", "/"),
    ("[@]", "@"),
    ("(@)", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("{at}", "@"),
];

/// Defanged schemes (matched case-insensitively at the start, before `:`) and the real ones.
const SCHEMES: &[(&str, &str)] = &[
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("hxtps", "https"),
    ("hxtp", "http"),
    ("htxps", "https"),
    ("htxp", "http"),
    ("h__ps", "https"),
    ("h__p", "http"),
    ("hxxxps", "https"),
    ("hxxxp", "http"),
    ("fxps", "ftps"),
    ("fxp", "ftp"),
];

/// Refangs one candidate indicator: trims whitespace, unwraps surrounding quotes and brackets,
/// drops trailing sentence punctuation, restores defanged schemes (`hxxp`, `fxp`) and
/// separators (`[.]`, `(dot)`, `[:]`, `[://]`, `[@]`, `[at]`, ...). Returns the input (or a
/// slice of it) when there is nothing to replace.
pub fn refang(input: &str) -> Cow<'_, str> {
    let core = unwrap(input.trim());
    if !needs_replacing(core) {
        return Cow::Borrowed(core);
    }
    let mut text = replace_all(core);
    // Replacing can expose wrapping (`"example[.]com".`) and unwrapping can expose a defanged
    // scheme (`"hxxp://x"[.]`): repeat until neither changes anything. Each round shortens the
    // text or leaves it as it is, so this ends.
    loop {
        let unwrapped = unwrap(&text);
        if !needs_replacing(unwrapped) {
            let done = if unwrapped.len() == text.len() {
                text
            } else {
                unwrapped.to_owned()
            };
            return Cow::Owned(done);
        }
        let next = replace_all(unwrapped);
        if next == text {
            return Cow::Owned(text);
        }
        text = next;
    }
}

/// Strips matching outer quotes/brackets, unmatched leading openers, and trailing punctuation
/// or unmatched closers, until none is left.
pub(crate) fn unwrap(mut s: &str) -> &str {
    loop {
        let before = s.len();
        s = s.trim();
        // Fast path: nothing at either end that could be wrapping or punctuation.
        let edges = (s.as_bytes().first(), s.as_bytes().last());
        if let (Some(first), Some(last)) = edges {
            if !b"\"'`<[({".contains(first) && !b"\"'`>])}.,;!?".contains(last) {
                return s;
            }
        }
        s = strip_pair(s);
        s = s.trim_end_matches(['.', ',', ';', '!', '?']);
        s = strip_unmatched(s);
        if s.len() == before {
            return s;
        }
    }
}

/// Removes one pair of matching outer quotes or brackets whose inside is balanced.
fn strip_pair(s: &str) -> &str {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return s;
    };
    if bytes.len() < 2 {
        return s;
    }
    let pairs = matches!(
        (first, last),
        (b'"', b'"')
            | (b'\'', b'\'')
            | (b'`', b'`')
            | (b'<', b'>')
            | (b'[', b']')
            | (b'(', b')')
            | (b'{', b'}')
    );
    if !pairs {
        return s;
    }
    // Both ends are ASCII, so these byte offsets are character boundaries.
    let inner = &s[1..s.len() - 1];
    if first == last || balanced(inner, first, last) {
        inner
    } else {
        s
    }
}

/// True when `close` never appears in `s` without an earlier unclosed `open`.
fn balanced(s: &str, open: u8, close: u8) -> bool {
    let mut depth = 0usize;
    for b in s.bytes() {
        if b == open {
            depth += 1;
        } else if b == close {
            match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            }
        }
    }
    true
}

/// Drops a leading opener or trailing closer (bracket or quote) that has no partner inside.
fn strip_unmatched(s: &str) -> &str {
    const PAIRS: [(u8, u8); 6] = [
        (b'(', b')'),
        (b'[', b']'),
        (b'{', b'}'),
        (b'<', b'>'),
        (b'"', b'"'),
        (b'\'', b'\''),
    ];
    let bytes = s.as_bytes();
    let (first, last) = (bytes.first(), bytes.last());
    for (open, close) in PAIRS {
        if first != Some(&open) && last != Some(&close) {
            continue;
        }
        let count = |c: u8| bytes.iter().filter(|&&b| b == c).count();
        let (opens, closes) = (count(open), count(close));
        let unmatched_close = if open == close {
            opens % 2 == 1
        } else {
            closes > opens
        };
        let unmatched_open = if open == close {
            opens % 2 == 1
        } else {
            opens > closes
        };
        if last == Some(&close) && unmatched_close {
            return &s[..s.len() - 1];
        }
        if first == Some(&open) && unmatched_open {
            return &s[1..];
        }
    }
    s
}

/// Cheap test for anything [`replace_all`] would change. Branch-free over the bytes, since
/// almost every input has none of the opening characters.
fn needs_replacing(s: &str) -> bool {
    let opener = s.bytes().fold(false, |seen, b| {
        seen | matches!(b, b'[' | b'(' | b'{' | b'\\')
    });
    opener || defanged_scheme(s).is_some()
}

/// The defanged scheme `s` starts with (followed by `:` or `[`), as `(length, real scheme)`.
fn defanged_scheme(s: &str) -> Option<(usize, &'static str)> {
    let first = s.as_bytes().first()?.to_ascii_lowercase();
    if first != b'h' && first != b'f' {
        return None;
    }
    SCHEMES.iter().find_map(|&(fake, real)| {
        let head = s.get(..fake.len())?;
        let next = s.as_bytes().get(fake.len())?;
        (head.eq_ignore_ascii_case(fake) && matches!(next, b':' | b'['))
            .then_some((fake.len(), real))
    })
}

/// Replaces every defanged scheme and separator. The output is used as a stack: after each
/// character that can end a defanged spelling, the tail is replaced for as long as it ends in
/// one, so nested spellings (`[[.]]`, `\\\\.`) are undone in one linear pass and the result
/// holds none.
fn replace_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    if let Some((len, real)) = defanged_scheme(s) {
        out.push_str(real);
        rest = &s[len..];
    }
    for c in rest.chars() {
        out.push(c);
        if matches!(c, ']' | ')' | '}' | '.') {
            while let Some((fake, real)) = REPLACEMENTS
                .iter()
                .find(|(fake, _)| ends_with_ignore_case(&out, fake))
            {
                out.truncate(out.len() - fake.len());
                out.push_str(real);
            }
        }
    }
    out
}

/// True when `s` ends with the ASCII `suffix`, ignoring ASCII case.
fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        refang(s).into_owned()
    }

    #[test]
    fn restores_defanged_schemes() {
        assert_eq!(r("hxxp://evil.example/a"), "http://evil.example/a");
        assert_eq!(r("hXXps://evil.example"), "https://evil.example");
        assert_eq!(r("HXXP[://]evil.example"), "http://evil.example");
        assert_eq!(r("fxp://files.example"), "ftp://files.example");
        assert_eq!(r("hxxp[:]//evil.example"), "http://evil.example");
        assert_eq!(r("h__p://evil.example"), "http://evil.example");
    }

    #[test]
    fn restores_defanged_separators() {
        assert_eq!(r("evil[.]example[.]com"), "evil.example.com");
        assert_eq!(r("evil(.)example{.}com"), "evil.example.com");
        assert_eq!(r("evil[dot]example(DOT)com"), "evil.example.com");
        assert_eq!(r("1[.]2[.]3[.]4"), "1.2.3.4");
        assert_eq!(r("user[@]example[.]com"), "user@example.com");
        assert_eq!(r("user[at]example.com"), "user@example.com");
        assert_eq!(r("user(at)example.com"), "user@example.com");
        assert_eq!(r("evil\\.example\\.com"), "evil.example.com");
        assert_eq!(r("evil[[.]]example[[.]]com"), "evil.example.com");
        assert_eq!(r("a\\\\\\.b"), "a.b");
    }

    #[test]
    fn unwraps_quotes_brackets_and_punctuation() {
        assert_eq!(r("  \"evil.example.com\"  "), "evil.example.com");
        assert_eq!(r("<http://evil.example/>"), "http://evil.example/");
        assert_eq!(r("(evil.example.com),"), "evil.example.com");
        assert_eq!(r("evil.example.com."), "evil.example.com");
        assert_eq!(r("'1.2.3.4';"), "1.2.3.4");
        assert_eq!(r("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(r("\"evil[.]example\"."), "evil.example");
        assert_eq!(r("\"hxxp://evil.example\"[.]"), "http://evil.example");
        assert_eq!(r("evil.example)"), "evil.example");
    }

    #[test]
    fn keeps_balanced_brackets_inside_values() {
        assert_eq!(
            r("https://en.wikipedia.org/wiki/Foo_(bar)"),
            "https://en.wikipedia.org/wiki/Foo_(bar)"
        );
        assert_eq!(r("http://evil.example/a[1]"), "http://evil.example/a[1]");
        assert_eq!(r("fe80::"), "fe80::");
    }

    #[test]
    fn borrows_when_nothing_changes() {
        assert!(matches!(
            refang("evil.example.com"),
            Cow::Borrowed("evil.example.com")
        ));
        assert!(matches!(refang(" 1.2.3.4 "), Cow::Borrowed("1.2.3.4")));
        assert!(matches!(
            refang("\"a.example\""),
            Cow::Borrowed("a.example")
        ));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "", "[", "]", "\"", "((", "[.", "h", "hxxp", "hxxp:", "é[.]", "[é]", "\\",
        ] {
            let _ = refang(s);
        }
    }
}
