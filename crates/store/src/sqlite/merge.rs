//! Merging sightings into indicators, and re-deriving statuses. The rules are documented on
//! `LibraryBackend::merge_at`; this file makes them fast: chunks of sightings share one
//! transaction, every statement is prepared once and cached, and a sighting costs one indexed
//! read, two writes and one write per tag. (No `RETURNING` and no `UPDATE ... FROM`: both make
//! SQLite build a temporary table per statement, which profiling showed to dominate.)

use chrono::{DateTime, Utc};
use indicator::Kind;
use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};

use super::{changes, millis};
use crate::collection::MAX_SCORE;
use crate::error::Result;
use crate::model::{MergeReport, Rejected, Sighting};

/// Sightings per transaction: big enough to amortise the commit, small enough that other
/// handles waiting on the write lock get a turn within a fraction of a second.
pub const CHUNK: usize = 50_000;

/// The status rule, in one place: disabled over revoked over expired over active. The four
/// arguments are SQL expressions for disabled, revoked, valid_until and now.
macro_rules! status_case {
    ($disabled:expr, $revoked:expr, $valid_until:expr, $now:expr) => {
        concat!(
            "CASE WHEN ",
            $disabled,
            " THEN 'disabled' WHEN ",
            $revoked,
            " THEN 'revoked' WHEN ",
            $valid_until,
            " < ",
            $now,
            " THEN 'expired' ELSE 'active' END"
        )
    };
}

/// SQL: no source still stands behind indicator `?1`.
macro_rules! no_live_vote {
    () => {
        "NOT EXISTS (SELECT 1 FROM indicator_sources WHERE indicator_id = ?1 AND revoked = 0)"
    };
}

const FIND_ID: &str = "SELECT id FROM indicators WHERE kind = ?1 AND value = ?2";

const INSERT_INDICATOR: &str = concat!(
    "INSERT INTO indicators (kind, value, display, score, class, status, revoked, description,
                             first_seen, last_seen, valid_until, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ",
    status_case!("0", "?6", "?9", "?10"),
    ", ?6, ?7, ?8, ?8, ?9, ?10)
     ON CONFLICT (kind, value) DO NOTHING"
);

/// A source's vote: the latest sighting (by seen_at) decides revocation and score; a sighting
/// without a score keeps the one the source gave before.
const UPSERT_VOTE: &str = "
    INSERT INTO indicator_sources (indicator_id, source, score, revoked, first_seen, last_seen,
                                   reported_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
    ON CONFLICT (indicator_id, source) DO UPDATE SET
        reported_at = coalesce(max(reported_at, excluded.reported_at), reported_at,
                               excluded.reported_at),
        score = CASE
            WHEN excluded.score IS NULL THEN score
            WHEN score IS NULL OR excluded.last_seen >= last_seen THEN excluded.score
            ELSE score END,
        revoked = CASE WHEN excluded.last_seen >= last_seen THEN excluded.revoked ELSE revoked END,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)";

const INSERT_TAG: &str = "INSERT OR IGNORE INTO indicator_tags (indicator_id, tag) VALUES (?1, ?2)";

/// Merges a sighting's fields into an existing indicator (whose votes are already updated)
/// and re-derives score, revocation and status from the votes. SET expressions see the old
/// row, so the status repeats the new valid_until expression.
const UPDATE_INDICATOR: &str = concat!(
    "UPDATE indicators SET
        display = coalesce(?2, display),
        class = CASE WHEN ?3 = 'asset' THEN 'asset' ELSE class END,
        description = coalesce(?4, description),
        first_seen = min(first_seen, ?5),
        last_seen = max(last_seen, ?5),
        valid_until = coalesce(max(valid_until, ?6), valid_until, ?6),
        sightings = sightings + 1,
        updated_at = ?7,
        score = coalesce(
            (SELECT max(score) FROM indicator_sources WHERE indicator_id = ?1 AND revoked = 0),
            (SELECT max(score) FROM indicator_sources WHERE indicator_id = ?1)),
        revoked = ",
    no_live_vote!(),
    ",
        status = ",
    status_case!(
        "disabled",
        no_live_vote!(),
        "coalesce(max(valid_until, ?6), valid_until, ?6)",
        "?7"
    ),
    " WHERE id = ?1"
);

