//! Pulls in SQLite: one `BEGIN IMMEDIATE` transaction per download, the withdrawals of a
//! snapshot and of `expire_after` as set-based statements, and the `feeds` table.
//!
//! A source's vote is listed by a pull when its `last_seen` equals the pull's time (the
//! pull sets every sighting's `seen_at` to it), so after the merge "what the snapshot no
//! longer lists" is the votes still live with an older `last_seen`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{changes, from_millis, merge, millis};
use crate::error::{Error, Result};
use crate::feed::{
    FeedMode, FeedState, Finish, Outcome, PullReport, PullWriter, Unread, Validators, held_reason,
};
use crate::model::{MergeReport, Sighting};

/// Re-derives score, revocation and status of the indicators in `pull_withdrawn` from their
/// votes (the rule of `merge.rs`), as of `?1`.
const REDERIVE: &str = concat!(
    "UPDATE indicators SET
        score = coalesce(
            (SELECT max(score) FROM indicator_sources WHERE indicator_id = indicators.id AND revoked = 0),
            (SELECT max(score) FROM indicator_sources WHERE indicator_id = indicators.id)),
        revoked = NOT EXISTS (SELECT 1 FROM indicator_sources
                              WHERE indicator_id = indicators.id AND revoked = 0),
        updated_at = ?1,
        status = ",
    status_case!(
        "disabled",
        "NOT EXISTS (SELECT 1 FROM indicator_sources WHERE indicator_id = indicators.id AND revoked = 0)",
        "valid_until",
        "?1"
    ),
    " WHERE id IN (SELECT indicator_id FROM temp.pull_withdrawn)"
);

/// A pull in progress: the write transaction is open from `begin` to `finish` (or drop).
pub(super) struct SqlitePull<'c> {
    conn: &'c mut Connection,
    feed: String,
    at: DateTime<Utc>,
    /// Values the source stood behind before this pull.
    previous: u64,
    merged: MergeReport,
    open: bool,
}

impl<'c> SqlitePull<'c> {
    pub(super) fn begin(conn: &'c mut Connection, feed: &str, at: DateTime<Utc>) -> Result<Self> {
        // IMMEDIATE: the pull holds the write lock throughout, so a workflow run reads the
        // library as before the pull or after it (WAL readers see the last commit).
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut pull = SqlitePull {
            conn,
            feed: feed.to_owned(),
            at,
            previous: 0,
            merged: MergeReport::default(),
            open: true,
        };
        pull.previous = live_votes(pull.conn, feed)?;
        Ok(pull)
    }

    /// Applies the pull: withdrawals, expiry, the feed's state; one commit.
    fn apply(
        &mut self,
        finish: &Finish,
        listed: u64,
        reason: Option<String>,
    ) -> Result<PullReport> {
        let at = millis(self.at);
        clear_withdrawn(self.conn)?;
        let absent = match finish.mode {
            FeedMode::Snapshot => mark_withdrawn(self.conn, &self.feed, at)?,
            FeedMode::Incremental => 0,
        };
        if let (FeedMode::Incremental, Some(after)) = (finish.mode, finish.expire_after) {
            mark_withdrawn(self.conn, &self.feed, at - after.num_milliseconds())?;
        }
        let withdrawn = withdraw_marked(self.conn, &self.feed, at)?;
        let kept = self.previous.saturating_sub(absent);
        let new = match finish.mode {
            FeedMode::Snapshot => listed.saturating_sub(kept),
            FeedMode::Incremental => first_listed(self.conn, &self.feed, at)?,
        };
        let report = PullReport {
            outcome: Outcome::Applied,
            reason,
            listed,
            new,
            withdrawn: withdrawn as u64,
            previous: self.previous,
            invalid: finish.invalid,
            merge: std::mem::take(&mut self.merged),
        };
        if report.merge.created + report.merge.updated > 0 || withdrawn > 0 {
            changes::bump(self.conn)?;
        }
        let live = live_votes(self.conn, &self.feed)?;
        save_state(
            self.conn,
            &self.feed,
            &report,
            &StateWrite {
                at,
                live,
                validators: Some(&finish.validators),
                cursor: finish.cursor.as_deref(),
                held_hash: None,
            },
        )?;
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(report)
    }

