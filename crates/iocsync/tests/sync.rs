//! `iocsync plan`, `run` and `runs` as a user runs them: the real binary against an emulator
//! on a free port, with a real library file — including a run killed with SIGKILL mid-way.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use emulator::EmulatorConfig;
use emulator::faults::FaultSettings;
use indicator::Kind;
use store::{Class, Library, Sighting};

const KEY: &str = "cli-test-key";
const ADD: &str = "POST /v3.0/threatintel/suspiciousObjects";

fn write_config(dir: &Path, base_url: &str) {
    std::fs::write(dir.join("key"), KEY).unwrap();
    let text = format!(
        r#"
[library]
path = "library.db"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "{base_url}"
api_key = "file:{key}"
proxy = "none"
batch_size = 10

[[collections]]
name = "all"

[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
"#,
        key = dir.join("key").display()
    );
    std::fs::write(dir.join("iocsync.toml"), text).unwrap();
}

fn seed(dir: &Path, n: u32) -> Vec<String> {
    let mut library = Library::open(dir.join("library.db")).unwrap();
    let now = Utc::now();
    let sightings: Vec<Sighting> = (0..n)
        .map(|i| Sighting {
            kind: Kind::Domain,
            value: format!("evil{i}.example.com"),
            display: None,
            source: "feed".into(),
            score: Some(8),
            class: Class::Indicator,
            tags: vec![],
            description: None,
            seen_at: now,
            valid_until: None,
            revoked: false,
        })
        .collect();
    library.merge(&sightings).unwrap();
    sightings.into_iter().map(|s| s.value).collect()
}

fn iocsync(dir: &Path) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("iocsync"));
    command
        .current_dir(dir)
        .arg("--config")
        .arg(dir.join("iocsync.toml"));
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_run_and_runs_through_the_binary() {
    let settings = EmulatorConfig {
        api_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    };
    let emu = emulator::spawn(settings).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 25);

    let plan = iocsync(dir.path())
        .args(["plan", "block", "--json"])
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["adds"].as_array().unwrap().len(), 25);
    assert_eq!(
        emu.emulator().request_stats().endpoints.len(),
        0,
        "plan sends nothing"
    );

    let run = iocsync(dir.path())
        .args(["run", "block", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["added"], 25);
    assert_eq!(report["api_calls"], 3);

    let runs = iocsync(dir.path())
        .args(["runs", "--json"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "succeeded");

    let missing = iocsync(dir.path()).args(["run", "nope"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no workflow named `nope`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_way_converges_on_the_next_run() {
    let settings = EmulatorConfig {
        api_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    };
    let emu = emulator::spawn(settings).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    let values = seed(dir.path(), 100);
    // Slow requests make a window in which the child is killed between batches.
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 150,
        ..FaultSettings::default()
    });
    let mut child = iocsync(dir.path())
        .args(["run", "block"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while emu.emulator().request_stats().count(ADD, "207") < 4 {
        assert!(Instant::now() < deadline, "the child never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = emu.emulator().snapshot().suspicious_objects.len();
    assert!(
        (40..100).contains(&partial),
        "{partial} objects after the kill"
    );

    emu.emulator().set_faults(FaultSettings::default());
    let rerun = iocsync(dir.path())
        .args(["run", "block", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let mut held: Vec<String> = emu
        .emulator()
        .snapshot()
        .suspicious_objects
        .into_iter()
        .map(|o| o.value)
        .collect();
    held.sort();
    let mut expected = values.clone();
    expected.sort();
    assert_eq!(
        held, expected,
        "exactly the desired state: no duplicates, no losses"
    );
    let ledger = Library::open(dir.path().join("library.db"))
        .unwrap()
        .ledger("v1/block")
        .unwrap();
    assert_eq!(ledger.len(), 100);
    let again = iocsync(dir.path())
        .args(["plan", "block", "--json"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(plan["adds"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_by_hand() {
    let settings = EmulatorConfig {
        api_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    };
    let emu = emulator::spawn(settings).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 0);

    let block = iocsync(dir.path())
        .args([
            "block",
            "--target",
            "v1",
            "hxxp://evil[.]example/x",
            "10.0.0.1",
            "not a value",
        ])
        .output()
        .unwrap();
    assert_eq!(
        block.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&block.stderr)
    );
    let stderr = String::from_utf8_lossy(&block.stderr);
    assert!(stderr.contains("refused: 10.0.0.1: guard"), "{stderr}");
    assert!(stderr.contains("refused: not a value"), "{stderr}");
    let held: Vec<String> = emu
        .emulator()
        .snapshot()
        .suspicious_objects
        .into_iter()
        .map(|o| o.value)
        .collect();
    assert_eq!(held, ["http://evil.example/x"]);

    // A workflow on the same target leaves the hand-made block alone.
    let run = iocsync(dir.path()).args(["run", "block"]).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(emu.emulator().snapshot().suspicious_objects.len(), 1);

    let unblock = iocsync(dir.path())
        .args(["unblock", "--target", "v1", "http://evil.example/x"])
        .output()
        .unwrap();
    assert_eq!(
        unblock.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&unblock.stderr)
    );
    assert!(emu.emulator().snapshot().suspicious_objects.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_tells_a_good_key_from_a_bad_one() {
    let settings = EmulatorConfig {
        api_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    };
    let emu = emulator::spawn(settings).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    let good = iocsync(dir.path())
        .args(["check", "v1", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );

    std::fs::write(dir.path().join("key"), "wrong-key").unwrap();
    let bad = iocsync(dir.path())
        .args(["check", "v1", "--json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
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
    let out = iocsync(dir.path())
        .args(["plan", "block"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("targets[0].api_key"), "{stderr}");
    assert!(!stderr.contains("sk-inline-secret"), "{stderr}");
}
