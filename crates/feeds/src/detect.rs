//! Picking a feed's format from its name and first bytes, when the user gives no `--format`.
//!
//! Unambiguous extensions decide (`.csv`/`.tsv`, `.jsonl`/`.ndjson`, `.txt`/`.list`);
//! otherwise the content does: a JSON document with STIX markers (`"type": "bundle"`,
//! `"spec_version"`, `"objects"`) is STIX, a MISP `restSearch` attribute answer
//! (`{"response": {"Attribute": ...`) is MISP API, one with MISP markers (`"Event"`, `"response"`) is
//! MISP, one whose first line is a whole JSON object is JSON lines; a first line with a
//! delimiter and a known value column is CSV; anything else is plain text.

use std::io::{self, Read};

use crate::fields::Field;
use crate::{Columns, Format};

/// How much of a feed is read to detect its format.
pub const HEAD_BYTES: usize = 16 * 1024;

/// Reads up to [`HEAD_BYTES`] from `input` (fewer only at the end of input). Chain the head
/// back in front of the rest (`Cursor::new(head).chain(input)`) to read the whole feed.
pub fn read_head(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    input.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The format of a feed named `name` (a path or URL) whose first bytes are `head`.
pub fn detect(name: &str, head: &[u8], columns: &Columns) -> Format {
    let name = name.to_ascii_lowercase();
    let path = name.split(['?', '#']).next().unwrap_or_default();
    if path.ends_with(".csv") || path.ends_with(".tsv") {
        return Format::Csv;
    }
    if path.ends_with(".jsonl") || path.ends_with(".ndjson") {
        return Format::Jsonl;
    }
    if path.ends_with(".txt") || path.ends_with(".list") || path.ends_with(".lst") {
        return Format::Text;
    }
    sniff(head, columns)
}

fn sniff(head: &[u8], columns: &Columns) -> Format {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let has = |marker: &str| text.contains(marker);
    match text.as_bytes().first() {
        Some(b'{') if is_misp_api(text) => Format::MispApi,
        Some(b'{') if has("\"Event\"") || has("\"response\"") => Format::Misp,
        Some(b'{') if has("\"bundle\"") || has("\"spec_version\"") || has("\"objects\"") => {
            Format::Stix
        }
        Some(b'{') if first_line_is_object(text) => Format::Jsonl,
        Some(b'{') => Format::Stix,
        Some(b'[') if has("\"Event\"") || has("\"info\"") => Format::Misp,
        Some(b'[') => Format::Stix,
        _ if looks_like_csv(text, columns) => Format::Csv,
        _ => Format::Text,
    }
}

/// An `attributes/restSearch` answer: `{"response": {"Attribute": ...` (any spacing).
fn is_misp_api(text: &str) -> bool {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(32)
        .collect();
    compact.starts_with(r#"{"response":{"Attribute""#) || compact.starts_with(r#"{"Attribute":["#)
}

fn first_line_is_object(text: &str) -> bool {
    let line = text.lines().next().unwrap_or_default();
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line).is_ok()
}

/// A first non-comment line that splits on a delimiter and names a value column, or a comment
/// before it that does (public feeds comment their header out) when that line has at least as
/// many cells.
fn looks_like_csv(text: &str, columns: &Columns) -> bool {
    let mut commented = None;
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some(comment) = line.strip_prefix('#') else {
            return names_a_value_column(line, columns)
                || commented.is_some_and(|cells| cell_count(line) >= cells);
        };
        if names_a_value_column(comment, columns) {
            commented = Some(cell_count(comment));
        }
    }
    false
}

/// The delimiters a CSV feed may use.
const DELIMITERS: [char; 4] = [',', '\t', ';', '|'];

fn names_a_value_column(header: &str, columns: &Columns) -> bool {
    header.contains(DELIMITERS)
        && header
            .split(DELIMITERS)
            .map(|name| name.trim().trim_matches('"'))
            .any(|name| matches!(columns.field_for(name), Some((Field::Value, _))))
}

fn cell_count(line: &str) -> usize {
    line.split(DELIMITERS).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(name: &str, head: &str) -> Format {
        detect(name, head.as_bytes(), &Columns::default())
    }

    #[test]
    fn extensions_decide_when_unambiguous() {
        assert_eq!(guess("feed.CSV", "anything"), Format::Csv);
        assert_eq!(
            guess("https://x.example/f.ndjson?key=1", "{}"),
            Format::Jsonl
        );
        assert_eq!(guess("list.txt", "value,type"), Format::Text);
    }

    #[test]
    fn content_decides_otherwise() {
        assert_eq!(
            guess(
                "b.json",
                "{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--1\""
            ),
            Format::Stix
        );
        assert_eq!(
            guess("-", "\u{feff}  {\"Event\": {\"info\": \"x\"}}"),
            Format::Misp
        );
        assert_eq!(guess("e.json", "[{\"Event\": {}}]"), Format::Misp);
        assert_eq!(
            guess("f", "{\"value\": \"198.51.100.1\"}\n{\"value\": \"x\"}\n"),
            Format::Jsonl
        );
        assert_eq!(
            guess("f", "# comment\nindicator,type,score\n1.2.3.4,ip,5\n"),
            Format::Csv
        );
        assert_eq!(guess("f", "198.51.100.1\nevil[.]example\n"), Format::Text);
        assert_eq!(
            guess(
                "f",
                "####\n# id,dateadded,url\n\"1\",\"2026-01-01\",\"http://x.example/\"\n"
            ),
            Format::Csv
        );
        assert_eq!(
            guess("f", "# blocked ip,domain\n198.51.100.1\nevil.example\n"),
            Format::Text
        );
        assert_eq!(guess("f", "http://a.example/?q=1,2\n"), Format::Text);
        assert_eq!(guess("f", ""), Format::Text);
    }

    #[test]
    fn read_head_stops_at_the_limit_and_keeps_the_rest() {
        let data = vec![b'x'; HEAD_BYTES + 10];
        let mut input = data.as_slice();
        let head = read_head(&mut input).unwrap();
        assert_eq!(head.len(), HEAD_BYTES);
        assert_eq!(input.len(), 10);
    }
}
