//! CSV feeds with a header row. Header names map to attributes through the aliases in
//! `fields` (`value`/`indicator`/`ioc`, `type`, `score`, `confidence`, `tags`/`labels`,
//! `description`, `valid_until`/`expiration`, ...) or through [`Columns`](crate::Columns)
//! overrides. The delimiter (`,`, tab, `;` or `|`) is taken from the first line that is not a
//! `#` comment. Rows are read one at a time; a bad row is reported with its line number and
//! reading goes on.
//!
//! Rows whose first cell starts with `#` are comments. Public feeds (abuse.ch URLhaus, Feodo
//! Tracker, ThreatFox, MalwareBazaar) put their header in the last comment before the data
//! (`# id,dateadded,url,...`): a comment that names a value column is the header, and the row
//! after it is data even when one of its cells looks like a column name (ThreatFox's
//! `ioc_type` cell says `domain` or `url`). The first row is the header only when no comment
//! reads as one, or when it repeats a header (its value cell is a value-column name). Blanks between a delimiter and a quote are dropped before
//! parsing (`quotes`: ThreatFox writes `"a", "b,c"`) and cells are trimmed.

mod quotes;

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use self::quotes::TightQuotes;
use crate::fields::Field;
use crate::record::{Cell, Row};
use crate::{FeedError, FeedReader, Location, Options, Record, Source};

pub(crate) fn reader<'a>(
    mut input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    let delimiter = sniff_delimiter(input.fill_buf().unwrap_or_default());
    let csv = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(TightQuotes::new(input, delimiter));
    FeedReader::new(CsvSource {
        csv,
        origin,
        options,
        columns: None,
        commented_header: None,
        record: ::csv::ByteRecord::new(),
        last_line: 0,
    })
}

/// The most frequent of `,`, tab, `;` and `|` on the first line that is not a comment (a comma
/// when none occurs).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut lines = head.split(|&b| b == b'\n');
    let first_line = lines
        .clone()
        .find(|line| !line.trim_ascii().is_empty() && !line.trim_ascii().starts_with(b"#"))
        .or_else(|| lines.next())
        .unwrap_or_default();
    [b',', b'\t', b';', b'|']
        .into_iter()
        .map(|d| (first_line.iter().filter(|&&b| b == d).count(), d))
        .filter(|&(count, _)| count > 0)
        .max_by_key(|&(count, d)| (count, d == b','))
        .map_or(b',', |(_, d)| d)
}

/// Column index → (attribute, header name).
type ColumnMap = Vec<Option<(Field, String)>>;

struct CsvSource<R> {
    csv: ::csv::Reader<TightQuotes<R>>,
    origin: Arc<str>,
    options: Options,
    /// Column index → (attribute, header name), once the header is read.
    columns: Option<ColumnMap>,
    /// The last comment before the data that reads as a header.
    commented_header: Option<ColumnMap>,
    record: ::csv::ByteRecord,
    /// The line the last record started on.
    last_line: u64,
}

impl<R: std::io::Read> CsvSource<R> {
    fn line(&self) -> Location {
        Location::Line(self.record.position().map_or(0, ::csv::Position::line))
    }

