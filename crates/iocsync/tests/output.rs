//! What the binary prints: a pipe closed early ends a command quietly (no panic, exit 0);
//! `--quiet` prints nothing but errors; long listings are tab-separated rows when piped; a
//! missing config file and an unknown workflow get one clear message each.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use support::{emulator, iocsync, key_ref, run_expecting, seed};
use testkit::ConfigBuilder;

fn write_config(dir: &std::path::Path, base_url: &str) {
    ConfigBuilder::new("library.db")
        .vision_one("v1", base_url, &key_ref(dir))
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .workflow("other", "v1", "exceptions")
        .write(dir);
}

/// Runs `args` with stdout piped, reads one line, closes the pipe, and returns the exit
/// status and stderr.
fn head_one(dir: &std::path::Path, args: &[&str], stdin: Option<Vec<u8>>) -> (bool, String) {
    let mut child = iocsync(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut writer = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = writer.write_all(&input);
        });
    }
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    // The reader is gone: the pipe is closed.
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipe_closed_early_ends_the_command_quietly() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 3000);
    let lines: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{}.{}.{}.{}\n", 45, i >> 16, (i >> 8) & 255, i & 255).into_bytes())
        .collect();
    for (args, input) in [
        (&["parse"][..], Some(lines.clone())),
        (&["parse", "--json"], Some(lines)),
        (&["plan", "block"], None),
        (
            &["collections", "show", "all", "--library", "library.db"],
            None,
        ),
    ] {
        for _ in 0..3 {
            let (success, stderr) = head_one(dir.path(), args, input.clone());
            assert!(success, "{args:?}: {stderr}");
            assert!(
                !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
                "{args:?}: {stderr}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_prints_nothing_but_errors_and_piped_listings_are_tab_separated() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    seed(dir.path(), 5);
    let quiet = run_expecting(dir.path(), &["--quiet", "run", "block"], 0);
    assert!(
        quiet.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let runs = run_expecting(dir.path(), &["runs"], 0);
    let text = String::from_utf8_lossy(&runs.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id\tworkflow\tstarted\tstatus\tadded\tupdated\tremoved\theld\tfailed\terrors"
    );
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!((row[1], row[3], row[4]), ("block", "succeeded", "5"));
    // JSON asked for is printed even with --quiet.
    let json = run_expecting(dir.path(), &["--quiet", "runs", "--json"], 0);
    assert!(serde_json::from_slice::<serde_json::Value>(&json.stdout).is_ok());
}

#[test]
fn a_missing_config_and_an_unknown_workflow_get_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run_expecting(dir.path(), &["run", "block"], 1);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.matches("iocsync.toml").count(), 1, "{stderr}");
    assert!(
        stderr.contains("iocsync init") && !stderr.contains("os error"),
        "{stderr}"
    );
    write_config(dir.path(), "http://127.0.0.1:9");
    std::fs::write(dir.path().join("library.db"), b"").unwrap();
    std::fs::remove_file(dir.path().join("library.db")).unwrap();
    run_expecting(
        dir.path(),
        &["run", "block", "--init-library", "--dry-run"],
        0,
    );
    let unknown = run_expecting(dir.path(), &["plan", "blocc"], 1);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no workflow named `blocc`") && stderr.contains("there are: block, other"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_logs_its_runs_at_info_without_verbose_flags() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &emu.base_url());
    let text = std::fs::read_to_string(dir.path().join("iocsync.toml"))
        .unwrap()
        .replace(
            "action = \"blocklist\"\n",
            "action = \"blocklist\"\nschedule = \"1s\"\n",
        );
    std::fs::write(dir.path().join("iocsync.toml"), text).unwrap();
    seed(dir.path(), 2);
    let mut child = iocsync(dir.path())
        .args([
            "--log-json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tick",
            "100ms",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("run finished")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no run logged at INFO: {seen:?}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let listening = seen
        .iter()
        .find(|l| l.contains("iocsync serve listening"))
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(listening).unwrap();
    assert_eq!(parsed["level"], "INFO");
    assert!(
        seen.iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{seen:?}"
    );
}

#[test]
fn the_version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_expecting(dir.path(), &["--version"], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    let (name, rest) = text.trim().split_once(' ').unwrap();
    assert_eq!(name, "iocsync");
    let (version, stamp) = rest.split_once(' ').unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let commit = stamp
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim_end_matches(", modified");
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}
