//! Scheduled work shared by several daemons on one library: before a daemon runs a due
//! workflow or pulls a due feed it [`take`]s that occurrence, so of N daemons whose schedules
//! all say "due" exactly one does the work.
//!
//! Taking is two steps in the library. First the work's lease (`workflow:<name>`,
//! `feed:<name>`: the lease a run holds anyway, so one process at a time). Then, holding it,
//! the work's last start as the library records it (the workflow's latest run, the feed's
//! last pull): when that start is later than `since` and it did the work (a run that
//! succeeded, was partial or held removals; a pull that did not fail), the occurrence was
//! another process's and the lease is given back. A failed attempt leaves the occurrence to
//! be retried, here or by whoever gets there first. `since` is where the caller's schedule says the occurrence
//! began: one interval ago for an interval, the cron time for a cron, the failed attempt's
//! end for a retry, the request for a feed that changed. Because the last start is read
//! under the lease, two daemons cannot both find it old and both run.
//!
//! A workflow whose latest run is still `running` while its lease could be taken was left by
//! a process that died (a lease lapses [`LEASE_TTL`](crate::LEASE_TTL) after its last
//! renewal, at once when its pid is gone from this host): the taker runs it again whatever
//! `since` says, and the run marks the dead one interrupted. The ledger makes the second run
//! send only what the first did not confirm.

use chrono::{DateTime, Utc};
use store::{Lease, LibraryBackend, Outcome, RunStatus};

use crate::error::EngineError;
use crate::{keys, lease};

/// A unit of scheduled work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work<'a> {
    /// A run of the workflow so named.
    Workflow(&'a str),
    /// A pull of the feed so named.
    Feed(&'a str),
}

impl Work<'_> {
    /// The lease the work is done under.
    pub fn lease(self) -> String {
        match self {
            Work::Workflow(name) => keys::workflow_lease(name),
            Work::Feed(name) => keys::feed_lease(name),
        }
    }

    /// When the work last started, as the library records it, and how that attempt ended.
    fn last_start(self, library: &dyn LibraryBackend) -> Result<Option<Start>, EngineError> {
        Ok(match self {
            Work::Workflow(name) => library.runs_named(name, 1)?.first().map(|run| Start {
                at: run.started_at,
                ended: match run.status {
                    RunStatus::Running => Ended::Not,
                    RunStatus::Succeeded | RunStatus::Partial | RunStatus::Held => Ended::Done,
                    _ => Ended::Failed,
                },
            }),
            // A pull is one transaction: one that died left nothing behind.
            Work::Feed(name) => library.feed_state(name)?.map(|state| Start {
                at: state.last_pull,
                ended: if state.outcome == Outcome::Failed {
                    Ended::Failed
                } else {
                    Ended::Done
                },
            }),
        })
    }
}

struct Start {
    at: DateTime<Utc>,
    ended: Ended,
}

/// How an attempt at the work ended.
enum Ended {
    /// It did the work.
    Done,
    /// It failed (or was stopped): the work is still to do.
    Failed,
    /// It has not: left running by a process that died, since its lease could be taken.
    Not,
}

/// Who has an occurrence of scheduled work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// This process: it holds the work's lease until [`release`] (a run gives it back itself).
    Mine,
    /// Another process is at the work now (it holds the lease).
    Running(Box<Lease>),
    /// Another process started the work at `at`, after the occurrence began: it is done.
    Done { at: DateTime<Utc> },
}

/// Takes the occurrence of `work` that began at `since` for this process, or says who has it.
pub fn take(
    library: &mut dyn LibraryBackend,
    work: Work<'_>,
    since: DateTime<Utc>,
) -> Result<Taken, EngineError> {
    let me = lease::lease_holder();
    let name = work.lease();
    match lease::take(library, &name, &me) {
        Ok(()) => {}
        Err(EngineError::Busy(held)) => return Ok(Taken::Running(held)),
        Err(error) => return Err(error),
    }
    let last = work.last_start(library);
    let taken = match &last {
        Ok(Some(start)) if start.at > since && matches!(start.ended, Ended::Done) => {
            Taken::Done { at: start.at }
        }
        Ok(_) => return Ok(Taken::Mine),
        // Given back below; the error is the caller's to report.
        Err(_) => Taken::Mine,
    };
    library.release_lease(&name, &me)?;
    last.map(|_| taken)
}

