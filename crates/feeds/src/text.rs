//! Plain-text feeds: one indicator a line, in any form the `indicator` crate reads (defanged
//! values are refanged, address ranges give their CIDRs, an `ip:port` such as `198.51.100.7:443`
//! or `[2001:db8::1]:8080` gives the address, not a URL without a scheme). Blank lines and `#` comment lines are
//! skipped (`;` lines too, as Spamhaus lists open with them), as is a trailing comment after whitespace (`198.51.100.7  # c2`, and the
//! `; SBL123` notes of Spamhaus-style lists). This is the fast path: one reused line buffer,
//! no per-line allocation besides the sightings themselves.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use crate::fields::{Expect, indicators};
use crate::lines::{Lines, Next, next_text};
use crate::record::Attributes;
use crate::{FeedError, FeedReader, Options, Record, Source};

pub(crate) fn reader<'a>(
    input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    FeedReader::new(TextSource {
        lines: Lines::new(input),
        origin,
        options,
        attributes: Attributes::default(),
    })
}

struct TextSource<R> {
    lines: Lines<R>,
    origin: Arc<str>,
    options: Options,
    attributes: Attributes,
}

impl<R: BufRead> Source for TextSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        let (location, text) = match next_text(&mut self.lines, &self.origin, out) {
            Next::End => return None,
            Next::Reported => return Some(1),
            Next::Text(location, text) => (location, text),
        };
        let Some(value) = strip_comment(text) else {
            return Some(0);
        };
        match indicators(Expect::Any, value) {
            Ok(found) => self.options.defaults.push_all(found, &self.attributes, out),
            Err(reason) => out.push_back(Err(FeedError::invalid(&self.origin, location, reason))),
        }
        Some(1)
    }
}

/// The value on a line without its comment, or `None` for blank and comment lines.
fn strip_comment(line: &str) -> Option<&str> {
    let line = line.trim();
    // Spamhaus lists open with `;` banner lines; no indicator starts with `;`.
    if line.is_empty() || line.starts_with(['#', ';']) {
        return None;
    }
    let bytes = line.as_bytes();
    // A comment marker counts only after whitespace, so URLs with `#` or `;` keep them.
    let end = (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'#' | b';') && bytes[i - 1].is_ascii_whitespace())
        .unwrap_or(bytes.len());
    Some(line[..end].trim_end()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped_only_after_whitespace() {
        assert_eq!(strip_comment("  # header"), None);
        assert_eq!(strip_comment("; Spamhaus DROP List 2026/11/23"), None);
        assert_eq!(strip_comment(""), None);
        assert_eq!(strip_comment("198.51.100.7 # c2"), Some("198.51.100.7"));
        assert_eq!(
            strip_comment("203.0.113.0/24 ; SBL123"),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            strip_comment("http://a.example/x#frag;y"),
            Some("http://a.example/x#frag;y")
        );
        assert_eq!(
            strip_comment("1.2.3.4 - 1.2.3.9"),
            Some("1.2.3.4 - 1.2.3.9")
        );
    }
}
