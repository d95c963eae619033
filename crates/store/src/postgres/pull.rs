//! Pulls in PostgreSQL: one transaction per download (holding the indicators' advisory lock,
//! as a SQLite pull holds the write lock), the withdrawals of a snapshot and of
//! `expire_after` as set-based statements, and the `feeds` table. Dropping the writer
//! unfinished rolls the pull back.
//!
//! A source's vote is listed by a pull when its `last_seen` equals the pull's time, so after
//! the merge "what the snapshot no longer lists" is the votes still live with an older one.

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Row};

use super::merge::{self, REDERIVE};
use super::{changes, count_of, from_millis, int8, millis, off_runtime};
use crate::error::{Error, Result};
use crate::feed::{
    FeedMode, FeedState, Finish, Outcome, PullReport, PullWriter, Unread, Validators, held_reason,
};
use crate::model::{MergeReport, Sighting};

/// A pull in progress: its transaction is open from `begin` to `finish` (or drop). It is
/// driven by `BEGIN` / `COMMIT` / `ROLLBACK` on the connection, so a held pull can roll back
/// and record itself on the same connection.
pub(super) struct PostgresPull<'c> {
    conn: &'c mut Client,
    feed: String,
    at: DateTime<Utc>,
    /// Values the source stood behind before this pull.
    previous: u64,
    merged: MergeReport,
    open: bool,
}

impl<'c> PostgresPull<'c> {
    pub(super) fn begin(conn: &'c mut Client, feed: &str, at: DateTime<Utc>) -> Result<Self> {
        conn.batch_execute("BEGIN")?;
        let mut pull = PostgresPull {
            conn,
            feed: feed.to_owned(),
            at,
            previous: 0,
            merged: MergeReport::default(),
            open: true,
        };
        merge::lock_indicators(pull.conn)?;
        pull.previous = live_votes(pull.conn, feed)?;
        Ok(pull)
    }

    /// Rolls the pull back and records it as held.
    fn hold(&mut self, finish: &Finish, listed: u64, reason: String) -> Result<PullReport> {
        self.conn.batch_execute("ROLLBACK")?;
        self.open = false;
        let report = PullReport {
            outcome: Outcome::Held,
            reason: Some(reason),
            listed,
            new: 0,
            withdrawn: 0,
            previous: self.previous,
            invalid: finish.invalid,
            merge: std::mem::take(&mut self.merged),
        };
        let mut tx = self.conn.transaction()?;
        save_state(
            &mut tx,
            &self.feed,
            &report,
            &StateWrite {
                at: millis(self.at),
                live: self.previous,
                validators: None,
                cursor: None,
                held_hash: finish.validators.content_hash.as_deref(),
            },
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// Applies the pull: withdrawals, expiry, the feed's state; one commit.
    fn apply(&mut self, finish: &Finish, listed: u64) -> Result<PullReport> {
        let now = millis(self.at);
        let conn = &mut *self.conn;
        let feed = self.feed.as_str();
        clear_withdrawn(conn)?;
        let absent = match finish.mode {
            FeedMode::Snapshot => mark_withdrawn(conn, feed, now)?,
            FeedMode::Incremental => 0,
        };
        if let (FeedMode::Incremental, Some(after)) = (finish.mode, finish.expire_after) {
            mark_withdrawn(conn, feed, now - after.num_milliseconds())?;
        }
        let withdrawn = withdraw_marked(conn, feed, now)?;
        let kept = self.previous.saturating_sub(absent);
        let new = match finish.mode {
            FeedMode::Snapshot => listed.saturating_sub(kept),
            FeedMode::Incremental => first_listed(conn, feed, now)?,
        };
        let report = PullReport {
            outcome: Outcome::Applied,
            reason: (listed == 0).then(|| "the download listed nothing".to_owned()),
            listed,
            new,
            withdrawn,
            previous: self.previous,
            invalid: finish.invalid,
            merge: std::mem::take(&mut self.merged),
        };
        if report.merge.created + report.merge.updated > 0 || withdrawn > 0 {
            changes::bump(conn)?;
        }
        let live = live_votes(conn, feed)?;
        save_state(
            conn,
            feed,
            &report,
            &StateWrite {
                at: now,
                live,
                validators: Some(&finish.validators),
                cursor: finish.cursor.as_deref(),
                held_hash: None,
            },
        )?;
        conn.batch_execute("COMMIT")?;
        self.open = false;
        Ok(report)
    }
}

// Each call leaves the runtime's thread as the library's own do (`off_runtime`): the writer
// is used from the same async code as the library that made it.
impl PullWriter for PostgresPull<'_> {
    fn merge(&mut self, sightings: &[Sighting]) -> Result<()> {
        off_runtime(|| {
            let first = self.merged.received;
            self.merged.received += sightings.len();
            merge::merge_in(self.conn, sightings, self.at, first, &mut self.merged)
        })
    }

    fn finish(mut self: Box<Self>, finish: Finish) -> Result<PullReport> {
        let pull = &mut *self;
        off_runtime(|| {
            let listed = listed_now(pull.conn, &pull.feed, millis(pull.at))?;
            if let Some(reason) = held_reason(&finish, listed, pull.previous) {
                return pull.hold(&finish, listed, reason);
            }
            pull.apply(&finish, listed)
        })
        // An error left the pull open: dropping it (here) rolls it back.
    }
}

impl Drop for PostgresPull<'_> {
    fn drop(&mut self) {
        if self.open {
            // An error mid-pull: nothing of it stays. A failing rollback (the connection
            // is gone) leaves the server to roll back when the session ends.
            let conn = &mut *self.conn;
            off_runtime(|| {
                let _ = conn.batch_execute("ROLLBACK");
            });
        }
    }
}

