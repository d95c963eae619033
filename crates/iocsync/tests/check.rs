//! `iocsync check --write` against the emulator: a key that may only read is caught before the
//! first run halts on it, each permission on its own line, and nothing is left behind.

mod support;

use emulator::EmulatorConfig;
use emulator::config::TaskSettings;
use support::{KEY, run_expecting};
use testkit::ConfigBuilder;

const READ_ONLY: &str = "read-only-key";
/// The Apex Central applications signing with each key.
const APEX_APP: &str = "CHECK-APP";
const APEX_READ_ONLY_APP: &str = "CHECK-APP-READ-ONLY";

fn config(dir: &std::path::Path, v1: &str, ds: &str, key: &str) {
    std::fs::write(dir.join("key"), key).unwrap();
    let apex_app = if key == READ_ONLY {
        APEX_READ_ONLY_APP
    } else {
        APEX_APP
    };
    ConfigBuilder::new("library.db")
        .vision_one("v1", v1, "file:key")
        .deep_security("ds", ds, "file:key")
        .xdr_v2("xdr", v1, "file:key")
        .target("apex", "apex-central")
        .set("base_url", v1)
        .set("application_id", apex_app)
        .set("api_key", "file:key")
        .write(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_write_proves_each_permission_and_leaves_nothing_behind() {
    let settings = EmulatorConfig {
        read_only_keys: vec![READ_ONLY.into()],
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    }
    .with_apex_application(APEX_APP, KEY)
    .with_read_only_apex_application(APEX_READ_ONLY_APP, READ_ONLY);
    let emu = testkit::emulator(KEY, settings).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &emu.base_url(), &emu.deep_security_url(), KEY);
    let lists_before = emu.emulator().snapshot().ip_lists.len();

    // Without --write: reading is checked, and the output says writing was not.
    let read = run_expecting(dir.path(), &["check", "v1"], 0);
    assert!(String::from_utf8_lossy(&read.stdout).contains("write permissions not checked"));
    for target in ["v1", "ds", "xdr", "apex"] {
        let out = run_expecting(dir.path(), &["check", target, "--write", "--json"], 0);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], true, "{target}: {report}");
        assert!(!report["write"].as_array().unwrap().is_empty());
    }
    let state = emu.emulator().snapshot();
    assert!(state.suspicious_objects.is_empty(), "removed at once");
    assert!(state.exceptions.is_empty());
    assert_eq!(
        state.ip_lists.len(),
        lists_before,
        "the check list was deleted"
    );
    assert!(
        state.xdr_blocked.is_empty(),
        "the block was restored: {:?}",
        state.xdr_blocked
    );
    assert!(
        state.udso.is_empty(),
        "the UDSO was removed: {:?}",
        state.udso
    );
    let stats = emu.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/threatintel/suspiciousObjects/delete", "207"),
        1
    );
    for endpoint in [
        "POST /v3.0/response/suspiciousObjects",
        "POST /v3.0/response/suspiciousObjects/delete",
    ] {
        assert_eq!(
            stats.count(endpoint, "207"),
            1,
            "{endpoint}: one response task"
        );
    }

    // A key that may only read: caught, naming each permission.
    config(
        dir.path(),
        &emu.base_url(),
        &emu.deep_security_url(),
        READ_ONLY,
    );
    let refused = run_expecting(dir.path(), &["check", "v1", "--write"], 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("v1: suspicious objects: MISSING PERMISSION")
            && stderr.contains("v1: exceptions: MISSING PERMISSION")
            && stderr.contains("v1: response tasks (block / restore): MISSING PERMISSION"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&refused.stdout).contains("lists readable"));
    assert!(emu.emulator().snapshot().suspicious_objects.is_empty());
    // Apex Central tells a read-only account when it is read (PermissionCtrl), so even the
    // read check says writes would be refused.
    let refused = run_expecting(dir.path(), &["check", "apex", "--write"], 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("apex: ") && stderr.contains("read-only"),
        "{stderr}"
    );
    assert!(emu.emulator().snapshot().udso.is_empty());
}
