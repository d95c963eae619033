//! Blanks between a delimiter and an opening quote. The CSV parser (the `csv` crate, like RFC
//! 4180) sees a quote only as a cell's first byte, so in `a, "b,c"` it splits inside the quotes
//! and keeps them. ThreatFox writes every row that way. [`TightQuotes`] drops those blanks as
//! the bytes stream by, so the parser sees `a,"b,c"`; every other byte passes unchanged. It
//! follows the quoting as the parser does, so it can also tell when the input ended inside a
//! quoted cell, which the parser accepts silently.

use std::io::{self, Read};

/// Where the last byte left the reader, as the CSV parser sees quoting: a quote opens a
/// quoted cell only as the cell's first byte; elsewhere in an unquoted cell it is text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a cell; `after_delimiter` unless at the start of a line.
    CellStart {
        after_delimiter: bool,
    },
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: it closes the cell unless another quote follows.
    QuoteInQuoted,
}

/// A reader that drops the spaces between a delimiter and an opening quote.
pub(super) struct TightQuotes<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// The inner reader has ended.
    at_end: bool,
    /// The open quoted cell holds a line break with more after it (lines would be lost in it).
    spans_lines: bool,
    /// The last byte inside the open quoted cell was a line break.
    after_break: bool,
    /// Spaces seen right after a delimiter, held until the next byte shows whether a quote
    /// follows (then they are dropped) or not (then they are written).
    held: usize,
    out: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
}

impl<R: Read> TightQuotes<R> {
    pub(super) fn new(inner: R, delimiter: u8) -> Self {
        TightQuotes {
            inner,
            delimiter,
            state: State::CellStart {
                after_delimiter: false,
            },
            at_end: false,
            spans_lines: false,
            after_break: false,
            held: 0,
            out: Vec::new(),
            pos: 0,
            scratch: vec![0; 8 * 1024],
        }
    }

    /// Whether the input ended inside a quoted cell (a quote never closed) that took in
    /// later lines. (One that only took the final line break loses nothing.)
    pub(super) fn ended_in_quotes(&self) -> bool {
        self.at_end && self.state == State::Quoted && self.spans_lines
    }

    fn push(&mut self, byte: u8) {
        let ends_cell = byte == self.delimiter || byte == b'\n' || byte == b'\r';
        let start = State::CellStart {
            after_delimiter: byte == self.delimiter,
        };
        self.state = match self.state {
            State::CellStart {
                after_delimiter: true,
            } if byte == b' ' => {
                self.held += 1;
                return;
            }
            State::CellStart { .. } if byte == b'"' => {
                self.held = 0;
                self.spans_lines = false;
                self.after_break = false;
                State::Quoted
            }
            State::Quoted if byte == b'"' => State::QuoteInQuoted,
            State::Quoted => {
                let line_break = byte == b'\n' || byte == b'\r';
                self.spans_lines |= self.after_break && !line_break;
                self.after_break = line_break;
                State::Quoted
            }
            State::QuoteInQuoted if byte == b'"' => State::Quoted,
            _ if ends_cell => start,
            _ => State::Unquoted,
        };
        self.out.extend(std::iter::repeat_n(b' ', self.held));
        self.held = 0;
        self.out.push(byte);
    }

    /// Refills `out` from the inner reader; false at its end with nothing left.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        let read = self.inner.read(&mut self.scratch)?;
        if read == 0 {
            self.at_end = true;
            self.out.extend(std::iter::repeat_n(b' ', self.held));
            self.held = 0;
            return Ok(!self.out.is_empty());
        }
        let scratch = std::mem::take(&mut self.scratch);
        let mut rest = &scratch[..read];
        while !rest.is_empty() {
            let span = self.pass_span(rest);
            if let Some(&byte) = rest.get(span) {
                self.push(byte);
                rest = &rest[span + 1..];
            } else {
                rest = &[];
            }
        }
        self.scratch = scratch;
        Ok(true)
    }

    /// Copies the bytes at the start of `rest` that cannot change the state (the inside of a
    /// cell up to the next delimiter, quote or line break) in one go; returns how many.
    fn pass_span(&mut self, rest: &[u8]) -> usize {
        let span = match self.state {
            State::Unquoted => memchr::memchr3(self.delimiter, b'\n', b'\r', rest),
            State::Quoted => memchr::memchr3(b'"', b'\n', b'\r', rest),
            State::CellStart { .. } | State::QuoteInQuoted => return 0,
        }
        .unwrap_or(rest.len());
        if span > 0 && self.state == State::Quoted {
            self.spans_lines |= self.after_break;
            self.after_break = false;
        }
        self.out.extend_from_slice(&rest[..span]);
        span
    }
}

impl<R: Read> Read for TightQuotes<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let count = buf.len().min(self.out.len() - self.pos);
        buf[..count].copy_from_slice(&self.out[self.pos..self.pos + count]);
        self.pos += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tight(input: &[u8], delimiter: u8) -> Vec<u8> {
        let mut out = Vec::new();
        TightQuotes::new(input, delimiter)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn blanks_before_quotes_go_and_the_rest_stays() {
        assert_eq!(
            tight(b"\"a\", \"b,c\",  d, \"e\"\n", b','),
            b"\"a\",\"b,c\",  d,\"e\"\n"
        );
        // Inside quotes (also after a doubled quote) nothing changes.
        assert_eq!(
            tight(b"\"x \"\"a\"\", \"\"b\"\"\", \"y\"", b','),
            b"\"x \"\"a\"\", \"\"b\"\"\",\"y\""
        );
        assert_eq!(tight(b"a;  \"b\"", b';'), b"a;\"b\"");
        assert_eq!(tight(b"a,   ", b','), b"a,   ");
    }

    fn ends_in_quotes(input: &[u8]) -> bool {
        let mut reader = TightQuotes::new(input, b',');
        reader.read_to_end(&mut Vec::new()).unwrap();
        reader.ended_in_quotes()
    }

    #[test]
    fn an_unclosed_quote_is_told_from_quotes_inside_text() {
        assert!(ends_in_quotes(b"a,\"never closed\nb,c\n"));
        assert!(
            !ends_in_quotes(b"a, \"never closed"),
            "nothing after it is lost"
        );
        assert!(ends_in_quotes(b"a, \"never closed\r\nb"));
        assert!(
            !ends_in_quotes(b"a,O\"Brien\nb,c\n"),
            "a quote inside a cell is text"
        );
        assert!(!ends_in_quotes(b"a,\"closed \"\"twice\"\"\"\n"));
        assert!(!ends_in_quotes(b"a,\"closed\"x\n"));
        assert!(!ends_in_quotes(b""));
        assert!(!ends_in_quotes(b"a,\"only the last line break\n"));
    }

    proptest! {
        /// Only spaces are ever dropped, and text without a quote passes unchanged (the
        /// 3-byte reads cross every boundary).
        #[test]
        fn only_spaces_before_quotes_are_dropped(input in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b' '), Just(b'"'), Just(b'\n'), Just(b'x')], 0..200)) {
            let mut out = Vec::new();
            let mut reader = TightQuotes::new(input.as_slice(), b',');
            reader.scratch = vec![0; 3];
            reader.read_to_end(&mut out).unwrap();
            let strip = |v: &[u8]| v.iter().copied().filter(|&b| b != b' ').collect::<Vec<u8>>();
            prop_assert_eq!(strip(&out), strip(&input));
            if !input.contains(&b'"') {
                prop_assert_eq!(out, input);
            }
        }
    }
}
