//! The storage interface. `SqliteLibrary` implements it; a PostgreSQL backend can implement the
//! same trait later without the feeds, the engine or the CLI changing.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use indicator::Kind;

use crate::collection::Collection;
use crate::error::Result;
use crate::feed::{FeedState, PullReport, PullWriter, Unread};
use crate::lease::{Lease, LeaseHolder};
use crate::ledger::LedgerEntry;
use crate::model::{IndicatorRecord, MergeReport, Sighting, SourceVote};
use crate::run::{GuardDrop, RunItem, RunRecord, RunStatus};
use crate::state::WorkflowState;
use crate::taxii::{Page, Published};

/// Everything iocsync keeps between runs. Calls are synchronous: async callers use
/// `spawn_blocking`. Writes take `&mut self` so one handle is one writer.
pub trait LibraryBackend: Send {
    // --- indicators -------------------------------------------------------------------------

    /// Merges sightings into the library, deriving statuses as of `now`.
    ///
    /// Rules, per indicator `(kind, value)`:
    /// - each source keeps one vote: its latest score (a sighting without a score keeps the
    ///   previous one) and whether it revoked the indicator (its latest sighting decides, by
    ///   `seen_at`); the indicator's score is the highest among the votes not revoked;
    /// - a source's revocation withdraws only that source's vote: the indicator is `revoked`
    ///   once no source that reported it still stands behind it, and comes back when any
    ///   source reports it again;
    /// - tags and sources are unioned; first seen is the earliest, last seen the latest, and
    ///   valid until the latest given (an indicator no source gave an end to never expires);
    /// - class `asset` sticks once any source says so (blocking one's own asset is the worse
    ///   mistake); description and display keep the latest given;
    /// - status: `disabled` (by a person) over `revoked` over `expired` (valid until < now)
    ///   over `active`.
    ///
    /// Sightings with an empty value or source, or a score above 10, are refused and listed in
    /// the report; the rest are merged. Work is committed in chunks, each one transaction.
    fn merge_at(&mut self, sightings: &[Sighting], now: DateTime<Utc>) -> Result<MergeReport>;

    /// [`merge_at`](Self::merge_at) as of the current time.
    fn merge(&mut self, sightings: &[Sighting]) -> Result<MergeReport> {
        self.merge_at(sightings, Utc::now())
    }

    /// Re-derives every status as of `now` (expiry); returns how many changed.
    fn refresh_status(&mut self, now: DateTime<Utc>) -> Result<usize>;