    /// Rolls the pull back and records it as held.
    fn hold(&mut self, finish: &Finish, listed: u64, reason: String) -> Result<PullReport> {
        self.conn.execute_batch("ROLLBACK")?;
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
        let tx = self.conn.transaction()?;
        save_state(
            &tx,
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
}

impl PullWriter for SqlitePull<'_> {
    fn merge(&mut self, sightings: &[Sighting]) -> Result<()> {
        let first = self.merged.received;
        self.merged.received += sightings.len();
        merge::merge_in(self.conn, sightings, self.at, first, &mut self.merged)
    }

    fn finish(mut self: Box<Self>, finish: Finish) -> Result<PullReport> {
        let listed = listed_now(self.conn, &self.feed, millis(self.at))?;
        if let Some(reason) = held_reason(&finish, listed, self.previous) {
            return self.hold(&finish, listed, reason);
        }
        let note = (listed == 0).then(|| "the download listed nothing".to_owned());
        self.apply(&finish, listed, note)
    }
}

impl Drop for SqlitePull<'_> {
    fn drop(&mut self) {
        if self.open {
            // An error mid-pull: nothing of it stays. A failing rollback leaves SQLite to
            // roll back when the connection closes, which it does on its own.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Records a pull that did not read the feed (unchanged, failed), and expires votes: an
/// incremental source's not listed within `expire_after`, and all of a snapshot source's
/// once no pull has confirmed its snapshot for that long.
pub(super) fn record(
    conn: &mut Connection,
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
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let now = millis(at);
    let confirmed = if outcome == Outcome::Unchanged {
        Some(now)
    } else {
        confirmed_at(&tx, feed)?
    };
    clear_withdrawn(&tx)?;
    if let Some(after) = expire_after {
        let cutoff = now - after.num_milliseconds();
        match mode {
            FeedMode::Incremental => {
                mark_withdrawn(&tx, feed, cutoff)?;
            }
            FeedMode::Snapshot if confirmed.is_some_and(|c| c < cutoff) => {
                // Every live vote: none has been confirmed since before the cutoff.
                mark_withdrawn(&tx, feed, i64::MAX)?;
            }
            FeedMode::Snapshot => {}
        }
    }
    let withdrawn = withdraw_marked(&tx, feed, now)? as u64;
    if withdrawn > 0 {
        changes::bump(&tx)?;
    }
    let live = live_votes(&tx, feed)?;
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
    save_outcome(&tx, feed, &report, now, live, confirmed)?;
    tx.commit()?;
    Ok(report)
}

fn live_votes(conn: &Connection, feed: &str) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources WHERE source = ?1 AND revoked = 0",
        params![feed],
    )
}

fn listed_now(conn: &Connection, feed: &str, at: i64) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources WHERE source = ?1 AND last_seen = ?2 AND revoked = 0",
        params![feed, at],
    )
}

fn first_listed(conn: &Connection, feed: &str, at: i64) -> Result<u64> {
    count(
        conn,
        "SELECT count(*) FROM indicator_sources WHERE source = ?1 AND first_seen = ?2 AND revoked = 0",
        params![feed, at],
    )
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn clear_withdrawn(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS pull_withdrawn (indicator_id INTEGER PRIMARY KEY);
         DELETE FROM temp.pull_withdrawn;",
    )?;
    Ok(())
}

/// Marks the live votes of `feed` last listed before `before` for withdrawal; returns how
/// many were marked (a vote marked twice counts once).
fn mark_withdrawn(conn: &Connection, feed: &str, before: i64) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO temp.pull_withdrawn (indicator_id)
         SELECT indicator_id FROM indicator_sources
         WHERE source = ?1 AND revoked = 0 AND last_seen < ?2",
        )?
        .execute(params![feed, before])?;
    Ok(n as u64)
}

/// Withdraws the marked votes and re-derives their indicators; returns how many votes.
fn withdraw_marked(conn: &Connection, feed: &str, now: i64) -> Result<usize> {
    let withdrawn = conn
        .prepare_cached(
            "UPDATE indicator_sources SET revoked = 1
             WHERE source = ?1 AND revoked = 0
               AND indicator_id IN (SELECT indicator_id FROM temp.pull_withdrawn)",
        )?
        .execute(params![feed])?;
    if withdrawn > 0 {
        conn.prepare_cached(REDERIVE)?.execute(params![now])?;
    }
    Ok(withdrawn)
}

