//! JSON lines: one JSON object a line, with the same field names as CSV columns (`value`,
//! `type`, `score`, `confidence`, `tags` as a list or a `;`-separated string, `description`,
//! `valid_until`, ...). Numbers may be JSON numbers or strings, times RFC 3339 strings or
//! epoch seconds. Each line stands alone: a broken line is reported and the next one read.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use serde_json::Value;

use crate::json;
use crate::lines::{Lines, Next, next_text};
use crate::record::{Cell, Row};
use crate::{FeedError, FeedReader, Options, Record, Source};

pub(crate) fn reader<'a>(
    input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    FeedReader::new(JsonlSource {
        lines: Lines::new(input),
        origin,
        options,
    })
}

struct JsonlSource<R> {
    lines: Lines<R>,
    origin: Arc<str>,
    options: Options,
}

impl<R: BufRead> Source for JsonlSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        let (location, text) = match next_text(&mut self.lines, &self.origin, out) {
            Next::End => return None,
            Next::Reported => return Some(1),
            Next::Text(location, text) => (location, text),
        };
        if text.trim().is_empty() {
            return Some(0);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(object)) => {
                let mut row = Row::default();
                for (key, value) in &object {
                    if let Some((field, _)) = self.options.columns.field_for(key) {
                        row.set(field, key, cell(value));
                    }
                }
                row.finish(&self.origin, location, &self.options.defaults, out);
            }
            Ok(other) => out.push_back(Err(FeedError::invalid(
                &self.origin,
                location,
                format!("expected a JSON object, found {}", json::type_name(&other)),
            ))),
            Err(err) => out.push_back(Err(FeedError::invalid(
                &self.origin,
                location,
                format!("not valid JSON: {err}"),
            ))),
        }
        Some(1)
    }
}

/// A JSON value as a cell.
fn cell(value: &Value) -> Cell<'_> {
    match value {
        Value::String(s) => Cell::Text(s),
        Value::Number(n) => n.as_f64().map_or(Cell::Other("a number"), Cell::Number),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Array(items) => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
            .map_or(Cell::Other("a list of non-text items"), Cell::List),
        Value::Null => Cell::Null,
        Value::Object(_) => Cell::Other("an object"),
    }
}
