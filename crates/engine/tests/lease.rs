//! The workflow lease `run_workflow` takes: refused (nothing recorded) while another live
//! process holds it, taken over once that process is gone or, for a holder on another host,
//! once its lease expired; given back after every run.

#[allow(unused)] // the compliance suite is not instantiated here
mod common;

use chrono::{Duration, Utc};
use common::{Harness, ips};
use engine::EngineError;
use engine::lease::lease_holder;
use engine::{NoProgress, RunOptions};
use store::{Lease, LeaseHolder};

const BLOCK: &str = r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
"#;

async fn try_run(h: &mut Harness) -> Result<engine::RunReport, EngineError> {
    let options = RunOptions {
        now: h.now,
        manual: false,
        dry_run: false,
        verify: false,
        allow_removals: false,
        all_skips: false,
    };
    engine::run_workflow(&h.config, &mut *h.library, "block", options, &NoProgress).await
}

/// Puts a lease on `block` for `holder` until `expires_in` from now.
fn hold(h: &mut Harness, holder: &LeaseHolder, expires_in: Duration) {
    let now = Utc::now();
    let taken = h
        .library
        .take_lease(
            "workflow:block",
            holder,
            now,
            now + expires_in,
            &|_: &Lease| true,
        )
        .unwrap();
    assert_eq!(taken, None);
}

#[tokio::test]
async fn a_live_process_on_this_host_keeps_the_workflow_until_it_is_gone() {
    let mut h = Harness::new(BLOCK).await;
    h.merge(&ips(5, 8, h.now));
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let other = LeaseHolder {
        holder: "iocsync serve".into(),
        pid: sleeper.id(),
        started: engine::lease::process_start(sleeper.id()),
        ..lease_holder()
    };
    assert!(other.started.is_some());
    // Its process is alive on this host, and it is the process that took the lease: held.
    hold(&mut h, &other, Duration::minutes(5));

    let error = try_run(&mut h).await.unwrap_err();
    assert!(matches!(&error, EngineError::Busy(lease) if lease.holder == other));
    let message = error.to_string();
    assert!(
        message.starts_with("workflow `block` is already running: iocsync serve (pid "),
        "{message}"
    );
    assert!(h.library.runs(10).unwrap().is_empty(), "nothing recorded");
    assert_eq!(h.requests(), 0, "nothing sent");

    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let report = try_run(&mut h).await.unwrap();
    assert_eq!(report.added, 5);
    // A run the dead holder left `running` is marked interrupted when its lease is taken.
    let interrupted = h
        .library
        .runs(10)
        .unwrap()
        .into_iter()
        .filter(|r| r.status == store::RunStatus::Interrupted)
        .count();
    assert_eq!(interrupted, 0, "the dead holder had started no run here");
    // Given back: another process on this host may take it at once.
    let me = lease_holder();
    let next = LeaseHolder {
        pid: me.pid.wrapping_add(1),
        ..me
    };
    let now = Utc::now();
    let free = h
        .library
        .take_lease("workflow:block", &next, now, now, &|_: &Lease| false)
        .unwrap();
    assert_eq!(free, None);
}

#[tokio::test]
async fn a_holder_on_another_host_is_trusted_until_its_lease_expires() {
    let mut h = Harness::new(BLOCK).await;
    h.merge(&ips(3, 8, h.now));
    let remote = LeaseHolder {
        holder: "iocsync serve".into(),
        host: format!("{}-elsewhere", lease_holder().host),
        pid: 1,
        started: None,
    };
    hold(&mut h, &remote, Duration::hours(1));
    assert!(matches!(try_run(&mut h).await, Err(EngineError::Busy(_))));

    hold(&mut h, &remote, Duration::seconds(-1));
    assert_eq!(try_run(&mut h).await.unwrap().added, 3);
}

#[tokio::test]
async fn a_dry_run_needs_no_lease() {
    let mut h = Harness::new(BLOCK).await;
    h.merge(&ips(2, 8, h.now));
    let remote = LeaseHolder {
        holder: "iocsync serve".into(),
        host: "elsewhere.invalid".into(),
        pid: 1,
        started: None,
    };
    hold(&mut h, &remote, Duration::hours(1));
    let options = RunOptions {
        now: h.now,
        manual: false,
        dry_run: true,
        verify: false,
        allow_removals: false,
        all_skips: false,
    };
    let report = engine::run_workflow(&h.config, &mut *h.library, "block", options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.plan.adds.len(), 2);
}

#[tokio::test]
async fn a_pid_reused_by_another_process_or_an_expired_lease_frees_the_workflow() {
    let mut h = Harness::new(BLOCK).await;
    h.merge(&ips(4, 8, h.now));
    // A live process on this host, but not the one that took the lease: its pid was reused.
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let reused = LeaseHolder {
        holder: "iocsync run block".into(),
        pid: sleeper.id(),
        started: Some("another-boot:12345".into()),
        ..lease_holder()
    };
    hold(&mut h, &reused, Duration::minutes(5));
    // The dead holder left its run `running`.
    let stale = h.library.start_run("block", h.now).unwrap();
    let report = try_run(&mut h).await.unwrap();
    assert_eq!(report.added, 4);
    let runs = h.library.runs(10).unwrap();
    let old = runs.iter().find(|r| r.id == stale).unwrap();
    assert_eq!(old.status, store::RunStatus::Interrupted);
    assert!(old.errors[0].contains("interrupted"), "{:?}", old.errors);
    // A live holder with the right stamp whose lease expired (it stopped renewing) is passed.
    let live = LeaseHolder {
        started: engine::lease::process_start(sleeper.id()),
        ..reused
    };
    hold(&mut h, &live, Duration::seconds(-1));
    assert!(try_run(&mut h).await.is_ok());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[tokio::test]
async fn adopt_waits_for_no_run_and_gives_the_lease_back() {
    let mut h = Harness::new(BLOCK).await;
    h.merge(&ips(5, 8, h.now));
    let other = LeaseHolder {
        host: "another-host".into(),
        ..lease_holder()
    };
    hold(&mut h, &other, Duration::minutes(5));
    let error = engine::adopt::adopt(&h.config, &mut *h.library, "block", None, false, h.now)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::Busy(lease) if lease.holder == other),
        "{error}"
    );
    assert_eq!(
        h.requests(),
        0,
        "nothing read while a run holds the workflow"
    );

    h.library.release_lease("workflow:block", &other).unwrap();
    let report = engine::adopt::adopt(&h.config, &mut *h.library, "block", None, false, h.now)
        .await
        .unwrap();
    assert_eq!(report.adopted, 0);
    assert!(try_run(&mut h).await.is_ok(), "adopt gave the lease back");
}
