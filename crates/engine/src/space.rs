//! The space lease: while one batch decides and writes objects of a space (one list on one
//! target), nothing else may change the claims on them. Claims are read, the write decided
//! ([`crate::claims::decide`]), the target written and the ledger updated under it, so a
//! workflow and a trigger (or two workflows, or `iocsync block` and the daemon) never both
//! conclude that an object is theirs alone to remove.
//!
//! Two locks make it: an in-process async mutex per space (tasks of one daemon), and a lease
//! `space:<space>` in the library (other processes on the same library). Both are held for a
//! few batches only (one window of a per-value target, at most four windows of a Vision One
//! list), so a trigger waits at most that long behind a running workflow.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use store::{Lease, LibraryBackend};
use tokio::sync::OwnedMutexGuard;

use crate::error::EngineError;
use crate::keys;
use crate::lease;

/// How long a space lease lasts if its holder vanishes mid-batch (a batch takes seconds).
const SPACE_LEASE_TTL: Duration = Duration::from_secs(60);
/// How often a holder whose batch waits on tasks (which may take minutes) renews the lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(20);
/// How long to wait for another process's batch before giving up.
const WAIT_AT_MOST: Duration = Duration::from_secs(5 * 60);
/// Pause between two attempts on a space another process holds.
const RETRY_EVERY: Duration = Duration::from_millis(25);

type Locks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

static IN_PROCESS: LazyLock<Locks> = LazyLock::new(Locks::default);

fn in_process(space: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = IN_PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    locks.entry(space.to_owned()).or_default().clone()
}

/// A held space: give it back with [`SpaceGuard::release`] once the batch is recorded.
#[must_use = "a space lease must be released"]
pub struct SpaceGuard {
    name: String,
    _local: OwnedMutexGuard<()>,
}

/// Takes `space` for one batch; `library` is borrowed only to take the lease.
pub async fn lock(
    library: &mut dyn LibraryBackend,
    space: &str,
) -> Result<SpaceGuard, EngineError> {
    acquire(space, &mut |name, me, now, until, check| {
        library.take_lease(name, me, now, until, check)
    })
    .await
}

/// [`lock`] for a library shared behind a mutex (the daemon's triggers), locked only for the
/// moment each attempt takes.
pub async fn lock_shared(
    library: &Mutex<store::Library>,
    space: &str,
) -> Result<SpaceGuard, EngineError> {
    acquire(space, &mut |name, me, now, until, check| {
        let mut library = library.lock().unwrap_or_else(PoisonError::into_inner);
        library.take_lease(name, me, now, until, check)
    })
    .await
}

type TakeLease<'a> = dyn FnMut(
        &str,
        &store::LeaseHolder,
        chrono::DateTime<Utc>,
        chrono::DateTime<Utc>,
        &(dyn Fn(&Lease) -> bool + Sync),
    ) -> Result<Option<Lease>, store::Error>
    + Send
    + 'a;

async fn acquire(space: &str, take: &mut TakeLease<'_>) -> Result<SpaceGuard, EngineError> {
    let local = in_process(space).lock_owned().await;
    let name = keys::space_lease(space);
    let me = lease::lease_holder();
    let started = std::time::Instant::now();
    loop {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(SPACE_LEASE_TTL).unwrap_or(chrono::Duration::MAX);
        let check = |held: &Lease| lease::may_take(held, &me, now);
        match take(&name, &me, now, now + ttl, &check)? {
            None => {
                return Ok(SpaceGuard {
                    name,
                    _local: local,
                });
            }
            Some(held) if started.elapsed() >= WAIT_AT_MOST => {
                return Err(EngineError::SpaceBusy(Box::new(held)));
            }
            Some(_) => tokio::time::sleep(RETRY_EVERY).await,
        }
    }
}

impl SpaceGuard {
    /// Extends the lease by its term from now, so a batch waiting on tasks longer than the
    /// term keeps the space; an error when another process took the space meanwhile (the lease
    /// had lapsed).
    pub fn renew(&self, library: &mut dyn LibraryBackend) -> Result<(), EngineError> {
        let me = lease::lease_holder();
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(SPACE_LEASE_TTL).unwrap_or(chrono::Duration::MAX);
        // The same process always re-takes its own lease; another holder is never displaced.
        match library.take_lease(&self.name, &me, now, now + ttl, &|_| false)? {
            None => Ok(()),
            Some(held) => Err(EngineError::SpaceLost(Box::new(held))),
        }
    }

    /// Gives the space back (the in-process lock goes with the guard).
    pub fn release(self, library: &mut dyn LibraryBackend) -> Result<(), EngineError> {
        library.release_lease(&self.name, &lease::lease_holder())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{LeaseHolder, Library};

    #[tokio::test]
    async fn a_renewed_space_stays_ours_and_a_lost_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut library = Library::open(dir.path().join("library.db")).unwrap();
        let space = "v1#suspicious-renew-test";
        let guard = lock(&mut *library, space).await.unwrap();
        let other = LeaseHolder {
            holder: "other daemon".into(),
            host: "elsewhere".into(),
            pid: 1,
            started: None,
        };
        let name = keys::space_lease(space);
        let at = |seconds| Utc::now() + chrono::Duration::seconds(seconds);
        let take = |library: &mut dyn LibraryBackend, seconds| {
            let now = at(seconds);
            library.take_lease(
                &name,
                &other,
                now,
                now + chrono::Duration::seconds(60),
                &|held| lease::may_take(held, &other, now),
            )
        };
        guard.renew(&mut *library).unwrap();
        assert!(
            take(&mut *library, 30).unwrap().is_some(),
            "still ours within the term"
        );
        // The term lapses with no renewal and another process takes the space.
        assert!(take(&mut *library, 120).unwrap().is_none());
        let lost = guard.renew(&mut *library).unwrap_err();
        assert!(matches!(lost, EngineError::SpaceLost(_)), "{lost}");
        assert!(lost.to_string().contains("other daemon"), "{lost}");
    }
}
