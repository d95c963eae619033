//! `iocsync block|unblock` on an XDR v2 target (the one-off path webhook triggers share): the
//! real binary against the emulator, with a real library file.

mod support;

use support::{emulator, key_ref, run_expecting};
use testkit::ConfigBuilder;

#[tokio::test(flavor = "multi_thread")]
async fn xdr_block_and_unblock_by_hand() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    ConfigBuilder::new("library.db")
        .xdr_v2("xdr", &emu.base_url(), &key_ref(dir.path()))
        .write(dir.path());
    let blocked = || -> Vec<String> {
        let snapshot = emu.emulator().snapshot();
        snapshot
            .xdr_blocked
            .into_iter()
            .map(|b| b.target_value)
            .collect()
    };

    let block = run_expecting(
        dir.path(),
        &[
            "block",
            "--init-library",
            "--target",
            "xdr",
            "--json",
            "45.8.8.8",
            "192.168.1.1",
            "a".repeat(64).as_str(),
        ],
        3,
    );
    let report: serde_json::Value = serde_json::from_slice(&block.stdout).unwrap();
    assert_eq!(report["applied"], serde_json::json!(["45.8.8.8"]));
    let reasons = report["refused"].to_string();
    assert!(reasons.contains("guard"), "private address: {reasons}");
    assert!(
        reasons.contains("SHA-1"),
        "sha256 has no XDR v2 type: {reasons}"
    );
    assert_eq!(blocked(), ["45.8.8.8"]);

    run_expecting(dir.path(), &["unblock", "--target", "xdr", "45.8.8.8"], 0);
    assert!(blocked().is_empty());
}