fn confirmed_at(conn: &Connection, feed: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT confirmed_at FROM feeds WHERE name = ?1")?
        .query_row(params![feed], |row| row.get::<_, Option<i64>>(0))
        .optional()?
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
    conn: &Connection,
    feed: &str,
    report: &PullReport,
    w: &StateWrite<'_>,
) -> Result<()> {
    let applied = w.validators.is_some();
    let v = w.validators.cloned().unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO feeds (name, last_pull, outcome, reason, listed, new, withdrawn, invalid, live,
                            applied_at, confirmed_at, etag, last_modified, content_hash, held_hash,
                            cursor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                 CASE WHEN ?10 THEN ?2 END, CASE WHEN ?10 THEN ?2 END, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (name) DO UPDATE SET
            last_pull = excluded.last_pull, outcome = excluded.outcome, reason = excluded.reason,
            listed = excluded.listed, new = excluded.new, withdrawn = excluded.withdrawn,
            invalid = excluded.invalid, live = excluded.live,
            applied_at = CASE WHEN ?10 THEN excluded.applied_at ELSE applied_at END,
            confirmed_at = CASE WHEN ?10 THEN excluded.confirmed_at ELSE confirmed_at END,
            etag = CASE WHEN ?10 THEN excluded.etag ELSE etag END,
            last_modified = CASE WHEN ?10 THEN excluded.last_modified ELSE last_modified END,
            content_hash = CASE WHEN ?10 THEN excluded.content_hash ELSE content_hash END,
            held_hash = excluded.held_hash,
            cursor = coalesce(excluded.cursor, cursor)",
    )?
    .execute(params![
        feed,
        w.at,
        report.outcome.as_str(),
        report.reason,
        report.listed as i64,
        report.new as i64,
        report.withdrawn as i64,
        report.invalid as i64,
        w.live as i64,
        applied,
        v.etag,
        v.last_modified,
        v.content_hash,
        w.held_hash,
        w.cursor,
    ])?;
    Ok(())
}

/// Writes the state after a pull that did not read the feed: counts of the last read pull
/// stay, the withdrawn count is this pull's.
fn save_outcome(
    conn: &Connection,
    feed: &str,
    report: &PullReport,
    at: i64,
    live: u64,
    confirmed: Option<i64>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO feeds (name, last_pull, outcome, reason, withdrawn, live, confirmed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (name) DO UPDATE SET
            last_pull = excluded.last_pull, outcome = excluded.outcome, reason = excluded.reason,
            withdrawn = excluded.withdrawn, live = excluded.live,
            confirmed_at = excluded.confirmed_at",
    )?
    .execute(params![
        feed,
        at,
        report.outcome.as_str(),
        report.reason,
        report.withdrawn as i64,
        live as i64,
        confirmed
    ])?;
    Ok(())
}

const SELECT_STATE: &str = "SELECT name, last_pull, outcome, reason, listed, new, withdrawn, invalid,
    applied_at, confirmed_at, etag, last_modified, content_hash, held_hash, cursor, live FROM feeds";

pub(super) fn state(conn: &Connection, feed: &str) -> Result<Option<FeedState>> {
    let sql = format!("{SELECT_STATE} WHERE name = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![feed])?;
    rows.next()?.map(read_state).transpose()
}

pub(super) fn states(conn: &Connection) -> Result<Vec<FeedState>> {
    let sql = format!("{SELECT_STATE} ORDER BY name");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_state(row)?);
    }
    Ok(out)
}

fn read_state(row: &Row<'_>) -> Result<FeedState> {
    let time = |i: usize| -> Result<Option<DateTime<Utc>>> {
        row.get::<_, Option<i64>>(i)?.map(from_millis).transpose()
    };
    let number =
        |i: usize| -> Result<u64> { Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(0)) };
    let outcome: String = row.get(2)?;
    Ok(FeedState {
        name: row.get(0)?,
        last_pull: from_millis(row.get(1)?)?,
        outcome: outcome
            .parse()
            .map_err(|e| Error::corrupt("pull outcome", outcome.clone(), e))?,
        reason: row.get(3)?,
        listed: number(4)?,
        new: number(5)?,
        withdrawn: number(6)?,
        invalid: number(7)?,
        applied_at: time(8)?,
        confirmed_at: time(9)?,
        validators: Validators {
            etag: row.get(10)?,
            last_modified: row.get(11)?,
            content_hash: row.get(12)?,
        },
        held_hash: row.get(13)?,
        cursor: row.get(14)?,
        live: number(15)?,
    })
}