/// Gives back the lease of `work` taken by [`take`], if this process still holds it.
pub fn release(library: &mut dyn LibraryBackend, work: Work<'_>) -> Result<(), EngineError> {
    library.release_lease(&work.lease(), &lease::lease_holder())?;
    Ok(())
}

/// Renews the lease of `work` while the work goes on (see [`lease::Keeper`]).
pub fn keep(library: &dyn LibraryBackend, work: Work<'_>) -> lease::Keeper {
    lease::Keeper::start(
        library,
        &work.lease(),
        &lease::lease_holder(),
        lease::RENEW_EVERY,
    )
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use store::{LeaseHolder, SqliteLibrary};

    use super::*;

    fn library() -> (tempfile::TempDir, SqliteLibrary) {
        let dir = tempfile::tempdir().unwrap();
        let library = SqliteLibrary::open(dir.path().join("l.db")).unwrap();
        (dir, library)
    }

    /// Another live process on another host, holding `work`'s lease for a minute.
    fn held_elsewhere(library: &mut SqliteLibrary, work: Work<'_>, now: DateTime<Utc>) {
        let other = LeaseHolder {
            holder: "iocsync serve".into(),
            host: "other-host".into(),
            pid: 1,
            started: None,
        };
        let taken = library
            .take_lease(
                &work.lease(),
                &other,
                now,
                now + Duration::minutes(1),
                &|_| false,
            )
            .unwrap();
        assert_eq!(taken, None);
    }

    #[test]
    fn an_occurrence_started_elsewhere_after_it_began_is_done_and_the_lease_given_back() {
        let (_dir, mut library) = library();
        let now = Utc::now();
        let work = Work::Workflow("block");
        assert_eq!(take(&mut library, work, now).unwrap(), Taken::Mine);
        let id = library.start_run("block", now).unwrap();
        library
            .finish_run(id, RunStatus::Succeeded, &serde_json::json!({}), &[], now)
            .unwrap();
        release(&mut library, work).unwrap();

        // A daemon whose occurrence began before that run finds it done.
        let before = now - Duration::seconds(1);
        assert_eq!(
            take(&mut library, work, before).unwrap(),
            Taken::Done {
                at: library.runs(1).unwrap()[0].started_at
            }
        );
        assert!(library.leases().unwrap().is_empty(), "given back");
        // One whose occurrence began after it takes it.
        let later = now + Duration::seconds(1);
        assert_eq!(take(&mut library, work, later).unwrap(), Taken::Mine);
        assert_eq!(library.leases().unwrap().len(), 1);
    }

    #[test]
    fn work_another_process_holds_is_running_elsewhere() {
        let (_dir, mut library) = library();
        let now = Utc::now();
        held_elsewhere(&mut library, Work::Feed("abuse"), now);
        match take(&mut library, Work::Feed("abuse"), now).unwrap() {
            Taken::Running(lease) => assert_eq!(lease.holder.host, "other-host"),
            other => panic!("{other:?}"),
        }
        // Another unit of work is free.
        assert_eq!(
            take(&mut library, Work::Workflow("abuse"), now).unwrap(),
            Taken::Mine
        );
    }

    #[test]
    fn a_failed_attempt_leaves_the_occurrence_to_be_retried() {
        let (_dir, mut library) = library();
        let now = Utc::now();
        let id = library.start_run("block", now).unwrap();
        let errors = ["stopped".to_owned()];
        library
            .finish_run(id, RunStatus::Failed, &serde_json::json!({}), &errors, now)
            .unwrap();
        let before = now - Duration::seconds(10);
        assert_eq!(
            take(&mut library, Work::Workflow("block"), before).unwrap(),
            Taken::Mine
        );
    }

    #[test]
    fn a_run_left_running_by_a_dead_holder_is_taken_over_whatever_since_says() {
        let (_dir, mut library) = library();
        let now = Utc::now();
        library.start_run("block", now).unwrap();
        // Its lease lapsed: nothing stands in the way, and the run is not finished.
        let before = now - Duration::seconds(10);
        assert_eq!(
            take(&mut library, Work::Workflow("block"), before).unwrap(),
            Taken::Mine
        );
    }
}
