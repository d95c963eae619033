//! The SQLite backend: one file in WAL mode with foreign keys on, a busy timeout so several
//! handles (CLI, scheduler, webhook) can share it, and migrations embedded in the binary.

mod changes;
mod copy;
mod lease;
mod ledger;
#[macro_use]
mod merge;
mod migrate;
mod pull;
mod query;
mod runs;
mod taxii;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicator::Kind;
use rusqlite::Connection;

use crate::backend::LibraryBackend;
use crate::collection::Collection;
use crate::columns::{from_json, from_millis, millis, parse_kind, to_json};
use crate::error::{Error, Result};
use crate::feed::{FeedState, PullReport, PullWriter, Unread};
use crate::lease::{Lease, LeaseHolder};
use crate::ledger::LedgerEntry;
use crate::model::{IndicatorRecord, MergeReport, Sighting, SourceVote};
use crate::run::{GuardDrop, RunItem, RunRecord, RunStatus};
use crate::state::WorkflowState;
use crate::taxii::{Page, Published};

pub use merge::CHUNK as MERGE_CHUNK;

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Page cache per connection, in KiB (SQLite's negative `cache_size` convention): large enough
/// that the indexes of a million indicators stay in memory during a bulk merge.
const CACHE_KIB: i64 = 64 * 1024;
/// WAL pages written before SQLite copies them back into the database file. SQLite's 1,000
/// made a bulk merge spend a third of its time checkpointing; 8,192 pages (32 MiB) cuts that
/// to a few percent and the WAL stays bounded.
const WAL_AUTOCHECKPOINT: i64 = 8192;
/// Prepared statements kept per connection; more than the merge and query paths use.
const STATEMENT_CACHE: usize = 64;

/// The library in one SQLite file.
pub struct SqliteLibrary {
    conn: Connection,
    path: PathBuf,
}

impl SqliteLibrary {
    /// Opens (creating if missing) the library at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| Error::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        migrate::apply(&mut conn, &path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteLibrary { conn, path })
    }

    /// The file this library lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        migrate::version(&self.conn).map_err(Error::from)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The first statement that reads the file: a non-SQLite file fails here, under Error::Open.
    conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get::<_, String>(0))?;
    // NORMAL is durable across application crashes in WAL mode and much faster than FULL.
    conn.pragma_update(None, "synchronous", "normal")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
    // Temporary files in memory: a statement that fires triggers (the kind counts of
    // migration 010 on every merge's update) keeps a statement journal, and on disk that
    // journal doubled the system time of re-importing a million known indicators.
    conn.pragma_update(None, "temp_store", "memory")?;
    Ok(())
}

impl LibraryBackend for SqliteLibrary {
    fn merge_at(&mut self, sightings: &[Sighting], now: DateTime<Utc>) -> Result<MergeReport> {
        merge::merge(&mut self.conn, sightings, now)
    }

    fn refresh_status(&mut self, now: DateTime<Utc>) -> Result<usize> {
        merge::refresh_status(&mut self.conn, now)
    }

    fn set_disabled(
        &mut self,
        kind: Kind,
        value: &str,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        merge::set_disabled(&mut self.conn, kind, value, disabled, now)
    }

