//! `iocsync parse` driven as a real binary: the bundled sample feed, stdin, JSON and table
//! output, comments, invalid UTF-8, free-text extraction, unreadable files and exit codes.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn iocsync() -> Command {
    Command::cargo_bin("iocsync").unwrap()
}

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/feeds/mixed.txt")
}

/// Runs `iocsync parse --json` on `stdin` and returns the exit code and the JSON objects.
fn json_of(args: &[&str], stdin: &[u8]) -> (i32, Vec<Value>) {
    let out = iocsync()
        .arg("parse")
        .arg("--json")
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (out.status.code().unwrap(), rows)
}

fn rows_for<'a>(rows: &'a [Value], input: &str) -> Vec<&'a Value> {
    rows.iter().filter(|row| row["input"] == input).collect()
}

#[test]
fn sample_feed_parses_with_reasons_for_the_bad_lines() {
    let out = iocsync()
        .args(["parse", "--json"])
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "some sample lines are deliberately bad"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid") && stderr.contains("ipv4-leading-zero 1"),
        "{stderr}"
    );
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() > 200, "{} rows", rows.len());

    let url = rows_for(&rows, "hxxp://dropper.example.com/stage2.bin");
    assert_eq!(url.len(), 1);
    assert_eq!(url[0]["kind"], "url");
    assert_eq!(url[0]["value"], "http://dropper.example.com/stage2.bin");
    assert_eq!(url[0]["flags"], serde_json::json!(["refanged"]));
    assert_eq!(url[0]["error"], Value::Null);

    let bad = rows_for(&rows, "010.10.10.10");
    assert_eq!(bad[0]["kind"], Value::Null);
    assert_eq!(bad[0]["value"], Value::Null);
    assert!(bad[0]["error"].as_str().unwrap().contains("leading zero"));
    assert_eq!(bad[0]["reason"], "ipv4-leading-zero");

    let range = rows_for(&rows, "198.51.100.10 - 198.51.100.20");
    let values: Vec<&str> = range.iter().map(|r| r["value"].as_str().unwrap()).collect();
    assert_eq!(
        values,
        [
            "198.51.100.10/31",
            "198.51.100.12/30",
            "198.51.100.16/30",
            "198.51.100.20"
        ]
    );
    assert!(
        range
            .iter()
            .all(|r| r["line"] == range[0]["line"] && r["scope"] == "documentation")
    );

    let private = rows_for(&rows, "10.0.0.0/8");
    assert_eq!(
        (&private[0]["kind"], &private[0]["scope"]),
        (&Value::from("cidr"), &Value::from("private"))
    );
    let idn = rows_for(&rows, "bücher.example.de");
    assert_eq!(
        (&idn[0]["value"], &idn[0]["display"]),
        (
            &Value::from("xn--bcher-kva.example.de"),
            &Value::from("bücher.example.de")
        )
    );
    assert_eq!(rows_for(&rows, "www.example.com/a?b=1")[0]["kind"], "url");
    assert!(
        rows.iter()
            .all(|r| r["input"].as_str().is_some_and(|i| !i.starts_with('#')))
    );
}

#[test]
fn table_output_and_exit_zero_when_every_line_is_valid() {
    iocsync()
        .arg("parse")
        .write_stdin("# a comment\n\n8.8.8.8\nexample[.]com  # trailing note\r\n")
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("line")
                .and(predicate::str::contains("8.8.8.8"))
                .and(predicate::str::contains("example.com")),
        )
        .stdout(predicate::str::contains("public").and(predicate::str::contains("refanged")))
        .stdout(predicate::str::contains("comment").not())
        .stderr(predicate::str::contains(
            "2 lines: 2 valid (2 indicators), 0 invalid",
        ));
}

#[test]
fn bad_lines_are_reported_and_do_not_stop_the_run() {
    let (code, rows) = json_of(&["-"], b"1.2.3\nfoo\n\xff\xfe.example.com\n2001:db8::1\n");
    assert_eq!(code, 3);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    assert!(
        rows[0]["error"]
            .as_str()
            .unwrap()
            .contains("four parts, not 3")
    );
    assert!(rows[1]["error"].as_str().unwrap().contains("single label"));
    assert_eq!(rows[2]["reason"], "invalid-utf8");
    assert!(
        rows[2]["error"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8")
    );
    assert_eq!(
        (&rows[3]["kind"], &rows[3]["value"]),
        (&Value::from("ipv6"), &Value::from("2001:db8::1"))
    );
    assert_eq!(rows[3]["file"], "-");
}

#[test]
fn extract_finds_indicators_in_free_text() {
    let text = "Summary: the dropper at hxxps://cdn[.]example[.]net/a.bin called 203.0.113[.]9.\n\
                Contact soc[at]example.org about setup.exe, e.g. now. Again 203.0.113.9!\n";
    let (code, rows) = json_of(&["--extract"], text.as_bytes());
    assert_eq!(code, 0);
    let found: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("url", "https://cdn.example.net/a.bin"),
            ("ipv4", "203.0.113.9"),
            ("email", "soc@example.org"),
            ("ipv4", "203.0.113.9")
        ]
    );
    assert_eq!(rows[3]["line"], 2);
}

#[test]
fn unreadable_file_is_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    std::fs::write(&good, "192.168.0.0/255.255.0.0\n").unwrap();
    let out = iocsync()
        .args(["parse", "--json"])
        .arg(dir.path().join("missing.txt"))
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("missing.txt"), "{stderr}");
    let row: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(row["value"], "192.168.0.0/16");
    assert_eq!(row["flags"], serde_json::json!(["dotted-mask"]));
    assert!(row["file"].as_str().unwrap().ends_with("good.txt"));
}
