//! The library: iocsync's local store of indicators, plus the ledger, runs, feed cursors and
//! guard drops the engine needs.
//!
//! - [`model`]: sightings (what feeds produce) and indicator records (what the library holds).
//! - [`collection`]: saved, ordered filters over the library.
//! - [`feed`]: feeds' pull state, and how a pull is applied (snapshots withdraw what
//!   their source stopped listing; a pull that looks broken is held).
//! - [`ledger`]: the claims iocsync holds on each target's values.
//! - [`run`]: run records and statuses, and the values guards kept out.
//! - [`lease`]: one lease per workflow, so two processes never run it together.
//! - [`state`]: what a workflow remembers of its last complete run, against the library's
//!   change counter, so an unchanged run can be told without reading the collection.
//! - [`LibraryBackend`]: the storage interface, with the merge rules on `merge_at`.
//! - [`SqliteLibrary`]: the default backend: one file, WAL, foreign keys, busy timeout,
//!   migrations embedded in the binary and tracked in `PRAGMA user_version`.
//! - [`PostgresLibrary`]: the same library in a PostgreSQL database (`Library::connect(url)`),
//!   migrations under an advisory lock, merges set-based; the store's tests run on both.
//! - [`Library`]: the handle callers hold (`Library::open(path)?.merge(&sightings)?`).
//!
//! The API is synchronous; async callers use `spawn_blocking`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod backend;
pub mod collection;
mod columns;
pub mod copy;
pub mod error;
pub mod feed;
pub mod lease;
pub mod ledger;
mod library;
pub mod model;
pub mod postgres;
pub mod run;
mod sqlite;
pub mod state;
pub mod taxii;

pub use backend::LibraryBackend;
pub use collection::{Collection, InvalidCollection, Order, SeenWithin};
pub use error::{Error, Result};
pub use feed::{
    Checks, FeedMode, FeedState, Finish, Outcome, PullReport, PullWriter, Unread, Validators,
};
pub use lease::{Lease, LeaseHolder};
pub use ledger::LedgerEntry;
pub use library::Library;
pub use model::{
    Class, IndicatorRecord, MergeReport, Rejected, Sighting, SourceVote, Status, UnknownName,
};
pub use postgres::{POSTGRES_SCHEMA_VERSION, PostgresLibrary, PostgresOptions, SslMode};
pub use run::{GuardDrop, RunItem, RunRecord, RunStatus};
pub use sqlite::{MERGE_CHUNK, SqliteLibrary};
pub use state::WorkflowState;