/// Records a pull that did not read the feed (unchanged, failed), and expires votes: an
/// incremental source's not listed within `expire_after`, and all of a snapshot source's
/// once no pull has confirmed its snapshot for that long.
pub(super) fn record(
    conn: &mut Client,
    feed: &str,
    unread: Unread,
    at: DateTime<Utc>,
) -> Result<PullReport> {
    let Unread {
        outcome,
        reason,
        mode,
        expire_after,
    } = unread;
    let mut tx = conn.transaction()?;
    merge::lock_indicators(&mut tx)?;
    let now = millis(at);
    let confirmed = if outcome == Outcome::Unchanged {
        Some(now)
    } else {
        confirmed_at(&mut tx, feed)?
    };
    clear_withdrawn(&mut tx)?;
    if let Some(after) = expire_after {
        let cutoff = now - after.num_milliseconds();
        match mode {
            FeedMode::Incremental => {
                mark_withdrawn(&mut tx, feed, cutoff)?;
            }
            FeedMode::Snapshot if confirmed.is_some_and(|c| c < cutoff) => {
                mark_withdrawn(&mut tx, feed, i64::MAX)?;
            }
            FeedMode::Snapshot => {}
        }
    }
    let withdrawn = withdraw_marked(&mut tx, feed, now)?;
    if withdrawn > 0 {
        changes::bump(&mut tx)?;
    }
    let live = live_votes(&mut tx, feed)?;
    let report = PullReport {
        outcome,
        reason,
        listed: 0,
        new: 0,
        withdrawn,
        previous: live + withdrawn,
        invalid: 0,
        merge: MergeReport::default(),
    };
    tx.execute(
        "INSERT INTO feeds AS f (name, last_pull, outcome, reason, withdrawn, live, confirmed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET
            last_pull = excluded.last_pull, outcome = excluded.outcome, reason = excluded.reason,
            withdrawn = excluded.withdrawn, live = excluded.live,
            confirmed_at = excluded.confirmed_at",
        &[
            &feed,
            &now,
            &report.outcome.as_str(),
            &report.reason,
            &int8(report.withdrawn),
            &int8(live),
            &confirmed,
        ],
    )?;
    tx.commit()?;
    Ok(report)
}

fn count(conn: &mut impl GenericClient, sql: &str, feed: &str, at: Option<i64>) -> Result<u64> {
    let n: i64 = match at {
        Some(at) => conn.query_one(sql, &[&feed, &at])?,
        None => conn.query_one(sql, &[&feed])?,
    }
    .try_get(0)?;
    Ok(count_of(n))
}

fn live_votes(conn: &mut impl GenericClient, feed: &str) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources WHERE source = $1 AND NOT revoked",
        feed,
        None,
    )
}

fn listed_now(conn: &mut impl GenericClient, feed: &str, at: i64) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources
         WHERE source = $1 AND last_seen = $2 AND NOT revoked",
        feed,
        Some(at),
    )
}

fn first_listed(conn: &mut impl GenericClient, feed: &str, at: i64) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources
         WHERE source = $1 AND first_seen = $2 AND NOT revoked",
        feed,
        Some(at),
    )
}

/// The session's table of indicators marked for withdrawal, emptied.
fn clear_withdrawn(conn: &mut impl GenericClient) -> Result<()> {
    conn.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS pull_withdrawn (indicator_id bigint PRIMARY KEY);
         TRUNCATE pull_withdrawn;",
    )?;
    Ok(())
}

/// Marks the live votes of `feed` last listed before `before` for withdrawal; returns how
/// many were marked (a vote marked twice counts once).
fn mark_withdrawn(conn: &mut impl GenericClient, feed: &str, before: i64) -> Result<u64> {
    let n = conn.execute(
        "INSERT INTO pull_withdrawn (indicator_id)
         SELECT indicator_id FROM indicator_sources
         WHERE source = $1 AND NOT revoked AND last_seen < $2
         ON CONFLICT DO NOTHING",
        &[&feed, &before],
    )?;
    Ok(n)
}

