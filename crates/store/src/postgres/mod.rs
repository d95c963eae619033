//! The PostgreSQL backend: the library in a PostgreSQL database, for teams that run several
//! iocsync processes on several hosts against one library, or that want the library in their
//! managed database. Same schema, rules and answers as the SQLite backend (its tests run on
//! both); what differs is how the work reaches the server:
//!
//! - [`connect`]: connection strings, `sslmode` / CA file (rustls), redaction of passwords;
//! - `migrate`: embedded migrations under an advisory lock, the schema version table;
//! - `merge`: merges set-based, a chunk of sightings folded in Rust and sent as arrays;
//! - `query`: collections and members, streamed from a portal in pages;
//! - `ledger`, `runs`, `pull`, `taxii`, `lease`, `changes`: one module per concern, as in
//!   SQLite's.
//!
//! One handle is one connection, opened again on the next call when the server ended it (a
//! restart, a failover: the call that met the broken connection fails). Writers that SQLite serialises with its one write lock take
//! transaction-scoped advisory locks here (`locks`), so the same read-then-write rules hold
//! with several processes: merges and pulls one at a time, one lease decision per name, one
//! TAXII publication per collection, one ledger write at a time.
//!
//! The synchronous `postgres` client runs its own small Tokio runtime per connection and
//! `block_on`s it for every call (connecting, each statement, and dropping the client):
//! on a thread already inside a Tokio runtime that panics ("Cannot start a runtime from
//! within a runtime"). The engine calls the library from async code (the CLI's `block_on`,
//! the daemon's tasks), where SQLite merely blocks the worker. So every use of a client here
//! goes through `off_runtime`: inside a runtime it runs on a scoped helper thread, which has
//! no runtime, while the caller's thread blocks as it would on SQLite; elsewhere it runs
//! inline. That is why the trait's scan visitors are `Send` and `take_lease`'s `may_take` is
//! `Sync`: they are called on that helper thread. A pull's writer does the same for each of
//! its calls and its rollback on drop.

mod changes;
pub mod connect;
mod copy;
mod counts;
mod lease;
mod ledger;
mod merge;
mod migrate;
mod pull;
mod query;
mod runs;
mod taxii;

use std::cell::RefCell;
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::Client;

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

use connect::Connector;
pub use connect::{PostgresOptions, SslMode, redact};
pub use migrate::SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION;

/// Advisory lock keys (the `pg_advisory_xact_lock` namespace of this library's database).
/// Each is held to the end of the transaction that takes it.
pub(crate) mod locks {
    /// Applying migrations.
    pub const MIGRATION: i64 = 0x696f_6373_796e_6301;
    /// Writing indicators and votes (merges, pulls, expiry of unread pulls).
    pub const INDICATORS: i64 = 0x696f_6373_796e_6302;
    /// Writing the ledger (claims and their per-space counters).
    pub const LEDGER: i64 = 0x696f_6373_796e_6303;
    /// The two-key form's first key for leases (the second is the name's hash).
    pub const LEASE: i32 = 0x696f_6301;
    /// The two-key form's first key for TAXII publications (the second: the collection's hash).
    pub const TAXII: i32 = 0x696f_6302;
}

/// Runs `f` where the synchronous client may block on its own runtime: on a scoped helper
/// thread when the caller is inside a Tokio runtime (blocking the caller until it is done, as
/// a SQLite call would), inline otherwise. A panic in `f` is raised again on the caller.
pub(crate) fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A client that is dropped through [`off_runtime`]: closing the connection blocks on the
/// client's runtime too, and a library may be dropped in async code. Empty once dropped, or
/// when connecting again failed.
struct Conn(Option<Client>);

impl Conn {
    fn new(client: Client) -> Self {
        Conn(Some(client))
    }