    /// Switches an indicator off (or back on) by hand; returns whether it exists.
    fn set_disabled(
        &mut self,
        kind: Kind,
        value: &str,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// One indicator, with its status as of `now`.
    fn indicator(
        &self,
        kind: Kind,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IndicatorRecord>>;

    /// Each source's vote on one indicator, by source name.
    fn votes(&self, kind: Kind, value: &str) -> Result<Vec<SourceVote>>;

    /// How many indicators the library holds.
    fn count(&self) -> Result<u64>;

    // --- collections ------------------------------------------------------------------------

    /// Stores a collection definition; refuses to overwrite one unless `replace`.
    fn save_collection(&mut self, collection: &Collection, replace: bool) -> Result<()>;

    fn collection(&self, name: &str) -> Result<Option<Collection>>;

    /// Every stored collection, by name.
    fn collections(&self) -> Result<Vec<Collection>>;

    /// Returns whether the collection existed.
    fn remove_collection(&mut self, name: &str) -> Result<bool>;

    /// Streams the members of `collection` as of `now` in its order, at most `limit` of them,
    /// without holding them all in memory. `visit` may stop early with `ControlFlow::Break`.
    /// Returns how many members were visited.
    fn scan(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64>;

    /// [`scan`](Self::scan) with every record's `tags` and `sources` left empty, for readers
    /// that use neither (a Deep Security plan reads a million addresses): the same members in
    /// the same order, read about twice as fast.
    fn scan_lean(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64>;

    /// Streams the members of `collection` of one `kind` as of `now`, best ranked first, at most
    /// `limit` of them; `visit` may stop early with `ControlFlow::Break`. Returns how many were
    /// visited (none when the collection does not admit `kind`).
    ///
    /// The order is [`scan`](Self::scan)'s restricted to one kind, the order in which the
    /// engine's caps and budgets keep values: for [`Order::Priority`](crate::Order) highest
    /// score first (unscored last), then most recently seen, then by value (byte order), so
    /// ties are broken the same way every time; for `Order::Recent` last seen before score.
    /// A capped workflow reads its top N of a kind without the rest being read or sorted.
    fn scan_kind(
        &self,
        collection: &Collection,
        kind: Kind,
        now: DateTime<Utc>,
        limit: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64>;

    /// How many members of one `kind` `collection` has as of `now` (none when it does not
    /// admit `kind`): what a capped read tells about the members it left unread.
    fn count_kind(&self, collection: &Collection, kind: Kind, now: DateTime<Utc>) -> Result<u64>;

    /// [`scan_kind`](Self::scan_kind) for every kind the collection admits, in [`Kind::ALL`]
    /// order, at most `limit_per_kind` of each. A `Break` from `visit` ends the whole scan.
    /// Returns how many members were visited.
    fn scan_per_kind(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit_per_kind: Option<u64>,
        visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64> {
        let mut visited = 0;
        let mut stopped = false;
        for kind in Kind::ALL {
            if stopped {
                break;
            }
            visited += self.scan_kind(collection, kind, now, limit_per_kind, &mut |record| {
                let next = visit(record);
                stopped = next.is_break();
                next
            })?;
        }
        Ok(visited)
    }

    /// The members of `collection`, collected (for small collections and tests).
    fn members(
        &self,
        collection: &Collection,
        now: DateTime<Utc>,
        limit: Option<u64>,
    ) -> Result<Vec<IndicatorRecord>> {
        let mut out = Vec::new();
        self.scan(collection, now, limit, &mut |record| {
            out.push(record);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    // --- TAXII publication ------------------------------------------------------------------

    /// Every value TAXII collection `collection` has published (revoked ones too), in no
    /// particular order: what the next publication is compared with.
    fn published(&self, collection: &str) -> Result<Vec<Published>>;

    /// Publishes `changes` (new objects, changed ones, revocations) in one transaction, in
    /// order: each gets the collection's next `seq` and an `added` time no earlier than `now`
    /// and strictly later than any before it. Returns how many were written.
    fn publish(
        &mut self,
        collection: &str,
        changes: &[Published],
        now: DateTime<Utc>,
    ) -> Result<usize>;

    /// The collection's objects published after `added_after` (all when `None`) and after
    /// `after_seq` (a page's continuation), in publication order, at most `limit`.
    fn published_page(
        &self,
        collection: &str,
        added_after: Option<DateTime<Utc>>,
        after_seq: u64,
        limit: u64,
    ) -> Result<Page>;

    // --- change tracking --------------------------------------------------------------------

    /// The library's change counter: it grows with every committed change that can alter a
    /// collection's members (a merge that merged anything, a pull that merged or withdrew
    /// anything, a status refresh or `set_disabled` that touched a row, a collection saved or
    /// removed) and with nothing else (ledger, runs, leases, cursors, feed states). A change
    /// and its bump commit together. Changes that need no write are not counted: an indicator
    /// whose validity passes reads as expired before `refresh_status` writes it, so callers
    /// must watch expiry times themselves ([`WorkflowState::next_due`]).
    fn change_counter(&self) -> Result<u64>;

    /// What `workflow` remembers of its last complete run, if anything.
    fn workflow_state(&self, workflow: &str) -> Result<Option<WorkflowState>>;

    /// Records `workflow`'s last complete run (replacing what it remembered).
    fn set_workflow_state(&mut self, workflow: &str, state: &WorkflowState) -> Result<()>;

    /// Forgets `workflow`'s last complete run (a run that did not complete must not be relied
    /// on); returns whether there was one.
    fn forget_workflow_state(&mut self, workflow: &str) -> Result<bool>;

    // --- ledger -----------------------------------------------------------------------------

    /// Records what was pushed (replacing an earlier entry for the same target and value).
    fn ledger_upsert(&mut self, entries: &[LedgerEntry]) -> Result<()>;

    /// Forgets values removed from a target; returns how many entries were removed.
    fn ledger_remove(&mut self, target: &str, values: &[(Kind, String)]) -> Result<usize>;

    /// Records one confirmed batch atomically: `upserts` as [`ledger_upsert`](Self::ledger_upsert)
    /// and `removals` forgotten from `target`, in one transaction (a crash leaves both or
    /// neither). Returns how many entries were removed.
    fn ledger_apply(
        &mut self,
        target: &str,
        upserts: &[LedgerEntry],
        removals: &[(Kind, String)],
    ) -> Result<usize>;

    /// Everything the ledger holds for a target, by kind and value.
    fn ledger(&self, target: &str) -> Result<Vec<LedgerEntry>>;

    /// Every claim in `space` (every claimant's rows on one list of one target), by kind and
    /// value, then claimant.
    fn space_claims(&self, space: &str) -> Result<Vec<LedgerEntry>>;

    /// The claims in `space` on each of `values` (of every claimant).
    fn claims_on(&self, space: &str, values: &[(Kind, String)]) -> Result<Vec<LedgerEntry>>;

    /// How many distinct values of each kind are claimed in `space`.
    fn space_counts(&self, space: &str) -> Result<Vec<(Kind, u64)>>;

    /// Puts every row of ledger `target` in `space` (rows written before spaces existed have
    /// none); returns how many rows moved.
    fn set_claim_space(&mut self, target: &str, space: &str) -> Result<usize>;

    /// How many times each claimant's claims in `space` were written, by claimant: a ledger
    /// write (upsert, removal, [`set_claim_space`](Self::set_claim_space)) bumps the
    /// counter of every (space, claimant) it touches, in its transaction. A workflow compares
    /// them with what its last complete run saw, since other claimants on its list change its
    /// plan.
    fn ledger_changes(&self, space: &str) -> Result<Vec<(String, u64)>>;

    /// The library's identity: random, made with the library, never changed.
    fn library_id(&self) -> Result<String>;

    /// How many entries the ledger holds for a target (the daemon's status page asks often).
    fn ledger_count(&self, target: &str) -> Result<u64> {
        Ok(self.ledger(target)?.len() as u64)
    }

    // --- runs -------------------------------------------------------------------------------

    /// Opens a run in status `running`; returns its id.
    fn start_run(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<i64>;

    /// Closes a run with its outcome; returns whether the run exists.
    fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        counts: &serde_json::Value,
        errors: &[String],
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Keeps what a run did, item by item, and what it was about (`subject`); called once,
    /// as the run is closed.
    fn record_run_items(&mut self, id: i64, subject: Option<&str>, items: &[RunItem])
    -> Result<()>;

    /// The latest runs, newest first.
    fn runs(&self, limit: u64) -> Result<Vec<RunRecord>>;

    /// The latest runs named `name` (a workflow, `hook:<trigger>`, ...), newest first.
    fn runs_named(&self, name: &str, limit: u64) -> Result<Vec<RunRecord>>;

    /// One run, if it exists.
    fn run(&self, id: i64) -> Result<Option<RunRecord>>;

    /// The items kept for run `id`, in the order they were recorded, at most `limit`.
    fn run_items(&self, id: i64, limit: u64) -> Result<Vec<RunItem>>;

    /// Marks the runs of `workflow` still `running` as `interrupted` (their process died: the
    /// caller holds the workflow's lease, so none of them can still be going); returns how many.
    fn interrupt_runs(&mut self, workflow: &str, at: DateTime<Utc>) -> Result<usize>;

    // --- feed cursors -----------------------------------------------------------------------

    fn cursor(&self, feed: &str) -> Result<Option<String>>;

    fn set_cursor(&mut self, feed: &str, cursor: &str, at: DateTime<Utc>) -> Result<()>;

    // --- feeds ------------------------------------------------------------------------------

    /// Starts writing a pull of `feed` made at `at`: everything until
    /// [`PullWriter::finish`] is one transaction, and dropping the writer rolls it back.
    fn begin_pull(&mut self, feed: &str, at: DateTime<Utc>) -> Result<Box<dyn PullWriter + '_>>;

    /// Records a pull that did not read the feed (unchanged or failed) and applies
    /// `expire_after` (see [`crate::feed`]).
    fn record_pull(&mut self, feed: &str, unread: Unread, at: DateTime<Utc>) -> Result<PullReport>;

    /// One feed's state, if it was ever pulled.
    fn feed_state(&self, feed: &str) -> Result<Option<FeedState>>;

    /// Every feed ever pulled, by name.
    fn feed_states(&self) -> Result<Vec<FeedState>>;

    // --- guard drops ------------------------------------------------------------------------

    /// Records values a guard kept out of an export.
    fn record_drops(&mut self, drops: &[GuardDrop]) -> Result<()>;

    /// The latest drops, newest first.
    fn drops(&self, limit: u64) -> Result<Vec<GuardDrop>>;

    // --- webhook replay memory --------------------------------------------------------------

    /// Records that `trigger` let in a call whose signature hashes to `signature_hash`, kept
    /// until `expires_at` (the end of its timestamp window); first forgets every signature
    /// whose window ended before `now`. Returns false, recording nothing, when the signature
    /// is already known: a replay. Atomic, so of two calls with one signature only one passes.
    fn remember_signature(
        &mut self,
        trigger: &str,
        signature_hash: &[u8; 32],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;

    // --- leases -----------------------------------------------------------------------------

    /// Takes the lease `name` for `holder` until `expires_at`, in one transaction. A lease held
    /// by another process is taken over only when `may_take` says so (it expired, or its
    /// process is gone); one held by the same process (host and pid) is renewed. Returns
    /// `None` when taken, else the lease that stands in the way.
    fn take_lease(
        &mut self,
        name: &str,
        holder: &LeaseHolder,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        may_take: &(dyn Fn(&Lease) -> bool + Sync),
    ) -> Result<Option<Lease>>;

    /// Gives the lease `name` back if `holder`'s process holds it; returns whether it did.
    fn release_lease(&mut self, name: &str, holder: &LeaseHolder) -> Result<bool>;

    /// Every lease on record, by name, lapsed ones included (a lapsed lease stays until it is
    /// taken again or released): what each process sharing the library holds.
    fn leases(&self) -> Result<Vec<Lease>>;

    // --- copying a whole library ([`crate::copy`]) -------------------------------------------

    /// At most `limit` rows of `table` whose key comes after `after` (all from the first when
    /// `None`), in key order, columns in [`Table::columns`](crate::copy::Table) order.
    fn export_page(
        &self,
        table: &crate::copy::Table,
        after: Option<&[crate::copy::Cell]>,
        limit: u64,
    ) -> Result<Vec<Vec<crate::copy::Cell>>>;

    /// Starts filling this library with a copy, in one transaction: refused
    /// ([`Error::NotEmpty`](crate::Error::NotEmpty)) unless it holds nothing but its own id
    /// and change counter (which the copy replaces).
    fn begin_copy(&mut self) -> Result<Box<dyn crate::copy::CopyWriter + '_>>;

    /// A second handle on the same library, for renewing a lease from another thread while
    /// this handle is busy with the run. `None` when the backend cannot give one; its leases
    /// then last their whole term.
    fn second_handle(&self) -> Result<Option<Box<dyn LibraryBackend + Send>>> {
        Ok(None)
    }
}
