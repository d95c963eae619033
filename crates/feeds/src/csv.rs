//! CSV feeds with a header row. Header names map to attributes through the aliases in
//! `fields` (`value`/`indicator`/`ioc`, `type`, `score`, `confidence`, `tags`/`labels`,
//! `description`, `valid_until`/`expiration`, ...) or through [`Columns`](crate::Columns)
//! overrides. The delimiter (`,`, tab, `;` or `|`) is taken from the header line. Rows are
//! read one at a time; a bad row is reported with its line number and reading goes on.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

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
        .from_reader(input);
    FeedReader::new(CsvSource {
        csv,
        origin,
        options,
        columns: None,
        record: ::csv::ByteRecord::new(),
    })
}

/// The most frequent of `,`, tab, `;` and `|` on the first line (a comma when none occurs).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    [b',', b'\t', b';', b'|']
        .into_iter()
        .map(|d| (first_line.iter().filter(|&&b| b == d).count(), d))
        .filter(|&(count, _)| count > 0)
        .max_by_key(|&(count, d)| (count, d == b','))
        .map_or(b',', |(_, d)| d)
}

struct CsvSource<R> {
    csv: ::csv::Reader<R>,
    origin: Arc<str>,
    options: Options,
    /// Column index → (attribute, header name), once the header is read.
    columns: Option<Vec<Option<(Field, String)>>>,
    record: ::csv::ByteRecord,
}

impl<R: std::io::Read> CsvSource<R> {
    fn line(&self) -> Location {
        Location::Line(self.record.position().map_or(0, ::csv::Position::line))
    }

    /// Maps the header row; fails when no column holds the value.
    fn read_header(&self) -> Result<Vec<Option<(Field, String)>>, String> {
        let names: Vec<String> = self
            .record
            .iter()
            .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
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

    fn row(&self, columns: &[Option<(Field, String)>], out: &mut VecDeque<Record>) {
        let mut row = Row::default();
        for (raw, column) in self.record.iter().zip(columns) {
            let Some((field, name)) = column else {
                continue;
            };
            match std::str::from_utf8(raw) {
                Ok(text) => row.set(*field, name, Cell::Text(text)),
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
            Ok(false) => return None,
            Ok(true) => {}
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
        match self.columns.take() {
            None => match self.read_header() {
                Ok(columns) => {
                    self.columns = Some(columns);
                    Some(0)
                }
                Err(reason) => {
                    out.push_back(Err(FeedError::invalid(&self.origin, self.line(), reason)));
                    None
                }
            },
            Some(columns) => {
                self.row(&columns, out);
                self.columns = Some(columns);
                Some(1)
            }
        }
    }
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
    }
}
