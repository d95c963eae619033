//! Workflow leases: a run that writes holds `workflow:<name>` in the library, so two processes
//! never run one workflow at once (a daemon's feed pull holds `feed:<name>` and a trigger's
//! TTL lift `lift:<name>` the same way). A holder on this host is known dead or alive from its
//! pid and its process start stamp (a pid reused by a new process is not the holder); for a
//! holder on another host (daemons sharing a PostgreSQL library, or a library file shared
//! between hosts) the lease's expiry is what frees it, so a [`Keeper`] renews it from a
//! second library handle while the work goes on, and a vanished holder blocks the work for
//! at most [`LEASE_TTL`].

use std::path::Path;
use std::sync::LazyLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use store::{Lease, LeaseHolder, LibraryBackend};

use crate::error::EngineError;

/// How long a lease lasts unless renewed: how long a daemon that died on another host keeps
/// its work from the others.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// How often held work renews its lease: a third of [`LEASE_TTL`], so one slow renewal (a
/// busy library) never lets it lapse.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// Longest command line kept in a lease, in characters.
const HOLDER_CHARS: usize = 200;

/// The lease name of `workflow`.
pub fn name(workflow: &str) -> String {
    crate::keys::workflow_lease(workflow)
}

static THIS_PROCESS: LazyLock<LeaseHolder> = LazyLock::new(describe_this_process);

/// This process, as a lease holder: its command line as `ps` shows it (program name, then its
/// arguments, which never hold a secret), host, pid and start stamp.
pub fn lease_holder() -> LeaseHolder {
    THIS_PROCESS.clone()
}

