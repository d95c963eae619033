//! The daemons sharing one library, as each of them shows it. Every few seconds a daemon
//! renews its presence, the lease `daemon:<host>:<pid>` (it lapses [`LEASE_TTL`] after the
//! last renewal, so a daemon that died drops out of the view); the view lists the daemons
//! with the work each holds (the leases of runs, pulls and lifts) and the other processes
//! holding work (a manual `iocsync run`). A daemon that cannot reach the library takes no
//! scheduled work (taking it needs the library) and says so: in the log, once, and in the
//! view, until it reaches the library again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use engine::{LEASE_TTL, keys, lease};
use serde::Serialize;
use store::{Lease, LeaseHolder, LibraryBackend};

use super::Shared;
use super::runner::lock;

/// How often a daemon renews its presence: well inside [`LEASE_TTL`].
const BEAT_EVERY: Duration = Duration::from_secs(5);

/// This daemon's presence in the library and whether it reaches it.
pub struct Cluster {
    /// The handle presence is renewed on, kept between beats (opened again after an error).
    handle: Mutex<Option<Box<dyn LibraryBackend + Send>>>,
    last_beat: Mutex<Option<Instant>>,
    beating: AtomicBool,
    reach: Mutex<Reach>,
}

/// Whether this daemon reaches the library.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    pub reachable: bool,
    /// Since when it is so.
    pub since: DateTime<Utc>,
    /// The last error, while it cannot reach it.
    pub error: Option<String>,
}

/// What the cluster view shows.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// This daemon (its presence lease's holder).
    pub this: LeaseHolder,
    pub library: Reach,
    /// Every daemon whose presence has not lapsed, this one included.
    pub daemons: Vec<Daemon>,
    /// Work held by a process that is not a live daemon (`iocsync run` by hand, or a daemon
    /// that died and whose lease has not lapsed).
    pub others: Vec<Lease>,
}

/// A daemon and the work it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Daemon {
    pub holder: LeaseHolder,
    /// Until when its presence stands without another renewal.
    pub seen_until: DateTime<Utc>,
    /// The leases it holds: `workflow:<name>`, `feed:<name>`, `lift:<name>`, `space:<…>`.
    pub holds: Vec<String>,
}

impl Cluster {
    pub fn new(now: DateTime<Utc>) -> Cluster {
        Cluster {
            handle: Mutex::new(None),
            last_beat: Mutex::new(None),
            beating: AtomicBool::new(false),
            reach: Mutex::new(Reach {
                reachable: true,
                since: now,
                error: None,
            }),
        }
    }

    fn reached(&self, outcome: Result<(), String>) {
        let mut reach = lock(&self.reach);
        match outcome {
            Ok(()) if !reach.reachable => {
                tracing::info!("the library is reachable again: taking scheduled work");
                *reach = Reach {
                    reachable: true,
                    since: Utc::now(),
                    error: None,
                };
            }
            Ok(()) => {}
            Err(error) => {
                if reach.reachable {
                    tracing::error!(
                        error,
                        "cannot reach the library: this daemon takes no scheduled work until it can"
                    );
                    reach.since = Utc::now();
                }
                reach.reachable = false;
                reach.error = Some(error);
            }
        }
    }
}

fn presence(me: &LeaseHolder) -> String {
    keys::daemon_lease(&me.host, me.pid)
}

/// Renews this daemon's presence when [`BEAT_EVERY`] has passed (off the async threads; one
/// renewal at a time).
pub fn beat(shared: &std::sync::Arc<Shared>) {
    let cluster = &shared.cluster;
    {
        let mut last = lock(&cluster.last_beat);
        if last.is_some_and(|at| at.elapsed() < BEAT_EVERY) {
            return;
        }
        if cluster.beating.swap(true, Ordering::AcqRel) {
            return;
        }
        *last = Some(Instant::now());
    }
    let shared = std::sync::Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let outcome = renew(&shared).map_err(|error| format!("{error:#}"));
        shared.cluster.reached(outcome);
        shared.cluster.beating.store(false, Ordering::Release);
    });
}

fn renew(shared: &Shared) -> anyhow::Result<()> {
    let mut handle = lock(&shared.cluster.handle);
    let library = match &mut *handle {
        Some(library) => library,
        None => {
            // An open library is not `Send`; the handle it gives for renewing leases is.
            let opened = shared.config().library.open_existing()?;
            let kept = opened
                .second_handle()?
                .ok_or_else(|| anyhow::anyhow!("the library gives no handle to keep"))?;
            handle.insert(kept)
        }
    };
    let me = lease::lease_holder();
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(LEASE_TTL).unwrap_or(chrono::Duration::MAX);
    let renewed = library.take_lease(&presence(&me), &me, now, now + ttl, &|_| true);
    if renewed.is_err() {
        // A broken connection is opened again next time.
        *handle = None;
    }
    renewed?;
    Ok(())
}

/// Records that the library could not be asked for work (see [`Reach`]).
pub fn unreachable(shared: &Shared, error: &anyhow::Error) {
    shared.cluster.reached(Err(format!("{error:#}")));
}

/// Gives this daemon's presence back (at shutdown), so the others stop showing it at once.
pub fn leave(shared: &Shared) {
    let me = lease::lease_holder();
    if let Some(library) = &mut *lock(&shared.cluster.handle)
        && let Err(error) = library.release_lease(&presence(&me), &me)
    {
        tracing::warn!(%error, "cannot withdraw this daemon from the cluster view; it lapses");
    }
}

/// The cluster view for `/api/cluster`: as [`view`] when the library answers; when it does not,
/// this daemon's reach alone (the failure recorded, so the view says since when).
pub fn view_or_reach(shared: &Shared) -> View {
    let viewed = shared
        .config()
        .library
        .open_existing()
        .map_err(anyhow::Error::new)
        .and_then(|library| view(shared, &*library));
    match viewed {
        Ok(view) => view,
        Err(error) => {
            unreachable(shared, &error);
            View {
                this: lease::lease_holder(),
                library: lock(&shared.cluster.reach).clone(),
                daemons: Vec::new(),
                others: Vec::new(),
            }
        }
    }
}

/// This daemon's reach of the library, as last found.
pub fn reach(shared: &Shared) -> Reach {
    lock(&shared.cluster.reach).clone()
}

/// The cluster as the library records it now.
pub fn view(shared: &Shared, library: &dyn LibraryBackend) -> anyhow::Result<View> {
    let now = Utc::now();
    let leases = library.leases()?;
    // Read just now: the library is reachable, whatever the last beat found.
    shared.cluster.reached(Ok(()));
    let live = |lease: &Lease| lease.expires_at > now;
    let mut daemons: Vec<Daemon> = leases
        .iter()
        .filter(|lease| keys::is_daemon_lease(&lease.name) && live(lease))
        .map(|lease| Daemon {
            holder: lease.holder.clone(),
            seen_until: lease.expires_at,
            holds: Vec::new(),
        })
        .collect();
    let mut others = Vec::new();
    let work = leases
        .into_iter()
        .filter(|lease| !keys::is_daemon_lease(&lease.name) && live(lease));
    for lease in work {
        let daemon = daemons
            .iter_mut()
            .find(|d| d.holder.host == lease.holder.host && d.holder.pid == lease.holder.pid);
        match daemon {
            Some(daemon) => daemon.holds.push(lease.name),
            None => others.push(lease),
        }
    }
    Ok(View {
        this: lease::lease_holder(),
        library: lock(&shared.cluster.reach).clone(),
        daemons,
        others,
    })
}
