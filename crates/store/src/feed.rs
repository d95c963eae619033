//! Feeds as the library keeps them: the state of each feed's last pull, and the rules that
//! apply a pull — a snapshot withdraws what its source stopped listing, a pull that looks
//! broken is held, `expire_after` withdraws what a source has not listed for too long.
//!
//! A pull is written through a [`PullWriter`]: every sighting of one download goes into one
//! transaction, and [`PullWriter::finish`] either commits it with the withdrawals, the
//! counts and the cursor, or rolls it all back (held). A process killed during a pull
//! therefore leaves the library as before the pull or after it, never in between.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{MergeReport, Sighting, UnknownName};

/// How a feed's download relates to what it listed before.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FeedMode {
    /// The download is the whole current list: a value it no longer lists is withdrawn.
    #[default]
    Snapshot,
    /// The download holds additions and revocations only (TAXII, MISP): nothing is withdrawn
    /// for being absent.
    Incremental,
}

/// How the last pull of a feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Read and committed.
    Applied,
    /// The source answered 304, or sent the same bytes as the snapshot in force.
    Unchanged,
    /// Read but not applied: it looked broken (empty, mostly invalid, far shorter than the
    /// snapshot in force). The previous snapshot stays in force until `pull --accept`.
    Held,
    /// Could not be downloaded or read.
    Failed,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Held => "held",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "applied" => Ok(Outcome::Applied),
            "unchanged" => Ok(Outcome::Unchanged),
            "held" => Ok(Outcome::Held),
            "failed" => Ok(Outcome::Failed),
            _ => Err(UnknownName {
                what: "pull outcome",
                value: s.to_owned(),
                expected: &["applied", "unchanged", "held", "failed"],
            }),
        }
    }
}

impl FromStr for FeedMode {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "snapshot" => Ok(FeedMode::Snapshot),
            "incremental" => Ok(FeedMode::Incremental),
            _ => Err(UnknownName {
                what: "feed mode",
                value: s.to_owned(),
                expected: &["snapshot", "incremental"],
            }),
        }
    }
}

/// What identifies a download, for conditional requests and for recognising an unchanged one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// SHA-256 of the body, hex.
    pub content_hash: Option<String>,
}

/// A feed as the library remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    pub name: String,
    pub last_pull: DateTime<Utc>,
    pub outcome: Outcome,
    /// Why a pull was held or failed (or a note on an applied one, such as "listed nothing").
    pub reason: Option<String>,
    pub listed: u64,
    pub new: u64,
    pub withdrawn: u64,
    pub invalid: u64,
    /// When the snapshot (or increment) in force was applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// When a pull last confirmed it (applied, or found unchanged).
    pub confirmed_at: Option<DateTime<Utc>>,
    pub validators: Validators,
    /// The content hash of the held download, which `pull --accept` may apply.
    pub held_hash: Option<String>,
    pub cursor: Option<String>,
    /// Values the source stands behind now (votes not withdrawn).
    pub live: u64,
}

/// The sanity checks a pull must pass to be applied; `None` in [`Finish::checks`] applies
/// it whatever it looks like (`pull --accept`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checks {
    /// A snapshot listing fewer than this share of the values the snapshot in force lists is
    /// held (0.5: half of yesterday's list vanished).
    pub min_ratio: f64,
    /// A download whose invalid records exceed this share of its records is held.
    pub max_invalid: f64,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            min_ratio: 0.5,
            max_invalid: 0.5,
        }
    }
}

/// How to end a pull, given to [`PullWriter::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub mode: FeedMode,
    pub checks: Option<Checks>,
    /// Records the reader read (rows, lines, objects) and how many of them were invalid.
    pub records: u64,
    pub invalid: u64,
    pub validators: Validators,
    /// Where the next incremental pull starts; saved only when the pull is applied.
    pub cursor: Option<String>,
    pub expire_after: Option<Duration>,
}

/// A pull that did not read the feed: it was unchanged (304, same bytes) or failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unread {
    /// [`Outcome::Unchanged`] or [`Outcome::Failed`].
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub mode: FeedMode,
    pub expire_after: Option<Duration>,
}

/// What a finished pull did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullReport {
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// Distinct values this download listed.
    pub listed: u64,
    /// Values this source did not stand behind before (new, or listed again).
    pub new: u64,
    /// Votes withdrawn: values the snapshot no longer lists, and expired ones.
    pub withdrawn: u64,
    /// Values the snapshot in force listed before this pull.
    pub previous: u64,
    pub invalid: u64,
    /// Sightings the library refused (empty value, score above 10), with the reason.
    pub merge: MergeReport,
}

/// One pull being written: sightings go in batch by batch, inside one transaction.
pub trait PullWriter {
    /// Merges a batch of the download's sightings. Every sighting's `seen_at` must be the
    /// pull's time and its `source` the feed's name (the writer withdraws by those).
    fn merge(&mut self, sightings: &[Sighting]) -> Result<()>;

    /// Decides: applies (withdrawing, expiring, saving the state and the cursor, one commit)
    /// or holds (rolling everything back and recording why).
    fn finish(self: Box<Self>, finish: Finish) -> Result<PullReport>;
}

/// The share `part / whole`, 1 when `whole` is 0.
pub(crate) fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// Why a pull that read `listed` values (of `records` records, `invalid` of them invalid)
/// must be held, or `None`. `previous` is what the snapshot in force lists.
pub(crate) fn held_reason(finish: &Finish, listed: u64, previous: u64) -> Option<String> {
    let checks = finish.checks?;
    let snapshot = finish.mode == FeedMode::Snapshot;
    if snapshot && listed == 0 && previous > 0 {
        return Some(format!(
            "the download listed nothing ({} records) while the snapshot in force lists {previous}",
            finish.records
        ));
    }
    let invalid_share = ratio(finish.invalid, finish.records);
    if finish.records > 0 && invalid_share > checks.max_invalid {
        return Some(format!(
            "{} of {} records are invalid ({:.0}%, above {:.0}%)",
            finish.invalid,
            finish.records,
            invalid_share * 100.0,
            checks.max_invalid * 100.0
        ));
    }
    let kept = ratio(listed, previous);
    if snapshot && kept < checks.min_ratio {
        return Some(format!(
            "the snapshot lists {listed} values, {:.0}% of the {previous} in force (min_ratio {})",
            kept * 100.0,
            checks.min_ratio
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(mode: FeedMode, records: u64, invalid: u64) -> Finish {
        Finish {
            mode,
            checks: Some(Checks::default()),
            records,
            invalid,
            validators: Validators::default(),
            cursor: None,
            expire_after: None,
        }
    }

    #[test]
    fn broken_looking_pulls_are_held() {
        let snapshot = finish(FeedMode::Snapshot, 100, 0);
        assert!(
            held_reason(&snapshot, 0, 10)
                .unwrap()
                .contains("listed nothing")
        );
        assert!(
            held_reason(&snapshot, 0, 0).is_none(),
            "a first empty pull is applied"
        );
        assert!(held_reason(&snapshot, 49, 100).unwrap().contains("49%"));
        assert!(held_reason(&snapshot, 50, 100).is_none());
        let broken = finish(FeedMode::Snapshot, 100, 51);
        assert!(held_reason(&broken, 49, 10).unwrap().contains("51 of 100"));
        let incremental = finish(FeedMode::Incremental, 5, 0);
        assert!(held_reason(&incremental, 5, 1_000).is_none());
        let accepted = Finish {
            checks: None,
            ..snapshot
        };
        assert!(held_reason(&accepted, 0, 10).is_none());
    }
}