const REFRESH_STATUS: &str = concat!(
    "UPDATE indicators SET status = ",
    status_case!("disabled", "revoked", "valid_until", "?1"),
    ", updated_at = ?1 WHERE status <> ",
    status_case!("disabled", "revoked", "valid_until", "?1")
);

const SET_DISABLED: &str = concat!(
    "UPDATE indicators SET disabled = ?3, updated_at = ?4, status = ",
    status_case!("?3", "revoked", "valid_until", "?4"),
    " WHERE kind = ?1 AND value = ?2"
);

pub(super) fn merge(
    conn: &mut Connection,
    sightings: &[Sighting],
    now: DateTime<Utc>,
) -> Result<MergeReport> {
    let mut report = MergeReport {
        received: sightings.len(),
        ..MergeReport::default()
    };
    for (chunk_no, chunk) in sightings.chunks(CHUNK).enumerate() {
        // IMMEDIATE takes the write lock up front, so a busy library makes us wait (busy
        // timeout) instead of failing when a read transaction tries to become a write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let merged = report.created + report.updated;
        merge_in(&tx, chunk, now, chunk_no * CHUNK, &mut report)?;
        // Any sighting merged counts as a change, even one that repeats what the library
        // holds: it still moves last seen and the sightings count, which order and filter
        // collections (`recent`, `seen_within`). A chunk refused whole changes nothing.
        if report.created + report.updated > merged {
            changes::bump(&tx)?;
        }
        tx.commit()?;
    }
    report.rejected.sort_by_key(|r| r.index);
    Ok(report)
}

/// Merges `chunk` inside the caller's transaction (a pull merges a whole download in one),
/// adding to `report`; `first_index` is the chunk's position for rejected sightings.
pub(super) fn merge_in(
    conn: &Connection,
    chunk: &[Sighting],
    now: DateTime<Utc>,
    first_index: usize,
    report: &mut MergeReport,
) -> Result<()> {
    let mut merger = Merger::new(conn, now)?;
    merger.insert_first = merger.mostly_new(chunk)?;
    merge_chunk(merger, chunk, first_index, report)
}

fn merge_chunk(
    mut merger: Merger<'_>,
    chunk: &[Sighting],
    first_index: usize,
    report: &mut MergeReport,
) -> Result<()> {
    // Visiting the chunk in key order keeps consecutive writes on the same B-tree pages. The
    // sort is stable, so sightings of one indicator are still merged in the order given.
    let mut order: Vec<usize> = (0..chunk.len()).collect();
    order.sort_by(|&a, &b| (chunk[a].kind, &chunk[a].value).cmp(&(chunk[b].kind, &chunk[b].value)));
    for (index, sighting) in order.into_iter().map(|i| (first_index + i, &chunk[i])) {
        if let Err(reason) = check(sighting) {
            report.rejected.push(Rejected {
                index,
                value: sighting.value.clone(),
                reason,
            });
            continue;
        }
        if merger.merge_one(sighting)? {
            report.created += 1;
        } else {
            report.updated += 1;
        }
    }
    Ok(())
}

/// What the library refuses outright (feeds are expected to hand over canonical values).
fn check(sighting: &Sighting) -> Result<(), String> {
    if sighting.value.trim().is_empty() {
        return Err("empty value".into());
    }
    if sighting.source.trim().is_empty() {
        return Err("empty source name".into());
    }
    match sighting.score {
        Some(score) if score > MAX_SCORE => {
            Err(format!("score {score} is above the maximum {MAX_SCORE}"))
        }
        _ => Ok(()),
    }
}

struct Merger<'conn> {
    conn: &'conn Connection,
    find_id: CachedStatement<'conn>,
    insert_indicator: CachedStatement<'conn>,
    upsert_vote: CachedStatement<'conn>,
    insert_tag: CachedStatement<'conn>,
    update_indicator: CachedStatement<'conn>,
    now: i64,
    /// Try the insert before the lookup (most sightings in this chunk are expected to be new).
    insert_first: bool,
}

