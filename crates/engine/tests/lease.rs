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
        ..lease_holder()
    };
    // Expired, but its process is alive on this host: still held.
    hold(&mut h, &other, Duration::seconds(-1));

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
    };
    hold(&mut h, &remote, Duration::hours(1));
    let options = RunOptions {
        now: h.now,
        manual: false,
        dry_run: true,
        verify: false,
    };
    let report = engine::run_workflow(&h.config, &mut *h.library, "block", options, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.plan.adds.len(), 2);
}
