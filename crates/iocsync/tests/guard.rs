//! `iocsync guard test` driven through the real binary.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../guard/tests/fixtures/warninglists")
}

fn guard_test(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("iocsync").unwrap();
    cmd.args(["guard", "test"]).args(args);
    cmd
}

/// `(value, verdict, rule)` per output line of `--json`.
fn verdicts(args: &[&str]) -> Vec<(String, String, String)> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = guard_test(&all).assert().get_output().stdout.clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let field = |k: &str| v[k].as_str().unwrap_or("").to_owned();
            (field("value"), field("verdict"), field("rule"))
        })
        .collect()
}

fn triple(value: &str, verdict: &str, rule: &str) -> (String, String, String) {
    (value.to_owned(), verdict.to_owned(), rule.to_owned())
}

#[test]
fn built_in_rules_apply_without_any_flag() {
    assert_eq!(
        verdicts(&[
            "8.8.8.8",
            "10.0.0.1",
            "0.0.0.0/1",
            "128.0.0.0/1",
            "::/0",
            "8.8.0.0/15"
        ]),
        [
            triple("8.8.8.8", "allow", ""),
            triple("10.0.0.1", "stop", "builtin:special-range"),
            triple("0.0.0.0/1", "stop", "builtin:special-range"),
            triple("128.0.0.0/1", "stop", "builtin:special-range"),
            triple("::/0", "stop", "builtin:special-range"),
            triple("8.8.0.0/15", "stop", "builtin:broad-cidr"),
        ]
    );
    guard_test(&["10.0.0.1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("RFC 1918"));
}

#[test]
fn allowlist_flags_and_warninglists() {
    let wl = fixtures();
    assert_eq!(
        verdicts(&[
            "--allow-cidr",
            "8.8.8.0/24",
            "--allow-domain",
            "corp.example",
            "--allow-hash",
            "d41d8cd98f00b204e9800998ecf8427e",
            "--warninglist",
            wl.to_str().unwrap(),
            "8.8.8.8",
            "8.8.0.0/16",
            "hxxps://vpn[.]corp[.]example/login",
            "D41D8CD98F00B204E9800998ECF8427E",
            "www.bmw.de",
            "1.2.3.4",
        ]),
        [
            triple("8.8.8.8", "stop", "allowlist:cidr:8.8.8.0/24"),
            triple("8.8.0.0/16", "stop", "allowlist:cidr:8.8.8.0/24"),
            triple(
                "https://vpn.corp.example/login",
                "stop",
                "allowlist:domain:corp.example"
            ),
            triple(
                "d41d8cd98f00b204e9800998ecf8427e",
                "stop",
                "allowlist:hash:d41d8cd98f00b204e9800998ecf8427e"
            ),
            triple(
                "www.bmw.de",
                "stop",
                "warninglist:List of known dax30 webpages"
            ),
            triple("1.2.3.4", "allow", ""),
        ]
    );
}

#[test]
fn exception_lists_skip_the_special_range_rule() {
    assert_eq!(
        verdicts(&["--exception-list", "10.0.0.1", "0.0.0.0/1"]),
        [
            triple("10.0.0.1", "allow", ""),
            triple("0.0.0.0/1", "stop", "builtin:broad-cidr")
        ]
    );
}

#[test]
fn a_config_file_supplies_the_guard_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::copy(
        fixtures().join("rfc6761/list.json"),
        dir.path().join("lists/rfc6761.json"),
    )
    .unwrap();
    let config = dir.path().join("iocsync.toml");
    std::fs::write(
        &config,
        "[guard]\nallow_domains = [\"example.net\"]\nwarninglists = [\"lists\"]\nmax_prefix_v4 = 24\n\n[other]\nignored = true\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    assert_eq!(
        verdicts(&[
            "--config",
            config,
            "--allow-cidr",
            "9.9.9.9",
            "www.example.net",
            "example.org",
            "9.9.9.9",
            "4.4.0.0/16"
        ]),
        [
            triple("www.example.net", "stop", "allowlist:domain:example.net"),
            triple(
                "example.org",
                "stop",
                "warninglist:List of RFC 6761 Special-Use Domain Names"
            ),
            triple("9.9.9.9", "stop", "allowlist:cidr:9.9.9.9"),
            triple("4.4.0.0/16", "stop", "builtin:broad-cidr"),
        ]
    );
}

#[test]
fn bad_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[guard]\nallow_cidr = [\"10.0.0.0/8\"]\n").unwrap();
    guard_test(&["--config", config.to_str().unwrap(), "8.8.8.8"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("bad.toml")
                .and(predicate::str::contains("unknown field `allow_cidr`")),
        );
    guard_test(&["--allow-cidr", "example.com", "8.8.8.8"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("allow_cidrs[0] `example.com`"));
    guard_test(&["--warninglist", "/nonexistent/list.json", "8.8.8.8"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/list.json"));
}

#[test]
fn unparsable_values_get_their_parse_error_and_exit_3() {
    let out = guard_test(&["--json", "8.8.8.8", "999.1.1.1"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["input"], "999.1.1.1");
    assert_eq!(lines[1]["verdict"], "invalid");
    assert!(
        lines[1]["reason"]
            .as_str()
            .unwrap()
            .contains("greater than 255"),
        "{}",
        lines[1]
    );
}

#[test]
fn notes_about_unapplied_lists_go_to_stderr() {
    guard_test(&[
        "--warninglist",
        fixtures().join("common-contact-emails").to_str().unwrap(),
        "security@corp.example",
    ])
    .assert()
    .success()
    .stderr(predicate::str::contains("regex list"));
}
