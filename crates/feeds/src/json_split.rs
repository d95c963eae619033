//! Streams the elements of the big array in a JSON document (a STIX bundle's `objects`, a MISP
//! `response` or top-level list, a MISP API answer's `response.Attribute`) one at a time, as raw bytes with the line each starts on, so a
//! document of any size is read with memory bounded by its largest element. Members other than
//! the wanted ones are skipped without being kept. Each element is then parsed by serde_json,
//! so one malformed element is reported alone; a document whose structure breaks (truncated,
//! unbalanced) ends the stream with an error naming the line.

use std::io::{self, BufRead};

/// Largest element kept, in bytes; a larger one is skipped and reported.
pub(crate) const MAX_ELEMENT: usize = 16 * 1024 * 1024;

/// One element of a wanted array (or a wanted member that is not an array).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Element {
    /// The member it was found under; `None` for a top-level array.
    pub key: Option<&'static str>,
    /// Line of its first byte (1-based).
    pub line: u64,
    /// Its bytes, or `Err(size)` when it was larger than [`MAX_ELEMENT`].
    pub bytes: Result<Vec<u8>, usize>,
}

/// Why the document cannot be read further.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SplitError {
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Inside the top-level object; `first` until a member has been read.
    Object {
        first: bool,
    },
    /// Inside a wanted array.
    Array {
        key: Option<&'static str>,
        first: bool,
    },
    Done,
}

pub(crate) struct Splitter<R> {
    input: R,
    line: u64,
    wanted: &'static [&'static str],
    state: State,
    /// The members of nested objects entered on the way to a wanted path (`response`).
    path: Vec<String>,
}