fn describe_this_process() -> LeaseHolder {
    let pid = std::process::id();
    let mut args = std::env::args();
    let program = args
        .next()
        .and_then(|arg0| Some(Path::new(&arg0).file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "iocsync".to_owned());
    let holder = std::iter::once(program)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(HOLDER_CHARS)
        .collect();
    LeaseHolder {
        holder,
        host: host_name(),
        pid,
        started: start_stamp(pid),
    }
}

/// When process `pid` of this host started (see [`LeaseHolder::started`]), `None` where that
/// cannot be told.
pub fn process_start(pid: u32) -> Option<String> {
    start_stamp(pid)
}

/// When process `pid` started, as `<boot id>:<clock ticks after boot>` from `/proc` (`None`
/// where there is no `/proc`, or the process is gone). Stable for the life of the process and
/// never the same for two processes of one boot that shared a pid.
fn start_stamp(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 22 (starttime) is the 20th after the name: state is field 3.
    let ticks = after_name.split_whitespace().nth(19)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(format!("{}:{ticks}", boot.trim()))
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            let name = std::fs::read_to_string(path).ok()?;
            Some(name.trim().to_owned()).filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Whether process `pid` of this host is alive; `None` where that cannot be told.
fn process_alive(pid: u32) -> Option<bool> {
    cfg!(target_os = "linux").then(|| Path::new("/proc").join(pid.to_string()).exists())
}

/// A lease may be taken over once its process is gone (same host: no such pid, or the pid now
/// belongs to a process that started at another time) or once it has expired.
pub(crate) fn may_take(lease: &Lease, me: &LeaseHolder, now: DateTime<Utc>) -> bool {
    if lease.expires_at <= now {
        return true;
    }
    if lease.holder.host != me.host {
        return false;
    }
    match process_alive(lease.holder.pid) {
        Some(false) => true,
        Some(true) => match (&lease.holder.started, start_stamp(lease.holder.pid)) {
            (Some(recorded), Some(now_running)) => *recorded != now_running,
            _ => false,
        },
        None => false,
    }
}

/// Takes (or renews) the lease `lease` for this process, or says who holds it.
pub(crate) fn take(
    library: &mut dyn LibraryBackend,
    lease: &str,
    me: &LeaseHolder,
) -> Result<(), EngineError> {
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(LEASE_TTL).unwrap_or(chrono::Duration::MAX);
    let check = |held: &Lease| may_take(held, me, now);
    match library.take_lease(lease, me, now, now + ttl, &check)? {
        None => Ok(()),
        Some(held) => Err(EngineError::Busy(Box::new(held))),
    }
}

/// Runs `work` holding `workflow`'s lease (renewed meanwhile), then releases it: whatever
/// writes a workflow's claims runs so, never two at once.
pub(crate) async fn holding<T>(
    library: &mut dyn LibraryBackend,
    workflow: &str,
    work: impl AsyncFnOnce(&mut dyn LibraryBackend) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let me = lease_holder();
    let lease = name(workflow);
    take(library, &lease, &me)?;
    let keeper = Keeper::start(&*library, &lease, &me, RENEW_EVERY);
    let outcome = work(&mut *library).await;
    keeper.stop();
    let released = library.release_lease(&lease, &me);
    let value = outcome?;
    released?;
    Ok(value)
}

/// Renews a lease every `every` on its own thread and library handle until stopped.
#[must_use = "a keeper renews only until it is stopped or dropped"]
pub struct Keeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Starts renewing the lease `lease` (held by `me`). Does nothing when the backend gives
    /// no second handle; the lease then lasts [`LEASE_TTL`] from when it was taken.
    pub fn start(
        library: &dyn LibraryBackend,
        lease: &str,
        me: &LeaseHolder,
        every: Duration,
    ) -> Keeper {
        let handle = match library.second_handle() {
            Ok(Some(handle)) => handle,
            Ok(None) => return Keeper::idle(),
            Err(error) => {
                tracing::warn!(lease, %error, "cannot open a handle to renew the lease");
                return Keeper::idle();
            }
        };
        let (stop, stopped) = mpsc::channel();
        let (lease, me) = (lease.to_owned(), me.clone());
        let thread =
            std::thread::spawn(move || renew_until_stopped(handle, &lease, &me, every, &stopped));
        Keeper {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn idle() -> Keeper {
        Keeper {
            stop: None,
            thread: None,
        }
    }

    /// Stops renewing and waits for the renewing thread.
    pub fn stop(mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the lease renewal thread panicked");
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which then ends on its own.
        self.stop.take();
    }
}

fn renew_until_stopped(
    mut library: Box<dyn LibraryBackend + Send>,
    lease: &str,
    me: &LeaseHolder,
    every: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
        if let Err(error) = take(&mut *library, lease, me) {
            // Another process took it (this one stalled past the expiry) or the library is
            // unwell: the work goes on; the next renewal tries again.
            tracing::warn!(lease, %error, "cannot renew the lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease_of(library: &mut dyn LibraryBackend, workflow: &str) -> Lease {
        let other = LeaseHolder {
            holder: "probe".into(),
            host: "elsewhere".into(),
            pid: 1,
            started: None,
        };
        // A `Mutex`: `may_take` is `Sync` (the PostgreSQL backend calls it on its helper thread).
        let seen = std::sync::Mutex::new(None);
        let now = Utc::now();
        let probe = |lease: &Lease| {
            *seen.lock().unwrap() = Some(lease.clone());
            false
        };
        library
            .take_lease(&name(workflow), &other, now, now, &probe)
            .unwrap();
        seen.into_inner().unwrap().expect("the lease is held")
    }

    #[test]
    fn a_keeper_renews_the_lease_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut library = store::SqliteLibrary::open(dir.path().join("l.db")).unwrap();
        let me = lease_holder();
        take(&mut library, &name("flow"), &me).unwrap();
        assert!(me.started.is_some(), "Linux gives a start stamp");
        let first = lease_of(&mut library, "flow").expires_at;
        let keeper = Keeper::start(&library, &name("flow"), &me, Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(200));
        keeper.stop();
        let renewed = lease_of(&mut library, "flow").expires_at;
        assert!(renewed > first, "{renewed} > {first}");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            lease_of(&mut library, "flow").expires_at,
            renewed,
            "stopped means stopped"
        );
    }
}

#[cfg(test)]
mod reuse_tests {
    use super::*;

    /// A holder whose pid is alive but whose start stamp differs is a new process that was
    /// given a dead holder's pid: its lease is free.
    #[test]
    fn a_reused_pid_does_not_keep_a_lease() {
        let me = lease_holder();
        let now = Utc::now();
        let lease = |started: Option<String>| Lease {
            name: name("flow"),
            holder: LeaseHolder {
                holder: "iocsync run flow".into(),
                host: me.host.clone(),
                pid: std::process::id(),
                started,
            },
            taken_at: now,
            expires_at: now + chrono::Duration::minutes(5),
        };
        assert!(!may_take(&lease(me.started.clone()), &me, now), "alive");
        assert!(
            may_take(&lease(Some("other-boot:1".into())), &me, now),
            "pid reused"
        );
        assert!(!may_take(&lease(None), &me, now), "no stamp: trust the pid");
        let mut expired = lease(me.started.clone());
        expired.expires_at = now - chrono::Duration::seconds(1);
        assert!(may_take(&expired, &me, now), "expired");
    }
}
