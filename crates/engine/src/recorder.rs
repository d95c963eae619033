//! One run lifecycle for everything iocsync records as a run — workflow runs, one-off blocks,
//! trigger calls and TTL lifts: a run is opened `running`, and closed with its status, counts
//! and error lines by one rule ([`status`]), so `iocsync runs`, the status page and the exit
//! codes read every kind of run the same way.

use chrono::{DateTime, Utc};
use store::{LibraryBackend, RunStatus};

use crate::error::EngineError;

/// How a finished run ended, for every kind of run: halted (the target or the library stopped
/// it) → failed; removals held by the brake → held (a person must look, whatever else
/// happened); any item refused or failed → partial; else succeeded.
pub fn status(halted: bool, held: usize, problems: usize) -> RunStatus {
    if halted {
        RunStatus::Failed
    } else if held > 0 {
        RunStatus::Held
    } else if problems > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Succeeded
    }
}

/// What a report gives its run record.
pub trait Recorded {
    fn status(&self) -> RunStatus;
    /// The counts stored with the run (JSON object of numbers).
    fn counts(&self) -> serde_json::Value;
    /// One line per problem (item failures and refusals first, then the halt).
    fn messages(&self) -> Vec<String>;
}

/// An open run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorder {
    id: i64,
}

impl Recorder {
    /// Opens run `name` (a workflow, `block:<target>`, `hook:<trigger>`, `lift:<trigger>`).
    pub fn start(
        library: &mut dyn LibraryBackend,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorder, EngineError> {
        Ok(Recorder {
            id: library.start_run(name, at)?,
        })
    }

    /// The run's id in the library.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Closes the run with what `report` says; `now` is the engine's clock (the record never
    /// ends before it).
    pub fn finish(
        self,
        library: &mut dyn LibraryBackend,
        report: &dyn Recorded,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        library.finish_run(
            self.id,
            report.status(),
            &report.counts(),
            &report.messages(),
            Utc::now().max(now),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_run() {
        assert_eq!(status(true, 3, 2), RunStatus::Failed);
        assert_eq!(status(false, 3, 2), RunStatus::Held);
        assert_eq!(status(false, 0, 2), RunStatus::Partial);
        assert_eq!(status(false, 0, 0), RunStatus::Succeeded);
    }
}
