//! Feed readers: turn threat-intelligence feeds into [`Sighting`]s for the library.
//!
//! Every reader has the same shape: it takes a [`BufRead`], the feed's name and [`Options`]
//! (default score, tags, class, source name, column names) and yields a [`FeedReader`], an
//! iterator of `Result<Sighting, FeedError>`. A bad record is an `Err` naming the file and
//! line (or object id) and the reason, and reading goes on with the next record; only a
//! document that cannot be read further (truncated JSON, an I/O error) ends the stream early,
//! with the error as its last item. Readers stream: memory stays flat however large the feed
//! (one line, one CSV row, one STIX object or one MISP event at a time).
//!
//! Formats, one module each: [`text`] (one indicator a line), [`csv`], [`jsonl`] (JSON lines),
//! [`stix`] (STIX 2.1 bundles, with the pattern language in [`stix::pattern`]), [`misp`]
//! (MISP event JSON), [`misp_api`] (MISP `attributes/restSearch` answers, and a client that
//! pages through them). [`detect`](mod@detect) picks a format from the file name and the first bytes;
//! [`fetch`] downloads `https://` feeds; [`taxii`] polls TAXII 2.1 collections page by page,
//! leaving the cursor to the caller so it is saved only once the data is committed.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod csv;
pub mod detect;
mod error;
pub mod fetch;
mod fields;
mod json;
mod json_split;
pub mod jsonl;
mod lines;
pub mod misp;
pub mod misp_api;
mod record;
pub mod stix;
pub mod taxii;
pub mod text;
mod time;

use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use store::{Class, Sighting};

pub use detect::detect;
pub use error::{FeedError, Location, Severity};
pub use fields::Columns;

/// One item of a feed: a sighting, or a problem with one record.
pub type Record = Result<Sighting, FeedError>;

/// Values applied to every sighting of a feed unless the record gives its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// Name of the feed in the library (`--source`).
    pub source: String,
    /// Score for records without one (`--score`), 0–10.
    pub score: Option<u8>,
    /// Tags added to every record (`--tag`), before the record's own.
    pub tags: Vec<String>,
    /// Class of every record (`--class`).
    pub class: Class,
    /// `seen_at` for records that carry no time of their own (normally the import time).
    pub now: DateTime<Utc>,
}

impl Defaults {
    /// Defaults for a source: no score, no tags, class indicator, seen now.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            score: None,
            tags: Vec::new(),
            class: Class::Indicator,
            now: Utc::now(),
        }
    }
}

/// Everything a reader needs besides its input.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub defaults: Defaults,
    /// Column (CSV) and key (JSON lines) names that override the built-in aliases.
    pub columns: Columns,
}

impl Options {
    pub fn new(defaults: Defaults) -> Self {
        Self {
            defaults,
            columns: Columns::default(),
        }
    }
}

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One indicator a line; `#` comments.
    Text,
    /// CSV with a header row.
    Csv,
    /// One JSON object a line.
    Jsonl,
    /// A STIX 2.1 bundle.
    Stix,
    /// MISP event JSON.
    Misp,
    /// A MISP `attributes/restSearch` answer (`{"response": {"Attribute": [...]}}`).
    MispApi,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Csv,
        Format::Jsonl,
        Format::Stix,
        Format::Misp,
        Format::MispApi,
    ];

    /// The name used by `--format` and in summaries.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Stix => "stix",
            Format::Misp => "misp",
            Format::MispApi => "misp-api",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feed format `{0}` (expected one of text, csv, jsonl, stix, misp, misp-api)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts the names of [`Format::as_str`] and the common aliases `txt`, `ndjson`,
    /// `json-lines`, `stix2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" | "plain" => Ok(Format::Text),
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json-lines" => Ok(Format::Jsonl),
            "stix" | "stix2" | "stix21" => Ok(Format::Stix),
            "misp" => Ok(Format::Misp),
            "misp-api" | "mispapi" | "misp-rest" => Ok(Format::MispApi),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Opens a reader for `input` in `format`. `origin` names the feed in error messages.
pub fn open<'a>(
    format: Format,
    origin: &str,
    input: impl BufRead + 'a,
    options: Options,
) -> FeedReader<'a> {
    let origin: Arc<str> = Arc::from(origin);
    match format {
        Format::Text => text::reader(input, origin, options),
        Format::Csv => csv::reader(input, origin, options),
        Format::Jsonl => jsonl::reader(input, origin, options),
        Format::Stix => stix::reader(input, origin, options),
        Format::Misp => misp::reader(input, origin, options),
        Format::MispApi => misp_api::reader(input, origin, options),
    }
}

/// A format's record-by-record reading, driven by [`FeedReader`].
trait Source {
    /// Reads the next record (or group of records, such as a MISP event) and pushes what it
    /// yields to `out`. Returns how many records it read, or `None` at the end of the feed.
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64>;
}

/// The iterator every reader returns: sightings and per-record problems, in feed order.
pub struct FeedReader<'a> {
    source: Box<dyn Source + 'a>,
    pending: VecDeque<Record>,
    records: u64,
    done: bool,
}

impl<'a> FeedReader<'a> {
    fn new(source: impl Source + 'a) -> Self {
        Self {
            source: Box::new(source),
            pending: VecDeque::new(),
            records: 0,
            done: false,
        }
    }

    /// Records read so far: lines with a value, CSV rows, JSON objects, STIX indicators and
    /// observables, MISP attributes (comments, blank lines and unrelated objects not counted).
    /// One record can give several sightings (an address range, a MISP `domain|ip`).
    pub fn records(&self) -> u64 {
        self.records
    }
}

impl Iterator for FeedReader<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            match self.source.fill(&mut self.pending) {
                Some(read) => self.records += read,
                None => self.done = true,
            }
        }
    }
}
