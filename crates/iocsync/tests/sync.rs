//! `iocsync plan`, `run` and `runs` as a user runs them: the real binary against an emulator
//! on a free port, with a real library file — including, for every target, a run killed with
//! SIGKILL mid-way and a re-run that converges exactly (no duplicates, no losses).

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use emulator::faults::FaultSettings;
use emulator::{RunningEmulator, Snapshot};
use indicator::Kind;
use store::Library;
use support::{domain, emulator, iocsync, ip, key_ref, run_expecting, seed, seed_with, suspicious};
use testkit::ConfigBuilder;

/// A config with one target of each product on `emu` (or on `base_url` alone) and one
/// workflow per target: `block` (Vision One, batches of 10), `ips` (Deep Security, parts of
/// 100 characters), `xdr` (XDR v2) and `hook` (a webhook posting to Vision One).
fn write_config(dir: &Path, base_url: &str) {
    write_config_for(dir, base_url, "http://127.0.0.1:9");
}

fn write_config_for(dir: &Path, base_url: &str, ds_url: &str) {
    let key = key_ref(dir);
    ConfigBuilder::new("library.db")
        .vision_one("v1", base_url, &key)
        .set("batch_size", 10)
        .deep_security("ds", ds_url, &key)
        .xdr_v2("xdr", base_url, &key)
        .http(
            "webhook",
            &format!("{base_url}/v3.0/threatintel/suspiciousObjects"),
            r#"[{"ip": "$value"}]"#,
        )
        .header("Authorization", &format!("Bearer ${{{key}}}"))
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .workflow("ips", "ds", "ip-list")
        .param("list_name", "Killed")
        .param("max_chars", 100)
        .workflow("xdr", "xdr", "xdr-block")
        .param("product_id", "killed")
        .param("task_timeout_secs", 20)
        .workflow("hook", "webhook", "http")
        .workflow("respond", "v1", "response-block")
        .param("in_flight", 3)
        .param("task_timeout_secs", 20)
        .write(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_run_and_runs_through_the_binary() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 25);

    let plan = run_expecting(dir.path(), &["plan", "block", "--json"], 0);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["adds"].as_array().unwrap().len(), 25);
    assert_eq!(
        emu.emulator().request_stats().endpoints.len(),
        0,
        "plan sends nothing"
    );

    let run = run_expecting(dir.path(), &["run", "block", "--json"], 0);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["added"], 25);
    // One filtered read (are any of the 25 already there, made by someone else?), three writes.
    assert_eq!(report["api_calls"], 4);
    assert_eq!(
        report["calls"],
        serde_json::json!([
            {
                "endpoint": "GET /v3.0/threatintel/suspiciousObjects",
                "status": 200,
                "count": 1
            },
            {
                "endpoint": "POST /v3.0/threatintel/suspiciousObjects",
                "status": 207,
                "count": 3
            }
        ])
    );
    assert_eq!(report["rate_limit_pauses"], 0);

    let runs = run_expecting(dir.path(), &["runs", "--json"], 0);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "succeeded");

    let missing = run_expecting(dir.path(), &["run", "nope"], 1);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no workflow named `nope`"));
}

/// One target in the killed-run check.
struct Killed {
    workflow: &'static str,
    ledger: &'static str,
    n: u32,
    value: fn(u32) -> (Kind, String),
    /// What the target holds, with any repeats.
    held: fn(&Snapshot) -> Vec<String>,
}

/// Write requests the emulator has answered (searches and reads excluded).
fn writes(emu: &RunningEmulator) -> u64 {
    let stats = emu.emulator().request_stats();
    stats
        .endpoints
        .iter()
        .filter(|(name, _)| name.starts_with("POST") && !name.ends_with("/search"))
        .map(|(_, e)| e.requests)
        .sum()
}