    fn indicator(
        &self,
        kind: Kind,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IndicatorRecord>> {
        query::indicator(&self.conn, kind, value, now)
    }

    fn votes(&self, kind: Kind, value: &str) -> Result<Vec<SourceVote>> {
        query::votes(&self.conn, kind, value)
    }

    fn count(&self) -> Result<u64> {
        query::count(&self.conn)
    }

    fn save_collection(&mut self, collection: &Collection, replace: bool) -> Result<()> {
        query::save_collection(&mut self.conn, collection, replace)
    }

    fn collection(&self, name: &str) -> Result<Option<Collection>> {
        query::collection(&self.conn, name)
    }

    fn collections(&self) -> Result<Vec<Collection>> {
        query::collections(&self.conn)
    }

    fn remove_collection(&mut self, name: &str) -> Result<bool> {
        query::remove_collection(&mut self.conn, name)
    }

    fn scan(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        query::scan(&self.conn, collection, now, limit, visit)
    }

    fn scan_lean(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        query::scan_lean(&self.conn, collection, now, visit)
    }

    fn scan_kind(
        &self,
        collection: &Collection,
        kind: Kind,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        query::scan_kind(&self.conn, collection, kind, now, limit, visit)
    }

    fn count_kind(&self, collection: &Collection, kind: Kind, now: DateTime<Utc>) -> Result<u64> {
        query::count_kind(&self.conn, collection, kind, now)
    }

    fn published(&self, collection: &str) -> Result<Vec<Published>> {
        taxii::published(&self.conn, collection)
    }

    fn publish(
        &mut self,
        collection: &str,
        changes: &[Published],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        taxii::publish(&mut self.conn, collection, changes, now)
    }

    fn published_page(
        &self,
        collection: &str,
        added_after: Option<DateTime<Utc>>,
        after_seq: u64,
        limit: u64,
    ) -> Result<Page> {
        taxii::page(&self.conn, collection, added_after, after_seq, limit)
    }

    fn change_counter(&self) -> Result<u64> {
        changes::counter(&self.conn)
    }

    fn workflow_state(&self, workflow: &str) -> Result<Option<WorkflowState>> {
        changes::workflow_state(&self.conn, workflow)
    }

    fn set_workflow_state(&mut self, workflow: &str, state: &WorkflowState) -> Result<()> {
        changes::set_workflow_state(&self.conn, workflow, state)
    }

    fn forget_workflow_state(&mut self, workflow: &str) -> Result<bool> {
        changes::forget_workflow_state(&self.conn, workflow)
    }

    fn ledger_upsert(&mut self, entries: &[LedgerEntry]) -> Result<()> {
        ledger::ledger_apply(&mut self.conn, "", entries, &[]).map(drop)
    }

    fn ledger_remove(&mut self, target: &str, values: &[(Kind, String)]) -> Result<usize> {
        ledger::ledger_apply(&mut self.conn, target, &[], values)
    }

    fn ledger_apply(
        &mut self,
        target: &str,
        upserts: &[LedgerEntry],
        removals: &[(Kind, String)],
    ) -> Result<usize> {
        ledger::ledger_apply(&mut self.conn, target, upserts, removals)
    }

    fn ledger(&self, target: &str) -> Result<Vec<LedgerEntry>> {
        ledger::ledger(&self.conn, target)
    }

    fn space_claims(&self, space: &str) -> Result<Vec<LedgerEntry>> {
        ledger::space_claims(&self.conn, space)
    }

    fn claims_on(&self, space: &str, values: &[(Kind, String)]) -> Result<Vec<LedgerEntry>> {
        ledger::claims_on(&self.conn, space, values)
    }

    fn space_counts(&self, space: &str) -> Result<Vec<(Kind, u64)>> {
        ledger::space_counts(&self.conn, space)
    }

    fn set_claim_space(&mut self, target: &str, space: &str) -> Result<usize> {
        ledger::set_claim_space(&mut self.conn, target, space)
    }

    fn ledger_changes(&self, space: &str) -> Result<Vec<(String, u64)>> {
        ledger::ledger_changes(&self.conn, space)
    }

    fn library_id(&self) -> Result<String> {
        ledger::library_id(&self.conn)
    }

    fn ledger_count(&self, target: &str) -> Result<u64> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM ledger WHERE target = ?1",
            [target],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn start_run(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<i64> {
        runs::start_run(&self.conn, workflow, at)
    }

    fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &serde_json::Value,
        errors: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        runs::finish_run(&self.conn, id, status, counts, errors, at)
    }

    fn record_run_items(
        &mut self,
        id: i64,
        subject: Option<&str>,
        items: &[RunItem],
    ) -> Result<()> {
        runs::record_run_items(&mut self.conn, id, subject, items)
    }

    fn runs(&self, limit: u64) -> Result<Vec<RunRecord>> {
        runs::runs(&self.conn, limit)
    }

    fn runs_named(&self, name: &str, limit: u64) -> Result<Vec<RunRecord>> {
        runs::runs_named(&self.conn, name, limit)
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        runs::run(&self.conn, id)
    }

    fn run_items(&self, id: i64, limit: u64) -> Result<Vec<RunItem>> {
        runs::run_items(&self.conn, id, limit)
    }

    fn interrupt_runs(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<usize> {
        runs::interrupt_runs(&self.conn, workflow, at)
    }

    fn cursor(&self, feed: &str) -> Result<Option<String>> {
        runs::cursor(&self.conn, feed)
    }

    fn set_cursor(&mut self, feed: &str, cursor: &str, at: DateTime<Utc>) -> Result<()> {
        runs::set_cursor(&self.conn, feed, cursor, at)
    }

    fn begin_pull(&mut self, feed: &str, at: DateTime<Utc>) -> Result<Box<dyn PullWriter + '_>> {
        Ok(Box::new(pull::SqlitePull::begin(&mut self.conn, feed, at)?))
    }

    fn record_pull(&mut self, feed: &str, unread: Unread, at: DateTime<Utc>) -> Result<PullReport> {
        pull::record(&mut self.conn, feed, unread, at)
    }

    fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        pull::state(&self.conn, feed)
    }

    fn feed_states(&self) -> Result<Vec<FeedState>> {
        pull::states(&self.conn)
    }

    fn record_drops(&mut self, drops: &[GuardDrop]) -> Result<()> {
        runs::record_drops(&mut self.conn, drops)
    }

    fn drops(&self, limit: u64) -> Result<Vec<GuardDrop>> {
        runs::drops(&self.conn, limit)
    }

    fn remember_signature(
        &mut self,
        trigger: &str,
        signature_hash: &[u8; 32],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        lease::remember_signature(&mut self.conn, trigger, signature_hash, now, expires_at)
    }

    fn take_lease(
        &mut self,
        name: &str,
        holder: &LeaseHolder,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        may_take: &(dyn Fn(&Lease) -> bool + Sync),
    ) -> Result<Option<Lease>> {
        lease::take_lease(&mut self.conn, name, holder, now, expires_at, may_take)
    }

    fn release_lease(&mut self, name: &str, holder: &LeaseHolder) -> Result<bool> {
        lease::release_lease(&self.conn, name, holder)
    }

    fn leases(&self) -> Result<Vec<Lease>> {
        lease::leases(&self.conn)
    }

    fn export_page(
        &self,
        table: &crate::copy::Table,
        after: Option<&[crate::copy::Cell]>,
        limit: u64,
    ) -> Result<Vec<Vec<crate::copy::Cell>>> {
        copy::export_page(&self.conn, table, after, limit)
    }

    fn begin_copy(&mut self) -> Result<Box<dyn crate::copy::CopyWriter + '_>> {
        Ok(Box::new(copy::SqliteCopy::begin(&mut self.conn)?))
    }

    fn second_handle(&self) -> Result<Option<Box<dyn LibraryBackend + Send>>> {
        Ok(Some(Box::new(SqliteLibrary::open(&self.path)?)))
    }
}

pub(super) fn limit_param(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