/// Withdraws the marked votes and re-derives their indicators; returns how many votes.
fn withdraw_marked(conn: &mut impl GenericClient, feed: &str, now: i64) -> Result<u64> {
    let ids: Vec<i64> = conn
        .query(
            "UPDATE indicator_sources SET revoked = true
             WHERE source = $1 AND NOT revoked
               AND indicator_id IN (SELECT indicator_id FROM pull_withdrawn)
             RETURNING indicator_id",
            &[&feed],
        )?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    if !ids.is_empty() {
        conn.execute(REDERIVE, &[&ids, &now])?;
    }
    Ok(ids.len() as u64)
}

fn confirmed_at(conn: &mut impl GenericClient, feed: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_opt("SELECT confirmed_at FROM feeds WHERE name = $1", &[&feed])?
        .map(|row| row.try_get::<_, Option<i64>>(0))
        .transpose()?
        .flatten())
}

/// What [`save_state`] writes besides the report's counts.
struct StateWrite<'a> {
    at: i64,
    live: u64,
    /// Set when the pull is applied: its download becomes the one in force.
    validators: Option<&'a Validators>,
    cursor: Option<&'a str>,
    held_hash: Option<&'a str>,
}

/// Writes the state after a pull that read the feed (applied or held).
fn save_state(
    conn: &mut impl GenericClient,
    feed: &str,
    report: &PullReport,
    w: &StateWrite<'_>,
) -> Result<()> {
    let applied = w.validators.is_some();
    let v = w.validators.cloned().unwrap_or_default();
    conn.execute(
        "INSERT INTO feeds AS f (name, last_pull, outcome, reason, listed, new, withdrawn, invalid,
                                 live, applied_at, confirmed_at, etag, last_modified, content_hash,
                                 held_hash, cursor)
         VALUES ($1, $2::int8, $3, $4, $5, $6, $7, $8, $9,
                 CASE WHEN $10 THEN $2::int8 END, CASE WHEN $10 THEN $2::int8 END, $11, $12, $13, $14, $15)
         ON CONFLICT (name) DO UPDATE SET
            last_pull = excluded.last_pull, outcome = excluded.outcome, reason = excluded.reason,
            listed = excluded.listed, new = excluded.new, withdrawn = excluded.withdrawn,
            invalid = excluded.invalid, live = excluded.live,
            applied_at = CASE WHEN $10 THEN excluded.applied_at ELSE f.applied_at END,
            confirmed_at = CASE WHEN $10 THEN excluded.confirmed_at ELSE f.confirmed_at END,
            etag = CASE WHEN $10 THEN excluded.etag ELSE f.etag END,
            last_modified = CASE WHEN $10 THEN excluded.last_modified ELSE f.last_modified END,
            content_hash = CASE WHEN $10 THEN excluded.content_hash ELSE f.content_hash END,
            held_hash = excluded.held_hash,
            cursor = coalesce(excluded.cursor, f.cursor)",
        &[
            &feed,
            &w.at,
            &report.outcome.as_str(),
            &report.reason,
            &int8(report.listed),
            &int8(report.new),
            &int8(report.withdrawn),
            &int8(report.invalid),
            &int8(w.live),
            &applied,
            &v.etag,
            &v.last_modified,
            &v.content_hash,
            &w.held_hash,
            &w.cursor,
        ],
    )?;
    Ok(())
}

const SELECT_STATE: &str = "SELECT name, last_pull, outcome, reason, listed, new, withdrawn, invalid,
    applied_at, confirmed_at, etag, last_modified, content_hash, held_hash, cursor, live FROM feeds";

pub(super) fn state(conn: &mut Client, feed: &str) -> Result<Option<FeedState>> {
    conn.query_opt(&format!("{SELECT_STATE} WHERE name = $1"), &[&feed])?
        .as_ref()
        .map(read_state)
        .transpose()
}

pub(super) fn states(conn: &mut Client) -> Result<Vec<FeedState>> {
    conn.query(&format!("{SELECT_STATE} ORDER BY name"), &[])?
        .iter()
        .map(read_state)
        .collect()
}

fn read_state(row: &Row) -> Result<FeedState> {
    let time = |i: usize| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<_, Option<i64>>(i)?
            .map(from_millis)
            .transpose()
    };
    let number = |i: usize| -> Result<u64> { Ok(count_of(row.try_get::<_, i64>(i)?)) };
    let outcome: &str = row.try_get(2)?;
    Ok(FeedState {
        name: row.try_get(0)?,
        last_pull: from_millis(row.try_get(1)?)?,
        outcome: outcome
            .parse()
            .map_err(|e| Error::corrupt("pull outcome", outcome, e))?,
        reason: row.try_get(3)?,
        listed: number(4)?,
        new: number(5)?,
        withdrawn: number(6)?,
        invalid: number(7)?,
        applied_at: time(8)?,
        confirmed_at: time(9)?,
        validators: Validators {
            etag: row.try_get(10)?,
            last_modified: row.try_get(11)?,
            content_hash: row.try_get(12)?,
        },
        held_hash: row.try_get(13)?,
        cursor: row.try_get(14)?,
        live: number(15)?,
    })
}