/// A real `iocsync run` is SIGKILLed after a few writes; the next run must leave the target
/// and the ledger holding exactly the collection, with nothing sent twice that could repeat.
async fn killed_then_rerun(case: Killed) {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config_for(dir.path(), &emu.base_url(), &emu.deep_security_url());
    let mut expected = seed_with(dir.path(), case.n, case.value);
    expected.sort();
    // Slow requests make a window in which the child is killed between writes.
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 150,
        ..FaultSettings::default()
    });
    let mut child = iocsync(dir.path())
        .args(["run", case.workflow])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while writes(&emu) < 4 {
        assert!(Instant::now() < deadline, "the child never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = (case.held)(&emu.emulator().snapshot()).len();
    assert!(
        (1..case.n as usize).contains(&partial),
        "{partial} of {} held after the kill",
        case.n
    );

    emu.emulator().set_faults(FaultSettings::default());
    run_expecting(dir.path(), &["run", case.workflow, "--json"], 0);
    let mut held = (case.held)(&emu.emulator().snapshot());
    held.sort();
    assert_eq!(
        held, expected,
        "exactly the desired state: no duplicates, no losses"
    );
    let ledger = Library::open(dir.path().join("library.db"))
        .unwrap()
        .ledger(case.ledger)
        .unwrap();
    let mut recorded: Vec<String> = ledger.into_iter().map(|e| e.value).collect();
    recorded.sort();
    assert_eq!(recorded, expected);
    let again = run_expecting(dir.path(), &["plan", case.workflow, "--json"], 0);
    let plan: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(plan["adds"].as_array().unwrap().is_empty(), "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vision_one_run_killed_mid_way_converges() {
    killed_then_rerun(Killed {
        workflow: "block",
        ledger: "v1/block",
        n: 100,
        value: domain,
        held: suspicious,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_security_run_killed_mid_way_converges() {
    killed_then_rerun(Killed {
        workflow: "ips",
        ledger: "ds/ips",
        n: 100,
        value: ip,
        held: |snapshot| {
            let lists = snapshot.ip_lists.iter();
            let ours = lists.filter(|l| l.name.starts_with("Killed_"));
            ours.flat_map(|l| l.items.clone()).collect()
        },
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xdr_run_killed_mid_way_converges() {
    killed_then_rerun(Killed {
        workflow: "xdr",
        ledger: "xdr/xdr",
        n: 30,
        value: domain,
        held: |snapshot| {
            let blocked = snapshot.xdr_blocked.iter();
            blocked.map(|b| b.target_value.clone()).collect()
        },
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_block_run_killed_mid_way_converges() {
    killed_then_rerun(Killed {
        workflow: "respond",
        ledger: "v1/respond",
        n: 30,
        value: domain,
        held: suspicious,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_run_killed_mid_way_converges() {
    killed_then_rerun(Killed {
        workflow: "hook",
        ledger: "webhook/hook",
        n: 30,
        value: ip,
        held: suspicious,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_by_hand() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 0);

    let block = run_expecting(
        dir.path(),
        &[
            "block",
            "--target",
            "v1",
            "hxxp://evil[.]example/x",
            "10.0.0.1",
            "not a value",
        ],
        3,
    );
    let stderr = String::from_utf8_lossy(&block.stderr);
    assert!(stderr.contains("refused: 10.0.0.1: guard"), "{stderr}");
    assert!(stderr.contains("refused: not a value"), "{stderr}");
    assert_eq!(
        suspicious(&emu.emulator().snapshot()),
        ["http://evil.example/x"]
    );

    // A workflow on the same target leaves the hand-made block alone.
    run_expecting(dir.path(), &["run", "block"], 0);
    assert_eq!(emu.emulator().snapshot().suspicious_objects.len(), 1);

    run_expecting(
        dir.path(),
        &["unblock", "--target", "v1", "http://evil.example/x"],
        0,
    );
    assert!(emu.emulator().snapshot().suspicious_objects.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_by_hand_through_response_tasks() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 0);
    let block = run_expecting(
        dir.path(),
        &[
            "block",
            "--target",
            "v1",
            "--response",
            "--json",
            "45.33.32.156",
            "evil.example",
        ],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&block.stdout).unwrap();
    assert_eq!(report["applied"].as_array().unwrap().len(), 2, "{report:#}");
    let stats = emu.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects", "207"),
        1,
        "both values in one request"
    );
    assert_eq!(
        stats.count("POST /v3.0/threatintel/suspiciousObjects", "207"),
        0
    );
    assert_eq!(
        suspicious(&emu.emulator().snapshot()),
        ["45.33.32.156", "evil.example"],
        "the tasks' blocks land on the suspicious-object list"
    );

    run_expecting(
        dir.path(),
        &["unblock", "--target", "v1", "--response", "evil.example"],
        0,
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()), ["45.33.32.156"]);
    let stats = emu.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects/delete", "207"),
        1
    );

    let wrong = run_expecting(
        dir.path(),
        &["block", "--target", "xdr", "--response", "45.33.32.157"],
        1,
    );
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("v3 response blocks (a Vision One action)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_tells_a_good_key_from_a_bad_one() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    run_expecting(dir.path(), &["check", "v1", "--json"], 0);

    std::fs::write(dir.path().join("key"), "wrong-key").unwrap();
    let bad = run_expecting(dir.path(), &["check", "v1", "--json"], 1);
    let result: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("401"), "{error}");
    assert!(
        !error.contains("wrong-key"),
        "the key never appears: {error}"
    );
}

#[test]
fn a_literal_key_in_the_config_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "http://127.0.0.1:9");
    let path = dir.path().join("iocsync.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let key_ref = format!("file:{}", dir.path().join("key").display());
    std::fs::write(&path, text.replace(&key_ref, "sk-inline-secret")).unwrap();
    let out = run_expecting(dir.path(), &["plan", "block"], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("targets[0].api_key"), "{stderr}");
    assert!(!stderr.contains("sk-inline-secret"), "{stderr}");
}