    /// The client, connected again first if the server ended the connection (a restart, a
    /// failover: the call that met the broken connection failed, this one goes on). Called
    /// off the runtime's thread: the broken client is dropped here.
    fn live(&mut self, connector: &Connector) -> Result<&mut Client> {
        let client = match self.0.take() {
            Some(client) if !client.is_closed() => client,
            // Empty after a failed reconnect: the next call tries again.
            _ => connector.connect()?,
        };
        Ok(self.0.insert(client))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// The library in a PostgreSQL database.
///
/// A scan's visitor runs on the helper thread and must be `Send`; this handle is not `Sync`,
/// so a visitor cannot call back into the handle that is scanning:
///
/// ```compile_fail
/// use std::ops::ControlFlow;
/// use store::{Collection, LibraryBackend, PostgresLibrary};
///
/// fn count_while_scanning(lib: &PostgresLibrary, now: chrono::DateTime<chrono::Utc>) {
///     let _ = lib.scan(&Collection::new("all"), now, None, &mut |_| {
///         let _ = lib.count();
///         ControlFlow::Continue(())
///     });
/// }
/// ```
pub struct PostgresLibrary {
    /// `RefCell`: the trait's reads take `&self`, the client wants `&mut`. A visitor is `Send`
    /// and this handle is not `Sync`, so a scan's visitor cannot call back into it; a read
    /// that still finds the client borrowed fails with [`Error::Busy`] rather than panic.
    conn: RefCell<Conn>,
    /// A second connection, opened for the first merge large enough to split (see
    /// [`merge::merge`]).
    helper: Conn,
    connector: Connector,
}

impl PostgresLibrary {
    /// Connects to the library at `url` (a `postgres://` URL or libpq key-value pairs, with an
    /// optional `sslmode` and `sslrootcert`) and brings its schema up to date.
    pub fn connect(url: &str) -> Result<Self> {
        PostgresLibrary::connect_with(&PostgresOptions::new(url))
    }

    /// [`connect`](Self::connect) with a password, `sslmode` or CA file given apart from the
    /// URL.
    pub fn connect_with(options: &PostgresOptions) -> Result<Self> {
        let connector = Connector::new(options)?;
        // On an error the client is dropped in the closure, off the runtime's thread.
        let conn = off_runtime(|| -> Result<Conn> {
            let mut client = connector.connect()?;
            migrate::apply(&mut client, &connector.url_redacted)?;
            Ok(Conn::new(client))
        })?;
        Ok(PostgresLibrary {
            conn: RefCell::new(conn),
            helper: Conn(None),
            connector,
        })
    }

    /// Connects to a database that must already hold a library (one iocsync made): commands
    /// that act on targets use this, so a mistyped URL is an error ([`Error::NoLibrary`]),
    /// never a new empty library that has forgotten what was pushed. Nothing is created.
    pub fn connect_existing(options: &PostgresOptions) -> Result<Self> {
        let connector = Connector::new(options)?;
        let conn = off_runtime(|| -> Result<Conn> {
            let mut client = connector.connect()?;
            if migrate::version(&mut client)? == 0 {
                return Err(Error::NoLibrary {
                    url_redacted: connector.url_redacted.clone(),
                });
            }
            migrate::apply(&mut client, &connector.url_redacted)?;
            Ok(Conn::new(client))
        })?;
        Ok(PostgresLibrary {
            conn: RefCell::new(conn),
            helper: Conn(None),
            connector,
        })
    }

    /// The connection string, password masked.
    pub fn url_redacted(&self) -> &str {
        &self.connector.url_redacted
    }

    /// The schema version (number of PostgreSQL migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        self.with(migrate::version)
    }

    /// Runs `f` with the connection ([`Conn::live`]), for a call with `&self`, off the
    /// runtime's thread ([`off_runtime`]).
    fn with<R: Send>(&self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        let mut borrowed = self.conn.try_borrow_mut().map_err(|_| Error::Busy)?;
        // The `RefMut` stays on this thread (it is not `Send`); the client it lends goes.
        let conn: &mut Conn = &mut borrowed;
        let connector = &self.connector;
        off_runtime(move || f(conn.live(connector)?))
    }

    /// [`with`](Self::with) for a call with `&mut self`.
    fn with_mut<R: Send>(&mut self, f: impl FnOnce(&mut Client) -> Result<R> + Send) -> Result<R> {
        let conn = self.conn.get_mut();
        let connector = &self.connector;
        off_runtime(move || f(conn.live(connector)?))
    }

    /// The connection for a pull's writer, which borrows it past this call: connected
    /// again off the runtime's thread when needed.
    fn client_mut(&mut self) -> Result<&mut Client> {
        let conn = self.conn.get_mut();
        let connector = &self.connector;
        off_runtime(|| Conn::live(conn, connector))
    }
}

/// Plans the rest of the caller's transaction as look-ups by key: no hash or merge joins, no
/// full scans.
///
/// A write transaction (a merge chunk, a ledger batch) joins a few thousand keys to tables of
/// any size: a nested loop over the indexes costs the batch, while the hash join with a full
/// scan the planner picks once it has statistics costs the library (a re-import of 300,000
/// lines went from 13 s to 22 s after an `ANALYZE`, measured).
fn keyed_plans(conn: &mut impl postgres::GenericClient) -> Result<()> {
    conn.batch_execute(
        "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
         SET LOCAL enable_seqscan = off",
    )?;
    Ok(())
}

/// A count or size as PostgreSQL's `bigint`.
fn int8(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `bigint` count back (never negative in this schema).
fn count_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn score_of(what: &'static str, score: Option<i32>) -> Result<Option<u8>> {
    score
        .map(|s| u8::try_from(s).map_err(|e| Error::corrupt(what, s.to_string(), e)))
        .transpose()
}

impl LibraryBackend for PostgresLibrary {
    fn merge_at(&mut self, sightings: &[Sighting], now: DateTime<Utc>) -> Result<MergeReport> {
        let conn = self.conn.get_mut();
        let helper = &mut self.helper;
        let connector = &self.connector;
        off_runtime(move || {
            let conn = conn.live(connector)?;
            // Without a second connection (the server's limit reached, say) one at a time.
            let helper = (sightings.len() >= merge::SPLIT_AT)
                .then(|| helper.live(connector).ok())
                .flatten();
            merge::merge(conn, helper, sightings, now)
        })
    }

    fn refresh_status(&mut self, now: DateTime<Utc>) -> Result<usize> {
        self.with_mut(|conn| merge::refresh_status(conn, now))
    }

    fn set_disabled(
        &mut self,
        kind: Kind,
        value: &str,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.with_mut(|conn| merge::set_disabled(conn, kind, value, disabled, now))
    }

    fn indicator(
        &self,
        kind: Kind,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IndicatorRecord>> {
        self.with(|conn| query::indicator(conn, kind, value, now))
    }

    fn votes(&self, kind: Kind, value: &str) -> Result<Vec<SourceVote>> {
        self.with(|conn| query::votes(conn, kind, value))
    }

    fn count(&self) -> Result<u64> {
        self.with(query::count)
    }

    fn save_collection(&mut self, collection: &Collection, replace: bool) -> Result<()> {
        self.with_mut(|conn| query::save_collection(conn, collection, replace))
    }

    fn collection(&self, name: &str) -> Result<Option<Collection>> {
        self.with(|conn| query::collection(conn, name))
    }

    fn collections(&self) -> Result<Vec<Collection>> {
        self.with(query::collections)
    }

    fn remove_collection(&mut self, name: &str) -> Result<bool> {
        self.with_mut(|conn| query::remove_collection(conn, name))
    }

    fn scan(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        self.with(|conn| query::scan(conn, collection, now, limit, false, visit))
    }

    fn scan_lean(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        self.with(|conn| query::scan(conn, collection, now, None, true, visit))
    }

    fn scan_kind(
        &self,
        collection: &Collection,
        kind: Kind,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        self.with(|conn| query::scan_kind(conn, collection, kind, now, limit, visit))
    }

    fn count_kind(&self, collection: &Collection, kind: Kind, now: DateTime<Utc>) -> Result<u64> {
        self.with(|conn| query::count_kind(conn, collection, kind, now))
    }

    fn published(&self, collection: &str) -> Result<Vec<Published>> {
        self.with(|conn| taxii::published(conn, collection))
    }

    fn publish(
        &mut self,
        collection: &str,
        changes: &[Published],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.with_mut(|conn| taxii::publish(conn, collection, changes, now))
    }

    fn published_page(
        &self,
        collection: &str,
        added_after: Option<DateTime<Utc>>,
        after_seq: u64,
        limit: u64,
    ) -> Result<Page> {
        self.with(|conn| taxii::page(conn, collection, added_after, after_seq, limit))
    }

    fn change_counter(&self) -> Result<u64> {
        self.with(changes::counter)
    }

    fn workflow_state(&self, workflow: &str) -> Result<Option<WorkflowState>> {
        self.with(|conn| changes::workflow_state(conn, workflow))
    }

    fn set_workflow_state(&mut self, workflow: &str, state: &WorkflowState) -> Result<()> {
        self.with_mut(|conn| changes::set_workflow_state(conn, workflow, state))
    }

    fn forget_workflow_state(&mut self, workflow: &str) -> Result<bool> {
        self.with_mut(|conn| changes::forget_workflow_state(conn, workflow))
    }

    fn ledger_upsert(&mut self, entries: &[LedgerEntry]) -> Result<()> {
        self.with_mut(|conn| ledger::ledger_apply(conn, "", entries, &[]))
            .map(drop)
    }

    fn ledger_remove(&mut self, target: &str, values: &[(Kind, String)]) -> Result<usize> {
        self.with_mut(|conn| ledger::ledger_apply(conn, target, &[], values))
    }

    fn ledger_apply(
        &mut self,
        target: &str,
        upserts: &[LedgerEntry],
        removals: &[(Kind, String)],
    ) -> Result<usize> {
        self.with_mut(|conn| ledger::ledger_apply(conn, target, upserts, removals))
    }

    fn ledger(&self, target: &str) -> Result<Vec<LedgerEntry>> {
        self.with(|conn| ledger::ledger(conn, target))
    }

    fn space_claims(&self, space: &str) -> Result<Vec<LedgerEntry>> {
        self.with(|conn| ledger::space_claims(conn, space))
    }

    fn claims_on(&self, space: &str, values: &[(Kind, String)]) -> Result<Vec<LedgerEntry>> {
        self.with(|conn| ledger::claims_on(conn, space, values))
    }

    fn space_counts(&self, space: &str) -> Result<Vec<(Kind, u64)>> {
        self.with(|conn| ledger::space_counts(conn, space))
    }

    fn set_claim_space(&mut self, target: &str, space: &str) -> Result<usize> {
        self.with_mut(|conn| ledger::set_claim_space(conn, target, space))
    }

    fn ledger_changes(&self, space: &str) -> Result<Vec<(String, u64)>> {
        self.with(|conn| ledger::ledger_changes(conn, space))
    }

    fn library_id(&self) -> Result<String> {
        self.with(ledger::library_id)
    }

    fn ledger_count(&self, target: &str) -> Result<u64> {
        self.with(|conn| ledger::ledger_count(conn, target))
    }

    fn start_run(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<i64> {
        self.with_mut(|conn| runs::start_run(conn, workflow, at))
    }

    fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &serde_json::Value,
        errors: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.with_mut(|conn| runs::finish_run(conn, id, status, counts, errors, at))
    }

    fn record_run_items(
        &mut self,
        id: i64,
        subject: Option<&str>,
        items: &[RunItem],
    ) -> Result<()> {
        self.with_mut(|conn| runs::record_run_items(conn, id, subject, items))
    }

    fn runs(&self, limit: u64) -> Result<Vec<RunRecord>> {
        self.with(|conn| runs::runs(conn, None, limit))
    }

    fn runs_named(&self, name: &str, limit: u64) -> Result<Vec<RunRecord>> {
        self.with(|conn| runs::runs(conn, Some(name), limit))
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        self.with(|conn| runs::run(conn, id))
    }

    fn run_items(&self, id: i64, limit: u64) -> Result<Vec<RunItem>> {
        self.with(|conn| runs::run_items(conn, id, limit))
    }

    fn interrupt_runs(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<usize> {
        self.with_mut(|conn| runs::interrupt_runs(conn, workflow, at))
    }

    fn cursor(&self, feed: &str) -> Result<Option<String>> {
        self.with(|conn| runs::cursor(conn, feed))
    }

    fn set_cursor(&mut self, feed: &str, cursor: &str, at: DateTime<Utc>) -> Result<()> {
        self.with_mut(|conn| runs::set_cursor(conn, feed, cursor, at))
    }

    fn begin_pull(&mut self, feed: &str, at: DateTime<Utc>) -> Result<Box<dyn PullWriter + '_>> {
        let conn = self.client_mut()?;
        let pull = off_runtime(|| pull::PostgresPull::begin(conn, feed, at))?;
        Ok(Box::new(pull))
    }

    fn record_pull(&mut self, feed: &str, unread: Unread, at: DateTime<Utc>) -> Result<PullReport> {
        self.with_mut(|conn| pull::record(conn, feed, unread, at))
    }

    fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        self.with(|conn| pull::state(conn, feed))
    }

    fn feed_states(&self) -> Result<Vec<FeedState>> {
        self.with(pull::states)
    }

    fn record_drops(&mut self, drops: &[GuardDrop]) -> Result<()> {
        self.with_mut(|conn| runs::record_drops(conn, drops))
    }

    fn drops(&self, limit: u64) -> Result<Vec<GuardDrop>> {
        self.with(|conn| runs::drops(conn, limit))
    }

    fn remember_signature(
        &mut self,
        trigger: &str,
        signature_hash: &[u8; 32],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.with_mut(|conn| {
            lease::remember_signature(conn, trigger, signature_hash, now, expires_at)
        })
    }

    fn take_lease(
        &mut self,
        name: &str,
        holder: &LeaseHolder,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        may_take: &(dyn Fn(&Lease) -> bool + Sync),
    ) -> Result<Option<Lease>> {
        self.with_mut(|conn| lease::take_lease(conn, name, holder, now, expires_at, may_take))
    }

    fn release_lease(&mut self, name: &str, holder: &LeaseHolder) -> Result<bool> {
        self.with_mut(|conn| lease::release_lease(conn, name, holder))
    }

    fn leases(&self) -> Result<Vec<Lease>> {
        self.with(lease::leases)
    }

    fn export_page(
        &self,
        table: &crate::copy::Table,
        after: Option<&[crate::copy::Cell]>,
        limit: u64,
    ) -> Result<Vec<Vec<crate::copy::Cell>>> {
        self.with(|conn| copy::export_page(conn, table, after, limit))
    }

    fn begin_copy(&mut self) -> Result<Box<dyn crate::copy::CopyWriter + '_>> {
        let conn = self.client_mut()?;
        let copy = off_runtime(|| copy::PostgresCopy::begin(conn))?;
        Ok(Box::new(copy))
    }

    fn second_handle(&self) -> Result<Option<Box<dyn LibraryBackend + Send>>> {
        // The schema is migrated already: a new connection is all a second handle needs.
        let connector = &self.connector;
        let conn = off_runtime(|| connector.connect().map(Conn::new))?;
        Ok(Some(Box::new(PostgresLibrary {
            conn: RefCell::new(conn),
            helper: Conn(None),
            connector: self.connector.clone(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::off_runtime;

    #[test]
    fn inside_a_runtime_the_work_runs_on_another_thread_and_its_panic_comes_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let here = std::thread::current().id();
        runtime.block_on(async {
            assert_ne!(off_runtime(|| std::thread::current().id()), here);
            let panicked = std::panic::catch_unwind(|| off_runtime(|| panic!("in the helper")));
            let payload = panicked.unwrap_err();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"in the helper"));
        });
        assert_eq!(off_runtime(|| std::thread::current().id()), here);
    }
}
