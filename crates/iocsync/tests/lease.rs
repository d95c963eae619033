//! Workflow leases and lifting trigger blocks by hand, with real processes: two `iocsync run`
//! of one workflow never overlap (the second is refused, naming the first), the daemon skips a
//! tick while a manual run holds the workflow and then counts that run as the interval's, a
//! killed holder's lease is taken over, and
//! `iocsync unblock --trigger` lifts what a webhook trigger blocked.

mod support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use emulator::faults::FaultSettings;
use store::{Library, RunStatus};
use support::{
    Daemon, emulator, iocsync, run_expecting, seed, suspicious, wait_for, write_serve_config,
};

/// Starts `iocsync run block` in the background and waits until its run is recorded (it took
/// the lease before that).
fn start_slow_run(dir: &Path) -> Child {
    let child = iocsync(dir)
        .args(["run", "block"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !runs(dir)
        .iter()
        .any(|(workflow, status)| workflow == "block" && *status == RunStatus::Running)
    {
        assert!(Instant::now() < deadline, "the first run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Every recorded run, as (workflow, status), oldest first.
fn runs(dir: &Path) -> Vec<(String, RunStatus)> {
    let library = Library::open(dir.join("library.db")).unwrap();
    let mut runs: Vec<_> = library
        .runs(1000)
        .unwrap()
        .into_iter()
        .map(|run| (run.workflow, run.status))
        .collect();
    runs.reverse();
    runs
}

fn of(runs: &[(String, RunStatus)], workflow: &str) -> Vec<RunStatus> {
    runs.iter()
        .filter(|(w, _)| w == workflow)
        .map(|(_, status)| *status)
        .collect()
}

/// A config whose workflow `block` pushes 30 domains in 3 batches, each slowed to 400 ms.
async fn slow_setup(dir: &Path, extra: &str) -> emulator::RunningEmulator {
    let emu = emulator().await;
    write_serve_config(dir, &emu.base_url(), "1h", extra);
    seed(dir, 30);
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 400,
        ..FaultSettings::default()
    });
    emu
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_of_a_workflow_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let emu = slow_setup(dir.path(), "").await;
    let mut first = start_slow_run(dir.path());

    let second = run_expecting(dir.path(), &["run", "block"], 5);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("workflow `block` is already running")
            && stderr.contains(&format!("run block (pid {} on ", first.id())),
        "{stderr}"
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(
        of(&runs(dir.path()), "block"),
        [RunStatus::Succeeded],
        "the refused run recorded nothing"
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 30);

    // The lease was given back: the next run goes ahead.
    run_expecting(dir.path(), &["run", "block"], 0);
    assert_eq!(of(&runs(dir.path()), "block").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_holders_lease_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let emu = slow_setup(dir.path(), "").await;
    let mut first = start_slow_run(dir.path());
    first.kill().unwrap();
    first.wait().unwrap();

    run_expecting(dir.path(), &["run", "block"], 0);
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_skips_a_workflow_a_manual_run_holds() {
    let dir = tempfile::tempdir().unwrap();
    let _emu = slow_setup(dir.path(), "").await;
    let mut manual = start_slow_run(dir.path());
    // `block` is due at once in the daemon, while the manual run holds it.
    let daemon = Daemon::start(dir.path());
    wait_for(
        "the daemon to skip `block`",
        Duration::from_secs(30),
        || async {
            daemon
                .logs()
                .iter()
                .any(|line| line.contains("run skipped") && line.contains("already running"))
        },
    )
    .await;
    assert!(manual.wait().unwrap().success());
    // The manual run started after the hourly occurrence began: it did the hour's work, and
    // the daemon's next run is an hour after it.
    wait_for(
        "the daemon to count the manual run",
        Duration::from_secs(30),
        || async {
            daemon
                .logs()
                .iter()
                .any(|line| line.contains("run not needed"))
        },
    )
    .await;
    let statuses: Vec<_> = daemon
        .runs_of("block")
        .await
        .iter()
        .map(|run| run["status"].clone())
        .collect();
    assert_eq!(statuses, ["succeeded"], "skips record nothing");
    let workflows = daemon.json("/api/workflows").await;
    let block = workflows
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "block")
        .unwrap();
    let next: chrono::DateTime<chrono::Utc> = block["next_run"].as_str().unwrap().parse().unwrap();
    let manual_start: chrono::DateTime<chrono::Utc> =
        daemon.runs_of("block").await[0]["started_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(next, manual_start + chrono::Duration::hours(1));
}

const TRIGGER: &str = r#"
[[triggers]]
name = "siem"
target = "v1"
action = "blocklist"
token = "file:TOKEN"
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "event.src"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn unblock_trigger_lifts_only_what_the_trigger_blocked() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "trigger-token").unwrap();
    let extra = TRIGGER.replace("TOKEN", &token.display().to_string());
    write_serve_config(dir.path(), &emu.base_url(), "1h", &extra);
    let blocked = || suspicious(&emu.emulator().snapshot());

    let mut daemon = Daemon::start(dir.path());
    let answer = reqwest::Client::new()
        .post(format!("{}/hooks/siem", daemon.url))
        .bearer_auth("trigger-token")
        .body(r#"{"event": {"src": "45.6.6.6"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(daemon.terminate().success());
    run_expecting(dir.path(), &["block", "--target", "v1", "45.7.7.7"], 0);
    assert_eq!(blocked(), ["45.6.6.6", "45.7.7.7"]);

    // A block made by hand is not the trigger's to lift.
    let refused = run_expecting(dir.path(), &["unblock", "--trigger", "siem", "45.7.7.7"], 3);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not blocked with trigger `siem`"),
        "{stderr}"
    );
    let lifted = run_expecting(
        dir.path(),
        &["unblock", "--trigger", "siem", "--json", "45.6.6.6"],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&lifted.stdout).unwrap();
    assert_eq!(report["applied"], serde_json::json!(["45.6.6.6"]));
    assert_eq!(blocked(), ["45.7.7.7"]);
    let library = Library::open(dir.path().join("library.db")).unwrap();
    assert!(library.ledger("v1/hook:siem").unwrap().is_empty());

    let unknown = run_expecting(dir.path(), &["unblock", "--trigger", "nope", "45.6.6.6"], 1);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no trigger named `nope`"));
    let misuse = run_expecting(dir.path(), &["block", "--trigger", "siem", "45.6.6.6"], 1);
    assert!(String::from_utf8_lossy(&misuse.stderr).contains("`iocsync unblock` only"));
}