    /// Maps the header row; fails when no column holds the value.
    fn read_header(&self) -> Result<ColumnMap, String> {
        let names: Vec<String> = self
            .record
            .iter()
            .map(|raw| header_name(&String::from_utf8_lossy(raw)))
            .collect();
        let mut best: Vec<(Field, usize, usize)> = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let Some((field, rank)) = self.options.columns.field_for(name) else {
                continue;
            };
            match best.iter_mut().find(|(f, _, _)| *f == field) {
                Some(entry) if rank < entry.1 => *entry = (field, rank, index),
                Some(_) => {}
                None => best.push((field, rank, index)),
            }
        }
        if !best.iter().any(|(f, _, _)| *f == Field::Value) {
            let wanted = self
                .options
                .columns
                .value
                .as_deref()
                .map_or_else(|| "a value column".to_owned(), |v| format!("column `{v}`"));
            return Err(format!(
                "the header ({}) has no {wanted}; name it with --csv-value-column \
                 (known names: value, indicator, ioc, observable)",
                names.join(", ")
            ));
        }
        let mut columns = vec![None; names.len()];
        for (field, _, index) in best {
            columns[index] = Some((field, names[index].clone()));
        }
        Ok(columns)
    }

    /// A quote left open swallows every later line into one cell; the CSV parser takes that
    /// silently, so the row where it opened is reported.
    fn report_open_quote(&self, out: &mut VecDeque<Record>) {
        if self.csv.get_ref().ended_in_quotes() {
            out.push_back(Err(FeedError::invalid(
                &self.origin,
                Location::Line(self.last_line),
                "a quote opened in this row is never closed: every line after it was read as \
                 part of one cell",
            )));
        }
    }

    /// The columns, from the commented header before this row or from this row, and whether
    /// this row was the header. A commented header wins: abuse.ch dumps put theirs there, and
    /// their first data row may well hold a cell that names a column (ThreatFox's `ioc_type`
    /// says `domain`, `url` or `sha256_hash`). Only a row that repeats a header (its cell in
    /// the value column is itself a value-column name) is taken as the header then. Without a
    /// commented header the first row is the header. `None` (after reporting why) when there
    /// is none.
    fn header(&mut self, out: &mut VecDeque<Record>) -> Option<(ColumnMap, bool)> {
        if let Some(commented) = self.commented_header.take() {
            return Some(match self.read_header() {
                Ok(plain) if self.repeats_header(&commented) => (plain, true),
                _ => (commented, false),
            });
        }
        match self.read_header() {
            Ok(columns) => Some((columns, true)),
            Err(reason) => {
                out.push_back(Err(FeedError::invalid(&self.origin, self.line(), reason)));
                None
            }
        }
    }

    /// Whether this row's cell in `columns`' value column names a value column, as a header
    /// row under a commented one does (`# value,type` then `indicator,type`); a data row holds
    /// an indicator there.
    fn repeats_header(&self, columns: &[Option<(Field, String)>]) -> bool {
        let value_column = columns
            .iter()
            .position(|c| matches!(c, Some((Field::Value, _))));
        value_column
            .and_then(|index| self.record.get(index))
            .map(|raw| header_name(&String::from_utf8_lossy(raw)))
            .and_then(|name| self.options.columns.field_for(&name))
            .is_some_and(|(field, _)| field == Field::Value)
    }

    fn row(&self, columns: &[Option<(Field, String)>], out: &mut VecDeque<Record>) {
        let mut row = Row::default();
        for (raw, column) in self.record.iter().zip(columns) {
            let Some((field, name)) = column else {
                continue;
            };
            match std::str::from_utf8(raw) {
                Ok(text) => row.set(*field, name, Cell::Text(text.trim())),
                Err(_) => {
                    out.push_back(Err(FeedError::invalid(
                        &self.origin,
                        self.line(),
                        format!("column `{name}` is not valid UTF-8"),
                    )));
                    return;
                }
            }
        }
        row.finish(&self.origin, self.line(), &self.options.defaults, out);
    }
}

impl<R: std::io::Read> Source for CsvSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.report_open_quote(out);
                return None;
            }
            Ok(true) => {
                self.last_line = self.record.position().map_or(0, ::csv::Position::line);
            }
            Err(err) => {
                let location = err
                    .position()
                    .map_or(Location::Document, |p| Location::Line(p.line()));
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    location,
                    err.to_string(),
                )));
                return None;
            }
        }
        if is_blank(&self.record) {
            return Some(0);
        }
        if is_comment(&self.record) {
            if self.columns.is_none() {
                self.commented_header = self.read_header().ok().or(self.commented_header.take());
            }
            return Some(0);
        }
        let columns = match self.columns.take() {
            Some(columns) => columns,
            None => {
                let (header, consumed) = self.header(out)?;
                if consumed {
                    self.columns = Some(header);
                    return Some(0);
                }
                header
            }
        };
        self.row(&columns, out);
        self.columns = Some(columns);
        Some(1)
    }
}

fn is_comment(record: &::csv::ByteRecord) -> bool {
    record
        .get(0)
        .is_some_and(|first| first.trim_ascii_start().starts_with(b"#"))
}

/// A header cell as a name: a commented header's `#` and the quotes the parser kept after it
/// (`# "first_seen_utc","ioc_id"`) are not part of it.
fn header_name(cell: &str) -> String {
    let name = cell.trim().trim_start_matches('#').trim();
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name)
        .trim()
        .to_owned()
}

fn is_blank(record: &::csv::ByteRecord) -> bool {
    record.iter().all(|field| field.trim_ascii().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_comes_from_the_header_line() {
        assert_eq!(sniff_delimiter(b"value,type,tags\n1;2;3"), b',');
        assert_eq!(sniff_delimiter(b"value\ttype\n"), b'\t');
        assert_eq!(sniff_delimiter(b"value;type;tags\n"), b';');
        assert_eq!(sniff_delimiter(b"value\n"), b',');
        assert_eq!(sniff_delimiter(b""), b',');
        assert_eq!(sniff_delimiter(b"# a,b,c\n#\nvalue;type\n"), b';');
        assert_eq!(sniff_delimiter(b"#####\n"), b',');
    }

    #[test]
    fn header_names_lose_comment_marks_and_kept_quotes() {
        assert_eq!(header_name("# \"first_seen_utc\""), "first_seen_utc");
        assert_eq!(header_name("#id"), "id");
        assert_eq!(header_name(" Valid Until "), "Valid Until");
        assert_eq!(header_name("\""), "\"");
    }
}