impl<R: BufRead> Splitter<R> {
    /// Splits the arrays found under the top-level members named in `wanted` (or the
    /// top-level array itself). A name may be a dotted path (`response.Attribute`): the
    /// objects on the way are entered, their other members skipped.
    pub(crate) fn new(input: R, wanted: &'static [&'static str]) -> Self {
        Self {
            input,
            line: 1,
            wanted,
            state: State::Start,
            path: Vec::new(),
        }
    }

    /// The next element, `Ok(None)` at the end of the document.
    pub(crate) fn next_element(&mut self) -> Result<Option<Element>, SplitError> {
        let result = self.advance();
        if !matches!(result, Ok(Some(_))) {
            self.state = State::Done;
        }
        result
    }

    fn advance(&mut self) -> Result<Option<Element>, SplitError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => match self.skip_ws()? {
                    Some(b'{') => {
                        self.bump()?;
                        self.state = State::Object { first: true };
                    }
                    Some(b'[') => {
                        self.bump()?;
                        self.state = State::Array {
                            key: None,
                            first: true,
                        };
                    }
                    Some(_) => return Err(self.syntax("expected a JSON object or array")),
                    None => return Err(self.syntax("the document is empty")),
                },
                State::Object { first } => {
                    if let Some(element) = self.object_member(first)? {
                        return Ok(Some(element));
                    }
                }
                State::Array { key, first } => {
                    if let Some(element) = self.array_element(key, first)? {
                        return Ok(Some(element));
                    }
                }
            }
        }
    }

    /// Reads one member of the top-level object: enters a wanted array, returns a wanted
    /// non-array value, skips anything else.
    fn object_member(&mut self, first: bool) -> Result<Option<Element>, SplitError> {
        if self.skip_ws()? == Some(b'}') {
            self.bump()?;
            if self.path.pop().is_some() {
                self.state = State::Object { first: false };
                return Ok(None);
            }
            self.expect_end()?;
            self.state = State::Done;
            return Ok(None);
        }
        if !first {
            self.expect(b',', "expected `,` or `}` after an object member")?;
            self.skip_ws()?;
        }
        let key = self.read_key()?;
        self.skip_ws()?;
        self.expect(b':', "expected `:` after a member name")?;
        self.state = State::Object { first: false };
        let full = self.full_name(&key);
        let wanted = self.wanted.iter().copied().find(|w| *w == full);
        let on_the_way = self.wanted.iter().any(|w| {
            w.strip_prefix(full.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        });
        match (wanted, self.skip_ws()?) {
            (None, Some(b'{')) if on_the_way => {
                self.bump()?;
                self.path.push(full);
                self.state = State::Object { first: true };
                Ok(None)
            }
            (Some(key), Some(b'[')) => {
                self.bump()?;
                self.state = State::Array {
                    key: Some(key),
                    first: true,
                };
                Ok(None)
            }
            (Some(key), _) => self.element(Some(key)).map(Some),
            (None, _) => {
                self.value(None)?;
                Ok(None)
            }
        }
    }

    /// The dotted path of member `key` of the current object.
    fn full_name(&self, key: &[u8]) -> String {
        let key = String::from_utf8_lossy(key);
        match self.path.last() {
            Some(parent) => format!("{parent}.{key}"),
            None => key.into_owned(),
        }
    }

    fn array_element(
        &mut self,
        key: Option<&'static str>,
        first: bool,
    ) -> Result<Option<Element>, SplitError> {
        if self.skip_ws()? == Some(b']') {
            self.bump()?;
            self.state = match key {
                None => {
                    self.expect_end()?;
                    State::Done
                }
                Some(_) => State::Object { first: false },
            };
            return Ok(None);
        }
        if !first {
            self.expect(b',', "expected `,` or `]` between array elements")?;
            self.skip_ws()?;
        }
        self.state = State::Array { key, first: false };
        self.element(key).map(Some)
    }

    fn element(&mut self, key: Option<&'static str>) -> Result<Element, SplitError> {
        let line = self.line;
        let mut bytes = Vec::new();
        let size = self.value(Some(&mut bytes))?;
        let bytes = if size > MAX_ELEMENT {
            Err(size)
        } else {
            Ok(bytes)
        };
        Ok(Element { key, line, bytes })
    }

    /// Reads one JSON value, copying it to `out` up to [`MAX_ELEMENT`] bytes; returns its
    /// size. Checks brackets balance and strings close; serde_json checks the rest.
    fn value(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<usize, SplitError> {
        let mut closers: Vec<u8> = Vec::new();
        let mut size = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let Some(byte) = self.peek()? else {
                return Err(self.syntax("the document ends in the middle of a value (truncated?)"));
            };
            let at_top = closers.is_empty() && !in_string;
            if at_top && size > 0 && is_scalar_end(byte) {
                return Ok(size);
            }
            self.bump()?;
            size += 1;
            if let Some(out) = out.as_deref_mut() {
                if size <= MAX_ELEMENT {
                    out.push(byte);
                } else if !out.is_empty() {
                    *out = Vec::new();
                }
            }
            if in_string {
                match (escaped, byte) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else {
                match byte {
                    b'"' => in_string = true,
                    b'{' => closers.push(b'}'),
                    b'[' => closers.push(b']'),
                    b'}' | b']' if closers.pop() != Some(byte) => {
                        return Err(self.syntax(&format!("unexpected `{}`", byte as char)));
                    }
                    b',' | b':' if closers.is_empty() => {
                        return Err(self.syntax(&format!("unexpected `{}`", byte as char)));
                    }
                    _ => {}
                }
            }
            if closers.is_empty() && !in_string && matches!(byte, b'"' | b'}' | b']') {
                return Ok(size);
            }
        }
    }

    /// A member name, as raw bytes between the quotes (wanted names have no escapes).
    fn read_key(&mut self) -> Result<Vec<u8>, SplitError> {
        if self.peek()? != Some(b'"') {
            return Err(self.syntax("expected a member name in double quotes"));
        }
        let mut raw = Vec::new();
        self.value(Some(&mut raw))?;
        Ok(raw
            .get(1..raw.len().saturating_sub(1))
            .unwrap_or_default()
            .to_vec())
    }

    fn expect(&mut self, byte: u8, message: &str) -> Result<(), SplitError> {
        if self.peek()? == Some(byte) {
            self.bump()?;
            Ok(())
        } else {
            Err(self.syntax(message))
        }
    }

    fn expect_end(&mut self) -> Result<(), SplitError> {
        match self.skip_ws()? {
            None => Ok(()),
            Some(_) => Err(self.syntax("unexpected data after the end of the document")),
        }
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, SplitError> {
        while let Some(byte) = self.peek()? {
            if !matches!(byte, b' ' | b'\t' | b'\r' | b'\n') {
                return Ok(Some(byte));
            }
            self.bump()?;
        }
        Ok(None)
    }

    fn peek(&mut self) -> Result<Option<u8>, SplitError> {
        loop {
            match self.input.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Consumes the byte `peek` returned.
    fn bump(&mut self) -> Result<(), SplitError> {
        if self.peek()? == Some(b'\n') {
            self.line += 1;
        }
        self.input.consume(1);
        Ok(())
    }

    fn syntax(&self, message: &str) -> SplitError {
        SplitError::Syntax {
            line: self.line,
            message: message.to_owned(),
        }
    }
}

/// Bytes that end a number or literal (`true`, `null`, `12`).
fn is_scalar_end(byte: u8) -> bool {
    matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each element as (key, line, text).
    type Items = Vec<(Option<&'static str>, u64, String)>;

    fn split(doc: &str, wanted: &'static [&'static str]) -> (Items, Option<String>) {
        let mut splitter = Splitter::new(doc.as_bytes(), wanted);
        let mut out = Vec::new();
        loop {
            match splitter.next_element() {
                Ok(Some(e)) => {
                    out.push((e.key, e.line, String::from_utf8(e.bytes.unwrap()).unwrap()))
                }
                Ok(None) => return (out, None),
                Err(err) => return (out, Some(err.to_string())),
            }
        }
    }

    #[test]
    fn yields_elements_of_the_wanted_array_with_their_lines() {
        let doc = "{\"type\": \"bundle\", \"id\": \"b\",\n \"objects\": [\n  {\"a\": \"x]}\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}, 7, \"s\", true\n ], \"z\": {\"k\": []}}\n";
        let (items, err) = split(doc, &["objects"]);
        assert_eq!(err, None);
        assert_eq!(
            items,
            [
                (Some("objects"), 3, "{\"a\": \"x]}\\\"\"}".to_owned()),
                (Some("objects"), 4, "{\"b\": [1, {\"c\": 2}]}".to_owned()),
                (Some("objects"), 4, "7".to_owned()),
                (Some("objects"), 4, "\"s\"".to_owned()),
                (Some("objects"), 4, "true".to_owned()),
            ]
        );
    }

    #[test]
    fn dotted_paths_enter_nested_objects_and_skip_the_rest() {
        let doc = "{\"response\": {\"count\": 2, \"Other\": {\"Attribute\": [9]},\n \"Attribute\": [{\"a\": 1},\n {\"b\": {}}], \"z\": null}, \"Attribute\": [8]}";
        let (items, err) = split(doc, &["response.Attribute"]);
        assert_eq!(err, None);
        assert_eq!(
            items,
            [
                (Some("response.Attribute"), 2, "{\"a\": 1}".to_owned()),
                (Some("response.Attribute"), 3, "{\"b\": {}}".to_owned()),
            ]
        );
        let (items, err) = split(
            "{\"response\": {\"Attribute\": [1]",
            &["response.Attribute"],
        );
        assert_eq!(items.len(), 1);
        assert!(err.is_some(), "a truncated answer is an error");
        let (items, err) = split("{\"response\": []}", &["response.Attribute"]);
        assert_eq!((items.len(), err), (0, None));
    }

    #[test]
    fn top_level_arrays_and_non_array_members_are_elements_too() {
        let (items, err) = split("[{\"Event\": {}}, {\"Event\": {\"x\": 1}}]", &[]);
        assert_eq!(err, None);
        assert_eq!(items.len(), 2);
        let (items, err) = split("{\"Event\": {\"info\": \"x\"}}", &["Event", "response"]);
        assert_eq!(err, None);
        assert_eq!(items, [(Some("Event"), 1, "{\"info\": \"x\"}".to_owned())]);
    }

    #[test]
    fn truncation_keeps_the_elements_before_it() {
        let (items, err) = split("{\"objects\": [{\"a\": 1},\n{\"b\": ", &["objects"]);
        assert_eq!(items.len(), 1);
        assert!(err.unwrap().contains("line 2"));
    }

    #[test]
    fn structural_errors_are_reported() {
        for doc in [
            "",
            "  ",
            "\"s\"",
            "{\"objects\": [1 2]}",
            "{\"a\" 1}",
            "{\"objects\": [}",
            "[1] x",
            "{\"a\": 1,}",
        ] {
            let (_, err) = split(doc, &["objects"]);
            assert!(err.is_some(), "{doc:?}");
        }
    }
}
