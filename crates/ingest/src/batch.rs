//! Records on their way into the library, for imports and pulls alike: sightings are
//! gathered and written [`CHUNK`] at a time (or held until the caller says so), problems are
//! counted and reported, and what the library refused is reported as an invalid record.

use std::sync::Arc;

use feeds::{FeedError, Record, Severity};
use store::{Library, MergeReport, PullWriter, Sighting};

use crate::{Error, Problems};

/// Sightings written per library call (one transaction for an import).
pub(crate) const CHUNK: usize = 10_000;

/// Where sightings are written: the library itself (an import) or one pull's transaction.
pub(crate) trait Sink {
    /// Writes `chunk`; returns the library's report when it gives one at once.
    fn write(&mut self, chunk: &[Sighting]) -> store::Result<Option<MergeReport>>;
}

impl Sink for &mut Library {
    fn write(&mut self, chunk: &[Sighting]) -> store::Result<Option<MergeReport>> {
        self.merge(chunk).map(Some)
    }
}

impl Sink for Box<dyn PullWriter + '_> {
    fn write(&mut self, chunk: &[Sighting]) -> store::Result<Option<MergeReport>> {
        self.merge(chunk).map(|()| None)
    }
}

/// What records gave so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    /// Records read (lines, rows, objects, attributes).
    pub read: u64,
    pub sightings: u64,
    pub invalid: u64,
    pub skipped: u64,
    /// Indicators the library did not hold before (when the sink says at once).
    pub new: u64,
    /// Sightings merged into indicators it held.
    pub updated: u64,
}

/// Sightings gathered for a [`Sink`].
pub(crate) struct Batcher<S> {
    sink: S,
    pending: Vec<Sighting>,
    /// Hold everything until [`release`](Self::release) (`--strict`).
    hold: bool,
    pub counts: Counts,
}

impl<S: Sink> Batcher<S> {
    pub fn new(sink: S, hold: bool) -> Self {
        Self {
            sink,
            pending: Vec::with_capacity(CHUNK),
            hold,
            counts: Counts::default(),
        }
    }

    pub fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Takes one record: a sighting is gathered (and a full chunk written), a problem counted
    /// and reported.
    pub fn record(&mut self, record: Record, problems: &mut dyn Problems) -> Result<(), Error> {
        match record {
            Ok(sighting) => {
                self.counts.sightings += 1;
                self.pending.push(sighting);
                if !self.hold && self.pending.len() >= CHUNK {
                    self.flush(problems)?;
                }
            }
            Err(problem) => {
                match problem.severity {
                    Severity::Invalid => self.counts.invalid += 1,
                    Severity::Skipped => self.counts.skipped += 1,
                }
                problems.problem(&problem)?;
            }
        }
        Ok(())
    }

    /// Writes what is gathered, unless held.
    pub fn flush(&mut self, problems: &mut dyn Problems) -> Result<(), Error> {
        if self.hold || self.pending.is_empty() {
            return Ok(());
        }
        self.write(problems)
    }

    /// Stops holding: what is gathered is written by the next [`flush`](Self::flush).
    pub fn release(&mut self) {
        self.hold = false;
    }

    /// Drops what is gathered (a strict import that must write nothing).
    pub fn discard(&mut self) {
        self.pending.clear();
    }

    fn write(&mut self, problems: &mut dyn Problems) -> Result<(), Error> {
        for chunk in self.pending.chunks(CHUNK) {
            let Some(report) = self
                .sink
                .write(chunk)
                .map_err(|error| Error::Write(Box::new(error)))?
            else {
                continue;
            };
            self.counts.new += report.created as u64;
            self.counts.updated += report.updated as u64;
            for rejected in &report.rejected {
                self.counts.invalid += 1;
                let origin = chunk
                    .get(rejected.index)
                    .map_or_else(|| "library".to_owned(), |s| s.source.clone());
                let problem = FeedError::invalid(
                    &Arc::from(origin),
                    feeds::Location::Document,
                    format!(
                        "`{}` refused by the library: {}",
                        rejected.value, rejected.reason
                    ),
                );
                problems.problem(&problem)?;
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Writes what is left and gives the sink back.
    pub fn into_sink(mut self, problems: &mut dyn Problems) -> Result<S, Error> {
        self.flush(problems)?;
        Ok(self.sink)
    }
}
