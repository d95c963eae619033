//! Line splitting for the line-oriented readers (text, JSON lines) with a length cap: a line
//! longer than [`MAX_LINE`] is reported and skipped without ever being held in memory whole,
//! and a line that is not UTF-8 is reported rather than ending the feed.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::sync::Arc;

use crate::{FeedError, Location, Record};

/// Longest line accepted, in bytes (without the line ending).
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// One line, or why it cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    Text(&'a str),
    /// The line was longer than [`MAX_LINE`]; its length in bytes.
    TooLong(usize),
    /// Not UTF-8; the byte offset of the first bad byte.
    NotUtf8(usize),
}

pub(crate) struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(input: R) -> Self {
        Self {
            input,
            buf: Vec::with_capacity(256),
            number: 0,
        }
    }

    /// The next line with its 1-based number, `None` at the end of input.
    pub(crate) fn next_line(&mut self) -> Option<io::Result<(u64, Line<'_>)>> {
        self.buf.clear();
        let length = match self.fill() {
            Ok(Some(length)) => length,
            Ok(None) => return None,
            Err(err) => return Some(Err(err)),
        };
        self.number += 1;
        if length > MAX_LINE {
            return Some(Ok((self.number, Line::TooLong(length))));
        }
        let mut bytes = self.buf.as_slice();
        if let Some(stripped) = bytes.strip_suffix(b"\r") {
            bytes = stripped;
        }
        if self.number == 1 {
            // A UTF-8 byte-order mark is not part of the first value.
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        Some(Ok((
            self.number,
            match std::str::from_utf8(bytes) {
                Ok(text) => Line::Text(text),
                Err(err) => Line::NotUtf8(err.valid_up_to()),
            },
        )))
    }

    /// Reads one line into `buf` (at most `MAX_LINE + 1` bytes of it) and returns its full
    /// length, or `None` at the end of input.
    fn fill(&mut self) -> io::Result<Option<usize>> {
        let mut length = 0usize;
        let mut seen_any = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                return Ok(seen_any.then_some(length));
            }
            seen_any = true;
            let (chunk, consumed, done) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            let room = (MAX_LINE + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            length += chunk.len();
            self.input.consume(consumed);
            if done {
                return Ok(Some(length));
            }
        }
    }
}

/// What [`next_text`] found.
pub(crate) enum Next<'a> {
    /// The input ended (or could not be read; that error is already reported).
    End,
    /// The line was unusable (overlong or not UTF-8) and has been reported.
    Reported,
    /// A usable line and where it is.
    Text(Location, &'a str),
}

/// The next usable line for a line-oriented reader; a read error, an overlong line or one that
/// is not UTF-8 is pushed to `out` as an error naming `origin` and the line, so each reader only
/// handles text.
pub(crate) fn next_text<'a, R: BufRead>(
    lines: &'a mut Lines<R>,
    origin: &Arc<str>,
    out: &mut VecDeque<Record>,
) -> Next<'a> {
    let (number, line) = match lines.next_line() {
        None => return Next::End,
        Some(Ok(found)) => found,
        Some(Err(err)) => {
            out.push_back(Err(FeedError::invalid(
                origin,
                Location::Document,
                format!("read error: {err}"),
            )));
            return Next::End;
        }
    };
    let location = Location::Line(number);
    match line {
        Line::Text(text) => Next::Text(location, text),
        Line::TooLong(length) => {
            out.push_back(Err(too_long(origin, location, length)));
            Next::Reported
        }
        Line::NotUtf8(at) => {
            out.push_back(Err(not_utf8(origin, location, at)));
            Next::Reported
        }
    }
}

fn too_long(origin: &Arc<str>, location: Location, length: usize) -> FeedError {
    FeedError::invalid(
        origin,
        location,
        format!("line is {length} bytes long, more than the {MAX_LINE} allowed"),
    )
}

fn not_utf8(origin: &Arc<str>, location: Location, at: usize) -> FeedError {
    FeedError::invalid(
        origin,
        location,
        format!("line is not valid UTF-8 (bad byte at column {})", at + 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Vec<(u64, String)> {
        let mut lines = Lines::new(input);
        let mut out = Vec::new();
        while let Some(item) = lines.next_line() {
            let (n, line) = item.unwrap();
            out.push((n, format!("{line:?}")));
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf_and_bom() {
        let out = collect(b"\xEF\xBB\xBFa\r\nb\n\nc");
        assert_eq!(
            out,
            [
                (1, "Text(\"a\")".to_owned()),
                (2, "Text(\"b\")".to_owned()),
                (3, "Text(\"\")".to_owned()),
                (4, "Text(\"c\")".to_owned()),
            ]
        );
    }

    #[test]
    fn long_and_non_utf8_lines_are_reported_in_place() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend(b"\nbad\xFFbyte\nlast\n");
        let out = collect(&input);
        assert_eq!(out[1], (2, format!("TooLong({})", MAX_LINE + 10)));
        assert_eq!(out[2], (3, "NotUtf8(3)".to_owned()));
        assert_eq!(out[3], (4, "Text(\"last\")".to_owned()));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut input = vec![b'y'; MAX_LINE];
        input.push(b'\n');
        let out = collect(&input);
        assert!(out[0].1.starts_with("Text("));
    }
}
