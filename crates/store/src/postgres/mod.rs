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
//! The synchronous `postgres` client runs its own small Tokio runtime per connection: calling
//! it on an async runtime's worker thread panics ("Cannot start a runtime from within a
//! runtime"), where SQLite would merely block the worker. Async callers must use
//! `spawn_blocking` (or `block_in_place`), as the trait asks.

mod changes;
pub mod connect;
mod lease;
mod ledger;
mod merge;
mod migrate;
mod pull;
mod query;
mod runs;
mod taxii;

use std::cell::{RefCell, RefMut};
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::Client;

use crate::backend::LibraryBackend;
use crate::collection::Collection;
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

/// The library in a PostgreSQL database.
pub struct PostgresLibrary {
    /// `RefCell`: the trait's reads take `&self`, the client wants `&mut`. A read cannot
    /// start while a scan streams to its visitor ([`Error::Busy`]).
    conn: RefCell<Client>,
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
        let mut client = connector.connect()?;
        migrate::apply(&mut client, &connector.url_redacted)?;
        Ok(PostgresLibrary {
            conn: RefCell::new(client),
            connector,
        })
    }

    /// Connects to a database that must already hold a library (one iocsync made): commands
    /// that act on targets use this, so a mistyped URL is an error ([`Error::NoLibrary`]),
    /// never a new empty library that has forgotten what was pushed. Nothing is created.
    pub fn connect_existing(options: &PostgresOptions) -> Result<Self> {
        let connector = Connector::new(options)?;
        let mut client = connector.connect()?;
        if migrate::version(&mut client)? == 0 {
            return Err(Error::NoLibrary {
                url_redacted: connector.url_redacted.clone(),
            });
        }
        migrate::apply(&mut client, &connector.url_redacted)?;
        Ok(PostgresLibrary {
            conn: RefCell::new(client),
            connector,
        })
    }

    /// The connection string, password masked.
    pub fn url_redacted(&self) -> &str {
        &self.connector.url_redacted
    }

    /// The schema version (number of PostgreSQL migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        migrate::version(&mut *self.client()?)
    }

    /// The connection, for a call with `&self`: reconnected first if the server ended it (a
    /// restart, a failover: the call that met the broken connection failed, this one goes on).
    fn client(&self) -> Result<RefMut<'_, Client>> {
        let mut client = self.conn.try_borrow_mut().map_err(|_| Error::Busy)?;
        if client.is_closed() {
            *client = self.connector.connect()?;
        }
        Ok(client)
    }

    /// [`client`](Self::client) for a call with `&mut self`.
    fn client_mut(&mut self) -> Result<&mut Client> {
        let client = self.conn.get_mut();
        if client.is_closed() {
            *client = self.connector.connect()?;
        }
        Ok(client)
    }
}

/// Milliseconds since the Unix epoch, the unit every time column uses.
fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::corrupt("timestamp", ms.to_string(), "out of range"))
}

fn parse_kind(text: &str) -> Result<Kind> {
    text.parse::<Kind>()
        .map_err(|e| Error::corrupt("kind", text, e.to_string()))
}

fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what, source })
}

fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, text: String) -> Result<T> {
    serde_json::from_str(&text).map_err(|e| Error::corrupt(what, text, e))
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
        merge::merge(self.client_mut()?, sightings, now)
    }

    fn refresh_status(&mut self, now: DateTime<Utc>) -> Result<usize> {
        merge::refresh_status(self.client_mut()?, now)
    }

    fn set_disabled(
        &mut self,
        kind: Kind,
        value: &str,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        merge::set_disabled(self.client_mut()?, kind, value, disabled, now)
    }

    fn indicator(
        &self,
        kind: Kind,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IndicatorRecord>> {
        query::indicator(&mut *self.client()?, kind, value, now)
    }

    fn votes(&self, kind: Kind, value: &str) -> Result<Vec<SourceVote>> {
        query::votes(&mut *self.client()?, kind, value)
    }

    fn count(&self) -> Result<u64> {
        query::count(&mut *self.client()?)
    }

    fn save_collection(&mut self, collection: &Collection, replace: bool) -> Result<()> {
        query::save_collection(self.client_mut()?, collection, replace)
    }

    fn collection(&self, name: &str) -> Result<Option<Collection>> {
        query::collection(&mut *self.client()?, name)
    }

    fn collections(&self) -> Result<Vec<Collection>> {
        query::collections(&mut *self.client()?)
    }

    fn remove_collection(&mut self, name: &str) -> Result<bool> {
        query::remove_collection(self.client_mut()?, name)
    }

    fn scan(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut dyn FnMut(IndicatorRecord) -> ControlFlow<()>,
    ) -> Result<u64> {
        query::scan(&mut *self.client()?, collection, now, limit, false, visit)
    }

    fn scan_lean(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        visit: &mut dyn FnMut(IndicatorRecord) -> ControlFlow<()>,
    ) -> Result<u64> {
        query::scan(&mut *self.client()?, collection, now, None, true, visit)
    }

    fn scan_kind(
        &self,
        collection: &Collection,
        kind: Kind,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut dyn FnMut(IndicatorRecord) -> ControlFlow<()>,
    ) -> Result<u64> {
        query::scan_kind(&mut *self.client()?, collection, kind, now, limit, visit)
    }

    fn count_kind(&self, collection: &Collection, kind: Kind, now: DateTime<Utc>) -> Result<u64> {
        query::count_kind(&mut *self.client()?, collection, kind, now)
    }

    fn published(&self, collection: &str) -> Result<Vec<Published>> {
        taxii::published(&mut *self.client()?, collection)
    }

    fn publish(
        &mut self,
        collection: &str,
        changes: &[Published],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        taxii::publish(self.client_mut()?, collection, changes, now)
    }

    fn published_page(
        &self,
        collection: &str,
        added_after: Option<DateTime<Utc>>,
        after_seq: u64,
        limit: u64,
    ) -> Result<Page> {
        taxii::page(
            &mut *self.client()?,
            collection,
            added_after,
            after_seq,
            limit,
        )
    }

    fn change_counter(&self) -> Result<u64> {
        changes::counter(&mut *self.client()?)
    }

    fn workflow_state(&self, workflow: &str) -> Result<Option<WorkflowState>> {
        changes::workflow_state(&mut *self.client()?, workflow)
    }

    fn set_workflow_state(&mut self, workflow: &str, state: &WorkflowState) -> Result<()> {
        changes::set_workflow_state(self.client_mut()?, workflow, state)
    }

    fn forget_workflow_state(&mut self, workflow: &str) -> Result<bool> {
        changes::forget_workflow_state(self.client_mut()?, workflow)
    }

    fn ledger_upsert(&mut self, entries: &[LedgerEntry]) -> Result<()> {
        ledger::ledger_apply(self.client_mut()?, "", entries, &[]).map(drop)
    }

    fn ledger_remove(&mut self, target: &str, values: &[(Kind, String)]) -> Result<usize> {
        ledger::ledger_apply(self.client_mut()?, target, &[], values)
    }

    fn ledger_apply(
        &mut self,
        target: &str,
        upserts: &[LedgerEntry],
        removals: &[(Kind, String)],
    ) -> Result<usize> {
        ledger::ledger_apply(self.client_mut()?, target, upserts, removals)
    }

    fn ledger(&self, target: &str) -> Result<Vec<LedgerEntry>> {
        ledger::ledger(&mut *self.client()?, target)
    }

    fn space_claims(&self, space: &str) -> Result<Vec<LedgerEntry>> {
        ledger::space_claims(&mut *self.client()?, space)
    }

    fn claims_on(&self, space: &str, values: &[(Kind, String)]) -> Result<Vec<LedgerEntry>> {
        ledger::claims_on(&mut *self.client()?, space, values)
    }

    fn space_counts(&self, space: &str) -> Result<Vec<(Kind, u64)>> {
        ledger::space_counts(&mut *self.client()?, space)
    }

    fn set_claim_space(&mut self, target: &str, space: &str) -> Result<usize> {
        ledger::set_claim_space(self.client_mut()?, target, space)
    }

    fn ledger_changes(&self, space: &str) -> Result<Vec<(String, u64)>> {
        ledger::ledger_changes(&mut *self.client()?, space)
    }

    fn library_id(&self) -> Result<String> {
        ledger::library_id(&mut *self.client()?)
    }

    fn ledger_count(&self, target: &str) -> Result<u64> {
        ledger::ledger_count(&mut *self.client()?, target)
    }

    fn start_run(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<i64> {
        runs::start_run(self.client_mut()?, workflow, at)
    }

    fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &serde_json::Value,
        errors: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool> {
        runs::finish_run(self.client_mut()?, id, status, counts, errors, at)
    }

    fn record_run_items(
        &mut self,
        id: i64,
        subject: Option<&str>,
        items: &[RunItem],
    ) -> Result<()> {
        runs::record_run_items(self.client_mut()?, id, subject, items)
    }

    fn runs(&self, limit: u64) -> Result<Vec<RunRecord>> {
        runs::runs(&mut *self.client()?, None, limit)
    }

    fn runs_named(&self, name: &str, limit: u64) -> Result<Vec<RunRecord>> {
        runs::runs(&mut *self.client()?, Some(name), limit)
    }

    fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        runs::run(&mut *self.client()?, id)
    }

    fn run_items(&self, id: i64, limit: u64) -> Result<Vec<RunItem>> {
        runs::run_items(&mut *self.client()?, id, limit)
    }

    fn interrupt_runs(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<usize> {
        runs::interrupt_runs(self.client_mut()?, workflow, at)
    }

    fn cursor(&self, feed: &str) -> Result<Option<String>> {
        runs::cursor(&mut *self.client()?, feed)
    }

    fn set_cursor(&mut self, feed: &str, cursor: &str, at: DateTime<Utc>) -> Result<()> {
        runs::set_cursor(self.client_mut()?, feed, cursor, at)
    }

    fn begin_pull(&mut self, feed: &str, at: DateTime<Utc>) -> Result<Box<dyn PullWriter + '_>> {
        Ok(Box::new(pull::PostgresPull::begin(
            self.client_mut()?,
            feed,
            at,
        )?))
    }

    fn record_pull(&mut self, feed: &str, unread: Unread, at: DateTime<Utc>) -> Result<PullReport> {
        pull::record(self.client_mut()?, feed, unread, at)
    }

    fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        pull::state(&mut *self.client()?, feed)
    }

    fn feed_states(&self) -> Result<Vec<FeedState>> {
        pull::states(&mut *self.client()?)
    }

    fn record_drops(&mut self, drops: &[GuardDrop]) -> Result<()> {
        runs::record_drops(self.client_mut()?, drops)
    }

    fn drops(&self, limit: u64) -> Result<Vec<GuardDrop>> {
        runs::drops(&mut *self.client()?, limit)
    }

    fn remember_signature(
        &mut self,
        trigger: &str,
        signature_hash: &[u8; 32],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        lease::remember_signature(self.client_mut()?, trigger, signature_hash, now, expires_at)
    }

    fn take_lease(
        &mut self,
        name: &str,
        holder: &LeaseHolder,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        may_take: &dyn Fn(&Lease) -> bool,
    ) -> Result<Option<Lease>> {
        lease::take_lease(self.client_mut()?, name, holder, now, expires_at, may_take)
    }

    fn release_lease(&mut self, name: &str, holder: &LeaseHolder) -> Result<bool> {
        lease::release_lease(self.client_mut()?, name, holder)
    }

    fn second_handle(&self) -> Result<Option<Box<dyn LibraryBackend + Send>>> {
        // The schema is migrated already: a new connection is all a second handle needs.
        Ok(Some(Box::new(PostgresLibrary {
            conn: RefCell::new(self.connector.connect()?),
            connector: self.connector.clone(),
        })))
    }
}
