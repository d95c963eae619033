//! Ownership through the real binary: a lost library is an error, not a new empty one; the
//! removal brake holds a mass removal (exit 4) until `--allow-removals`; `plan` shows what is
//! held; `adopt` rebuilds a lost ledger; the daemon shows held removals on its status page and
//! in `/metrics`, and refuses to start on a missing library.

mod support;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use store::{Class, Library, Sighting};
use support::{Daemon, emulator, key_ref, run_expecting, seed_with, suspicious, wait_for};
use testkit::ConfigBuilder;

fn write_config(dir: &Path, base_url: &str, library: &str) {
    ConfigBuilder::new(library)
        .vision_one("v1", base_url, &key_ref(dir))
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .schedule("1h")
        .write(dir);
}

fn ip(i: u32) -> (indicator::Kind, String) {
    (
        indicator::Kind::Ipv4,
        std::net::Ipv4Addr::from(0x2E00_0000 + i * 5).to_string(),
    )
}

/// Revokes the first `n` values `seed_with(.., ip)` put in `library`.
fn revoke_first(library: &Path, n: u32) {
    let mut library = Library::open(library).unwrap();
    let now = Utc::now();
    let gone: Vec<Sighting> = (0..n)
        .map(ip)
        .map(|(kind, value)| Sighting {
            kind,
            value,
            display: None,
            source: "feed".into(),
            score: Some(8),
            class: Class::Indicator,
            tags: vec![],
            description: None,
            seen_at: now,
            valid_until: None,
            revoked: true,
            reported_at: None,
        })
        .collect();
    library.merge(&gone).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_library_is_an_error_not_a_new_empty_one() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url(), "library.db");
    for args in [
        &["run", "block"][..],
        &["plan", "block"],
        &["runs"],
        &["block", "--target", "v1", "45.1.1.1"],
    ] {
        let out = run_expecting(dir.path(), args, 1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no library at") && stderr.contains("--init-library"),
            "{args:?}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("library.db").exists(),
        "nothing was created"
    );
    // A truncated file is as lost as a missing one.
    std::fs::write(dir.path().join("library.db"), b"").unwrap();
    let out = run_expecting(dir.path(), &["run", "block"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file is empty"));
    assert_eq!(emu.emulator().request_stats().endpoints.len(), 0);
    // Said on purpose, it makes one.
    std::fs::remove_file(dir.path().join("library.db")).unwrap();
    run_expecting(dir.path(), &["run", "block", "--init-library"], 0);
    assert!(dir.path().join("library.db").exists());
    // The daemon refuses to start on a missing library too.
    std::fs::remove_file(dir.path().join("library.db")).unwrap();
    let out = run_expecting(dir.path(), &["serve", "--listen", "127.0.0.1:0"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--init-library"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mass_removal_exits_4_until_released_after_a_look_at_the_plan() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url(), "library.db");
    seed_with(dir.path(), 150, ip);
    run_expecting(dir.path(), &["run", "block"], 0);
    revoke_first(&dir.path().join("library.db"), 140);

    let plan = run_expecting(dir.path(), &["plan", "block"], 0);
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(
        stdout.contains("held: 140 removals would not be sent"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("held\t")).count(),
        140
    );

    let held = run_expecting(dir.path(), &["run", "block"], 4);
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert!(
        stderr.contains("140 removals were not sent") && stderr.contains("--allow-removals"),
        "{stderr}"
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 150);
    let runs = run_expecting(dir.path(), &["runs", "--json"], 0);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "held");
    assert_eq!(runs[0]["counts"]["held"], 140);

    let released = run_expecting(
        dir.path(),
        &["run", "block", "--allow-removals", "--json"],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&released.stdout).unwrap();
    assert_eq!(report["removed"], 140);
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_rebuilds_the_ledger_of_a_lost_library_from_the_target() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url(), "library.db");
    seed_with(dir.path(), 30, ip);
    run_expecting(dir.path(), &["run", "block"], 0);
    let old_id = Library::open(dir.path().join("library.db"))
        .unwrap()
        .library_id()
        .unwrap();
    // The library is lost; a new one is made on purpose and fed the collection again, less 10.
    std::fs::remove_file(dir.path().join("library.db")).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("library.db{suffix}")));
    }
    seed_with(dir.path(), 30, ip);
    revoke_first(&dir.path().join("library.db"), 10);
    let verify = run_expecting(dir.path(), &["run", "block", "--verify"], 0);
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(
        stderr.contains(&old_id) && stderr.contains("iocsync adopt block"),
        "{stderr}"
    );
    assert_eq!(
        suspicious(&emu.emulator().snapshot()).len(),
        30,
        "left alone"
    );

    let adopt = run_expecting(
        dir.path(),
        &["adopt", "block", "--from-library", &old_id, "--json"],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&adopt.stdout).unwrap();
    assert_eq!(report["adopted"], 30);
    let next = run_expecting(dir.path(), &["run", "block", "--json"], 0);
    let next: serde_json::Value = serde_json::from_slice(&next.stdout).unwrap();
    assert_eq!(
        (next["updated"].clone(), next["removed"].clone()),
        (20.into(), 10.into())
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()).len(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_shows_held_removals_on_its_page_and_in_metrics() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url(), "library.db");
    let text = std::fs::read_to_string(dir.path().join("iocsync.toml"))
        .unwrap()
        .replace("schedule = \"1h\"", "schedule = \"1s\"");
    std::fs::write(dir.path().join("iocsync.toml"), text).unwrap();
    seed_with(dir.path(), 150, ip);
    let daemon = Daemon::start(dir.path());
    wait_for("the first sync", Duration::from_secs(30), || async {
        suspicious(&emu.emulator().snapshot()).len() == 150
    })
    .await;
    revoke_first(&dir.path().join("library.db"), 140);
    wait_for("a held run", Duration::from_secs(30), || async {
        let metrics = daemon.text("/metrics").await;
        metrics.contains("iocsync_removals_held{workflow=\"block\"} 140")
    })
    .await;
    let page = daemon.text("/").await;
    assert!(page.contains("Removals held:"), "{page}");
    assert!(page.contains("iocsync run block --allow-removals"));
    assert!(
        daemon
            .logs()
            .iter()
            .any(|l| l.contains("removals held by the brake"))
    );
    assert_eq!(
        suspicious(&emu.emulator().snapshot()).len(),
        150,
        "never released by itself"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn why_explains_sources_collections_guard_and_claims() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url(), "library.db");
    let values = seed_with(dir.path(), 3, ip);
    run_expecting(dir.path(), &["run", "block"], 0);
    run_expecting(dir.path(), &["block", "--target", "v1", &values[0]], 0);
    revoke_first(&dir.path().join("library.db"), 1);

    let out = run_expecting(dir.path(), &["why", &values[0], "--live", "--json"], 0);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let it = &answer[0]["indicators"][0];
    assert_eq!(it["value"], values[0].as_str());
    assert_eq!(it["record"]["status"], "revoked");
    assert_eq!(it["sources"][0]["revoked"], true);
    assert_eq!(it["collections"][0]["member"], false);
    assert!(
        it["collections"][0]["because"][0]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let block = &it["workflows"][0];
    let state = block["state"].as_str().unwrap();
    assert!(
        state.contains("lets go of it") && state.contains("kept on the target for `iocsync block`"),
        "{block}"
    );
    let claimants: Vec<&str> = block["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["claimant"].as_str().unwrap())
        .collect();
    assert_eq!(claimants, ["workflow `block`", "`iocsync block`"]);
    assert!(
        block["live"].as_str().unwrap().starts_with("on the target"),
        "{block}"
    );

    // A private address: the guard's rule says why it is never sent.
    let private = run_expecting(dir.path(), &["why", "10.1.2.3"], 0);
    let text = String::from_utf8_lossy(&private.stdout);
    assert!(text.contains("library: no feed ever listed it"), "{text}");
    assert!(text.contains("guard: blocklist refused by"), "{text}");
    assert!(text.contains("not in the workflow's collection"), "{text}");
}