impl<'conn> Merger<'conn> {
    fn new(conn: &'conn Connection, now: DateTime<Utc>) -> Result<Self> {
        Ok(Merger {
            conn,
            find_id: conn.prepare_cached(FIND_ID)?,
            insert_indicator: conn.prepare_cached(INSERT_INDICATOR)?,
            upsert_vote: conn.prepare_cached(UPSERT_VOTE)?,
            insert_tag: conn.prepare_cached(INSERT_TAG)?,
            update_indicator: conn.prepare_cached(UPDATE_INDICATOR)?,
            now: millis(now),
            insert_first: true,
        })
    }

    /// Whether most of `chunk` is new to the library, judged from a few evenly spread
    /// sightings. A batch is usually all new (a first import) or mostly known (a re-import).
    fn mostly_new(&mut self, chunk: &[Sighting]) -> Result<bool> {
        const SAMPLE: usize = 32;
        let step = (chunk.len() / SAMPLE).max(1);
        let mut sampled = 0;
        let mut known = 0;
        for s in chunk.iter().step_by(step).take(SAMPLE) {
            sampled += 1;
            if self.find(kind_name(s.kind), &s.value)?.is_some() {
                known += 1;
            }
        }
        Ok(known * 2 <= sampled)
    }

    /// Merges one sighting; returns whether it created the indicator.
    fn merge_one(&mut self, s: &Sighting) -> Result<bool> {
        let seen = millis(s.seen_at);
        let valid_until = s.valid_until.map(millis);
        let (id, created) = self.locate(s, seen, valid_until)?;
        self.upsert_vote.execute(params![
            id,
            s.source.trim(),
            s.score,
            s.revoked,
            seen,
            s.reported_at.map(millis)
        ])?;
        for tag in s.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            self.insert_tag.execute(params![id, tag])?;
        }
        if !created {
            self.update_indicator.execute(params![
                id,
                s.display,
                s.class.as_str(),
                s.description,
                seen,
                valid_until,
                self.now,
            ])?;
        }
        Ok(created)
    }

    /// The indicator's row id, inserting the row if it is new. Each order costs one index
    /// search when it guesses right and two when wrong, hence `insert_first`.
    fn locate(&mut self, s: &Sighting, seen: i64, valid_until: Option<i64>) -> Result<(i64, bool)> {
        let kind = kind_name(s.kind);
        if !self.insert_first
            && let Some(id) = self.find(kind, &s.value)?
        {
            return Ok((id, false));
        }
        let inserted = self.insert_indicator.execute(params![
            kind,
            s.value,
            s.display,
            s.score,
            s.class.as_str(),
            s.revoked,
            s.description,
            seen,
            valid_until,
            self.now,
        ])?;
        if inserted == 1 {
            return Ok((self.conn.last_insert_rowid(), true));
        }
        let id = self
            .find(kind, &s.value)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((id, false))
    }

    fn find(&mut self, kind: &str, value: &str) -> Result<Option<i64>> {
        Ok(self
            .find_id
            .query_row(params![kind, value], |row| row.get(0))
            .optional()?)
    }
}

/// The kind as stored: its serde / Display name.
pub(super) fn kind_name(kind: Kind) -> &'static str {
    kind.as_str()
}

pub(super) fn refresh_status(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx.prepare_cached(REFRESH_STATUS)?.execute([millis(now)])?;
    if changed > 0 {
        changes::bump(&tx)?;
    }
    tx.commit()?;
    Ok(changed)
}

pub(super) fn set_disabled(
    conn: &mut Connection,
    kind: Kind,
    value: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx.prepare_cached(SET_DISABLED)?.execute(params![
        kind_name(kind),
        value,
        disabled,
        millis(now)
    ])?;
    // Counted even when the indicator already was as asked: cheaper than reading it first,
    // and a needless full run is harmless where a missed one is not.
    if changed > 0 {
        changes::bump(&tx)?;
    }
    tx.commit()?;
    Ok(changed > 0)
}
