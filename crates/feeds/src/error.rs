//! Problems a reader reports for one record (or, for a broken document, for the rest of it).
//! A problem never stops the stream by itself: readers yield it and go on with the next record,
//! except when the document can no longer be read (truncated JSON, an I/O error), where the
//! problem is the last item.

use std::fmt;
use std::sync::Arc;

/// Where in a feed a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line of a line-oriented feed, or the line where a JSON value starts (1-based).
    Line(u64),
    /// A JSON object (STIX object, MISP attribute), by its id, with the line where it starts
    /// when the reader knows it.
    Object { id: String, line: Option<u64> },
    /// The feed as a whole (unreadable, unknown format, ...).
    Document,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The record is broken: a value that is not an indicator, a wrong field type, bad syntax.
    /// Counted as invalid; `--strict` refuses the whole import.
    Invalid,
    /// The record is well formed but carries nothing to import (an `AND` pattern, a MISP
    /// attribute with `to_ids` false, an unsupported type). Counted, never an error.
    Skipped,
}

/// One problem with one record of a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FeedError {
    /// The feed's name as the user gave it (file path, URL, `-` for stdin).
    pub origin: Arc<str>,
    pub location: Location,
    pub severity: Severity,
    pub reason: String,
}

impl FeedError {
    pub fn invalid(origin: &Arc<str>, location: Location, reason: impl Into<String>) -> Self {
        Self {
            origin: Arc::clone(origin),
            location,
            severity: Severity::Invalid,
            reason: reason.into(),
        }
    }

    pub fn skipped(origin: &Arc<str>, location: Location, reason: impl Into<String>) -> Self {
        Self {
            origin: Arc::clone(origin),
            location,
            severity: Severity::Skipped,
            reason: reason.into(),
        }
    }

    pub fn is_invalid(&self) -> bool {
        self.severity == Severity::Invalid
    }
}

/// `file:line: reason`, `file:line: id: reason` or `file: reason`, the form compilers use so
/// editors can jump to the line.
impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let skipped = match self.severity {
            Severity::Skipped => "skipped: ",
            Severity::Invalid => "",
        };
        match &self.location {
            Location::Line(line) => write!(f, "{}:{line}: ", self.origin)?,
            Location::Object {
                id,
                line: Some(line),
            } => {
                write!(f, "{}:{line}: {id}: ", self.origin)?;
            }
            Location::Object { id, line: None } => write!(f, "{}: {id}: ", self.origin)?,
            Location::Document => write!(f, "{}: ", self.origin)?,
        }
        write!(f, "{skipped}{}", self.reason)
    }
}
