//! `iocsync block|unblock` on an XDR v2 target (the one-off path webhook triggers share): the
//! real binary against the emulator, with a real library file.

use std::path::Path;
use std::process::Command;

use emulator::EmulatorConfig;
use emulator::config::TaskSettings;

const KEY: &str = "hooks-cli-key";

fn iocsync(dir: &Path) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("iocsync"));
    command
        .current_dir(dir)
        .arg("--config")
        .arg(dir.join("iocsync.toml"));
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn xdr_block_and_unblock_by_hand() {
    let emu = emulator::spawn(EmulatorConfig {
        api_keys: vec![KEY.into()],
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), KEY).unwrap();
    let config = format!(
        "[library]\npath = \"library.db\"\n\n[[targets]]\nname = \"xdr\"\nproduct = \"xdr-v2\"\nbase_url = \"{}\"\napi_key = \"file:{}\"\nproxy = \"none\"\n",
        emu.base_url(),
        dir.path().join("key").display()
    );
    std::fs::write(dir.path().join("iocsync.toml"), config).unwrap();
    let blocked = || -> Vec<String> {
        let snapshot = emu.emulator().snapshot();
        snapshot
            .xdr_blocked
            .into_iter()
            .map(|b| b.target_value)
            .collect()
    };

    let block = iocsync(dir.path())
        .args([
            "block",
            "--target",
            "xdr",
            "--json",
            "45.8.8.8",
            "192.168.1.1",
            "a".repeat(64).as_str(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        block.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&block.stderr)
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

    let unblock = iocsync(dir.path())
        .args(["unblock", "--target", "xdr", "45.8.8.8"])
        .output()
        .unwrap();
    assert_eq!(
        unblock.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&unblock.stderr)
    );
    assert!(blocked().is_empty());
}
