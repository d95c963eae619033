//! How an import or a pull tells its caller what goes wrong with single records, and how far
//! it got: the [`Problems`] trait. The library calls it for every invalid or skipped record
//! (and every sighting the library refused), for an input that could not be read, and for
//! progress; the caller decides what to show. `iocsync import` prints above its progress bar
//! and keeps an errors file; [`Quiet`] drops everything; [`Logged`] sends problems to
//! `tracing` (the daemon). A pull also keeps the first problems in its summary ([`Kept`]).

use std::io::Read;

use feeds::{FeedError, Severity};

use crate::Error;

/// A reporter that could not record a problem (an errors file that cannot be written).
/// Its message says what failed; the I/O error is its source.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct ReportError {
    what: String,
    #[source]
    source: std::io::Error,
}

impl ReportError {
    pub fn new(what: impl Into<String>, source: std::io::Error) -> Self {
        Self {
            what: what.into(),
            source,
        }
    }
}

/// Where the problems and the progress of an import or a pull go.
///
/// Inputs are read one after the other; for each, [`reading`](Self::reading) (a byte stream)
/// or [`polling`](Self::polling) (a TAXII collection) comes first and [`done`](Self::done)
/// last, with the input's problems in between.
pub trait Problems {
    /// A record that was invalid or skipped, or a sighting the library refused
    /// (`file:line: reason` when formatted). An error stops the input.
    fn problem(&mut self, problem: &FeedError) -> Result<(), ReportError>;

    /// An input that could not be read (the run goes on with the next one); what it gave
    /// before failing is kept.
    fn failed(&mut self, input: &str, error: &Error) {
        let _ = (input, error);
    }

    /// Every input has been read; only the final write (and its refusals) is left.
    fn finished(&mut self) -> Result<(), ReportError> {
        Ok(())
    }

    /// The bytes of `input` (`length` of them when known) are about to be read: returns the
    /// reader to read them through (one that shows progress, say).
    fn reading(
        &mut self,
        input: &str,
        length: Option<u64>,
        body: Box<dyn Read + Send>,
    ) -> Box<dyn Read + Send> {
        let _ = (input, length);
        body
    }

    /// A TAXII collection's poll starts.
    fn polling(&mut self, collection: &str) {
        let _ = collection;
    }

    /// A TAXII poll has given `objects` objects so far.
    fn polled(&mut self, collection: &str, objects: usize) {
        let _ = (collection, objects);
    }

    /// The current input is read (its progress can go).
    fn done(&mut self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Problems for Quiet {
    fn problem(&mut self, _problem: &FeedError) -> Result<(), ReportError> {
        Ok(())
    }
}

/// Sends problems to `tracing` (at DEBUG: a feed's summary says how many there were) and
/// failed inputs at WARN.
#[derive(Debug, Default, Clone, Copy)]
pub struct Logged;

impl Problems for Logged {
    fn problem(&mut self, problem: &FeedError) -> Result<(), ReportError> {
        tracing::debug!(%problem, "feed record problem");
        Ok(())
    }

    fn failed(&mut self, input: &str, error: &Error) {
        tracing::warn!(input, error = crate::chain(error), "input failed");
    }
}

/// Keeps the first `limit` invalid records (as `file:line: reason`) and counts all, passing
/// everything on to another reporter.
pub struct Kept<'p> {
    inner: &'p mut dyn Problems,
    limit: usize,
    /// The first invalid records.
    pub kept: Vec<String>,
}

impl<'p> Kept<'p> {
    pub fn new(inner: &'p mut dyn Problems, limit: usize) -> Self {
        Self {
            inner,
            limit,
            kept: Vec::new(),
        }
    }
}

impl Problems for Kept<'_> {
    fn problem(&mut self, problem: &FeedError) -> Result<(), ReportError> {
        if problem.severity == Severity::Invalid && self.kept.len() < self.limit {
            self.kept.push(problem.to_string());
        }
        self.inner.problem(problem)
    }

    fn failed(&mut self, input: &str, error: &Error) {
        self.inner.failed(input, error);
    }

    fn finished(&mut self) -> Result<(), ReportError> {
        self.inner.finished()
    }

    fn reading(
        &mut self,
        input: &str,
        length: Option<u64>,
        body: Box<dyn Read + Send>,
    ) -> Box<dyn Read + Send> {
        self.inner.reading(input, length, body)
    }

    fn polling(&mut self, collection: &str) {
        self.inner.polling(collection);
    }

    fn polled(&mut self, collection: &str, objects: usize) {
        self.inner.polled(collection, objects);
    }

    fn done(&mut self) {
        self.inner.done();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn kept_holds_the_first_invalid_records_only() {
        let origin: Arc<str> = Arc::from("feed.txt");
        let mut quiet = Quiet;
        let mut kept = Kept::new(&mut quiet, 2);
        for n in 0..3 {
            let problem =
                FeedError::invalid(&origin, feeds::Location::Line(n + 1), format!("bad {n}"));
            kept.problem(&problem).unwrap();
        }
        let skipped = FeedError::skipped(&origin, feeds::Location::Line(9), "context");
        kept.problem(&skipped).unwrap();
        assert_eq!(kept.kept.len(), 2);
        assert!(kept.kept[0].contains("bad 0"));
    }
}
