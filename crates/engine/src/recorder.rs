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

/// What every kind of run reports to its record — the one report type the lifecycle knows.
/// A workflow run, a one-off block and a trigger call each keep a detailed report of their
/// own (a plan, the inputs refused, the answer a SIEM reads) and give this summary of it;
/// its status comes only from [`status`], so no kind of run can rule otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What stopped the run, if something did.
    pub halted: bool,
    /// Removals the brake held.
    pub held: usize,
    /// Items refused or failed.
    pub problems: usize,
    /// The counts stored with the run (a JSON object of numbers).
    pub counts: serde_json::Value,
    /// One line per problem (item failures and refusals first, then the halt).
    pub messages: Vec<String>,
}

impl Record {
    /// How the run ended ([`status`]).
    pub fn status(&self) -> RunStatus {
        status(self.halted, self.held, self.problems)
    }
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

    /// Closes the run with what `record` says; `now` is the engine's clock (the record never
    /// ends before it).
    pub fn finish(
        self,
        library: &mut dyn LibraryBackend,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        library.finish_run(
            self.id,
            record.status(),
            &record.counts,
            &record.messages,
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
