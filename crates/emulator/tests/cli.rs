//! The `tm-emulator` binary: banner, generated key, key from the environment, config errors,
//! and the state file written on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

struct Emulator {
    child: Child,
    banner: Vec<String>,
    base: String,
}

impl Emulator {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tm-emulator"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("IOCSYNC_EMULATOR_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut banner = Vec::new();
        let mut base = String::new();
        // The banner ends with the "Stop with" line; stdout stays quiet afterwards.
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("Trend Micro API emulator listening on ") {
                base = url.to_owned();
            }
            let last = line.starts_with("Stop with");
            banner.push(line);
            if last {
                break;
            }
        }
        assert!(base.starts_with("http://127.0.0.1:"), "{banner:?}");
        Self {
            child,
            banner,
            base,
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().unwrap();
        panic!("emulator did not stop on SIGTERM");
    }
}

fn get(url: &str, key: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn post(url: &str, key: &str, body: &Value) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn generates_and_prints_a_key_when_none_is_given() {
    let emulator = Emulator::start(&[], &[]);
    let key_line = emulator
        .banner
        .iter()
        .find(|l| l.contains("Generated API key"))
        .unwrap()
        .clone();
    let key = key_line.rsplit(' ').next().unwrap().to_owned();
    assert!(key.len() > 20);
    let health = format!("{}/v3.0/healthcheck/connectivity", emulator.base);
    assert_eq!(get(&health, &key), 200);
    assert_eq!(get(&health, "guess"), 401);
    assert!(emulator.terminate().success());
}

#[test]
fn keys_from_the_environment_and_flags() {
    let emulator = Emulator::start(
        &["--read-only-key", "ro-key"],
        &[("IOCSYNC_EMULATOR_API_KEY", "env-key-1,env-key-2")],
    );
    assert!(
        !emulator.banner.iter().any(|l| l.contains("Generated")),
        "{:?}",
        emulator.banner
    );
    let health = format!("{}/v3.0/healthcheck/connectivity", emulator.base);
    assert_eq!(get(&health, "env-key-2"), 200);
    let add = format!("{}/v3.0/threatintel/suspiciousObjects", emulator.base);
    assert_eq!(post(&add, "ro-key", &json!([{"ip": "1.2.3.4"}])), 403);
    assert_eq!(post(&add, "env-key-1", &json!([{"ip": "1.2.3.4"}])), 207);
    assert!(emulator.terminate().success());
}

#[test]
fn state_is_saved_on_sigterm_and_loaded_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let first = Emulator::start(&["--api-key", "k", "--state", state_arg], &[]);
    let add = format!("{}/v3.0/threatintel/suspiciousObjects", first.base);
    assert_eq!(post(&add, "k", &json!([{"domain": "kept.example"}])), 207);
    assert!(first.terminate().success());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["suspiciousObjects"][0]["value"], "kept.example");

    let second = Emulator::start(&["--api-key", "k", "--state", state_arg], &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listed: Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/v3.0/threatintel/suspiciousObjects",
                second.base
            ))
            .bearer_auth("k")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(listed["items"][0]["domain"], "kept.example");
    assert!(second.terminate().success());
}

#[test]
fn bad_config_files_are_reported_with_the_key_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("emulator.toml");
    std::fs::write(&config, "[rate_limits]\nvision_one = \"lots\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tm-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--emulator-config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("emulator.toml") && stderr.contains("vision_one"),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_tm-emulator"))
        .args(["--listen", "127.0.0.1:0", "--fault-error-rate", "3"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("error_rate"));
}

#[test]
fn the_example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/emulator.example.toml");
    let config = emulator::EmulatorConfig::from_toml_file(std::path::Path::new(example)).unwrap();
    assert_eq!(config.limits.suspicious_objects_per_type, 10_000);
}
