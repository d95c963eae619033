//! One run lifecycle for everything iocsync records as a run — workflow runs, one-off blocks,
//! trigger calls and TTL lifts: a run is opened `running`, and closed with its status, counts
//! and error lines by one rule ([`status`]), so `iocsync runs`, the status page and the exit
//! codes read every kind of run the same way.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::{LibraryBackend, RunItem, RunStatus};

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
    /// What the run did, item by item (a sample per outcome: the counts hold the totals).
    pub items: Vec<RunItem>,
    /// What the run was about beyond its name: the alert id of a trigger call.
    pub subject: Option<String>,
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
    /// ends before it). The items are written first, so a run that reads as finished has
    /// them.
    pub fn finish(
        self,
        library: &mut dyn LibraryBackend,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if !record.items.is_empty() || record.subject.is_some() {
            library.record_run_items(self.id, record.subject.as_deref(), &record.items)?;
        }
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

/// A guard refusal's detail: the rule, then the reason (which often names the rule already).
pub fn refusal(rule: &str, reason: &str) -> String {
    if reason.contains(rule) {
        reason.to_owned()
    } else {
        format!("{rule}: {reason}")
    }
}

/// The items kept per outcome of one run: enough to see what happened and to find a value;
/// the run's counts hold the totals, so a 60,000-object first sync stays a few hundred rows.
pub const ITEMS_PER_OUTCOME: usize = 500;

/// Collects a run's items, keeping the first [`ITEMS_PER_OUTCOME`] of each outcome.
#[derive(Debug, Default)]
pub struct Items {
    items: Vec<RunItem>,
    per_outcome: HashMap<&'static str, usize>,
}

impl Items {
    /// Adds one item unless its outcome already has its share.
    pub fn push(
        &mut self,
        outcome: &'static str,
        kind: Option<Kind>,
        value: &str,
        detail: Option<String>,
        until: Option<DateTime<Utc>>,
    ) {
        let kept = self.per_outcome.entry(outcome).or_default();
        if *kept >= ITEMS_PER_OUTCOME {
            return;
        }
        *kept += 1;
        self.items.push(RunItem {
            outcome: outcome.to_owned(),
            kind,
            value: value.to_owned(),
            detail,
            until,
        });
    }

    /// The items collected, in the order pushed.
    pub fn into_vec(self) -> Vec<RunItem> {
        self.items
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

    #[test]
    fn items_keep_a_sample_of_each_outcome_in_order() {
        let mut items = Items::default();
        for i in 0..ITEMS_PER_OUTCOME + 3 {
            items.push(
                "added",
                Some(Kind::Domain),
                &format!("{i}.example"),
                None,
                None,
            );
        }
        items.push(
            "failed",
            Some(Kind::Domain),
            "x.example",
            Some("400".into()),
            None,
        );
        let items = items.into_vec();
        assert_eq!(items.len(), ITEMS_PER_OUTCOME + 1);
        assert_eq!(items[0].value, "0.example");
        assert_eq!(
            items[ITEMS_PER_OUTCOME - 1].value,
            format!("{}.example", ITEMS_PER_OUTCOME - 1)
        );
        assert_eq!(items[ITEMS_PER_OUTCOME].outcome, "failed");
        assert_eq!(items[ITEMS_PER_OUTCOME].detail.as_deref(), Some("400"));
    }
}
