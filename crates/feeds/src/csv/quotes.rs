//! Blanks between a delimiter and an opening quote. The CSV parser (the `csv` crate, like RFC
//! 4180) sees a quote only as a cell's first byte, so in `a, "b,c"` it splits inside the quotes
//! and keeps them. ThreatFox writes every row that way. [`TightQuotes`] drops those blanks as
//! the bytes stream by, so the parser sees `a,"b,c"`; every other byte passes unchanged.

use std::io::{self, Read};

/// A reader that drops the spaces between a delimiter and an opening quote, outside quotes.
pub(super) struct TightQuotes<R> {
    inner: R,
    delimiter: u8,
    in_quotes: bool,
    after_delimiter: bool,
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
            in_quotes: false,
            after_delimiter: false,
            held: 0,
            out: Vec::new(),
            pos: 0,
            scratch: vec![0; 8 * 1024],
        }
    }

    fn push(&mut self, byte: u8) {
        if self.in_quotes {
            // A doubled quote inside quotes leaves and re-enters: the state stays right.
            self.in_quotes = byte != b'"';
            self.out.push(byte);
            return;
        }
        if self.after_delimiter && byte == b' ' {
            self.held += 1;
            return;
        }
        if byte != b'"' {
            self.out.extend(std::iter::repeat_n(b' ', self.held));
        }
        self.held = 0;
        self.after_delimiter = byte == self.delimiter;
        self.in_quotes = byte == b'"';
        self.out.push(byte);
    }

    /// Refills `out` from the inner reader; false at its end with nothing left.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        let read = self.inner.read(&mut self.scratch)?;
        if read == 0 {
            self.out.extend(std::iter::repeat_n(b' ', self.held));
            self.held = 0;
            return Ok(!self.out.is_empty());
        }
        let scratch = std::mem::take(&mut self.scratch);
        for &byte in &scratch[..read] {
            self.push(byte);
        }
        self.scratch = scratch;
        Ok(true)
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
