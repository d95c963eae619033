//! `iocsync collections` driven through the real binary against a real library file.

use assert_cmd::Command;
use chrono::{Duration, Utc};
use indicator::Kind;
use predicates::prelude::*;
use serde_json::Value;
use store::{Class, Library, Sighting};
use tempfile::TempDir;
use testkit::ConfigBuilder;

/// A temporary directory holding `lib.db`, seeded with a few indicators.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn seeded() -> Fixture {
        let fixture = Fixture::new();
        let now = Utc::now();
        let sighting = |kind, value: &str, score, tags: &[&str], days_ago| Sighting {
            kind,
            value: value.to_owned(),
            display: None,
            source: "feed-a".to_owned(),
            score,
            class: Class::Indicator,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            description: None,
            seen_at: now - Duration::days(days_ago),
            valid_until: None,
            revoked: false,
            reported_at: None,
        };
        let mut lib = Library::open(fixture.library()).unwrap();
        lib.merge(&[
            sighting(Kind::Ipv4, "198.51.100.7", Some(9), &["c2"], 1),
            sighting(Kind::Domain, "evil.example", Some(7), &["phishing"], 2),
            sighting(Kind::Ipv4, "203.0.113.9", Some(3), &["scan", "fp"], 3),
            sighting(Kind::Sha256, &"ab".repeat(32), None, &[], 60),
        ])
        .unwrap();
        fixture
    }

    fn library(&self) -> std::path::PathBuf {
        self.dir.path().join("lib.db")
    }

    /// `iocsync` run in the fixture's directory, the library given through the environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("iocsync").unwrap();
        cmd.current_dir(self.dir.path())
            .env("IOCSYNC_LIBRARY", self.library())
            .args(args);
        cmd
    }
}

fn json_lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8(output.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn add_list_show_and_remove() {
    let f = Fixture::seeded();
    f.cmd(&[
        "collections",
        "add",
        "ips",
        "--kind",
        "ipv4",
        "--tag-none",
        "fp",
        "--description",
        "for the firewall",
    ])
    .assert()
    .success()
    .stderr(predicate::str::contains("saved collection `ips`"));
    f.cmd(&[
        "collections",
        "add",
        "hot",
        "--min-score",
        "7",
        "--seen-within",
        "30d",
    ])
    .assert()
    .success();

    let list = f.cmd(&["collections", "list", "--json"]).assert().success();
    let defs = json_lines(&list.get_output().stdout);
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0]["name"], "hot");
    assert_eq!(defs[0]["seen_within"], "30days");
    assert_eq!(defs[1]["kinds"], serde_json::json!(["ipv4"]));
    assert_eq!(defs[1]["tags_none"], serde_json::json!(["fp"]));
    f.cmd(&["collections", "list"]).assert().success().stdout(
        predicate::str::contains("for the firewall").and(predicate::str::contains("score >= 7")),
    );

    let show = f
        .cmd(&["collections", "show", "hot", "--json"])
        .assert()
        .success();
    let members = json_lines(&show.get_output().stdout);
    let values: Vec<_> = members
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["198.51.100.7", "evil.example"]);
    assert_eq!(members[0]["score"], 9);
    assert_eq!(members[0]["status"], "active");
    assert_eq!(members[0]["sources"], serde_json::json!(["feed-a"]));

    f.cmd(&["collections", "show", "ips"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("198.51.100.7")
                .and(predicate::str::contains("203.0.113.9").not()),
        )
        .stderr(predicate::str::contains("1 member of `ips`"));

    f.cmd(&["collections", "remove", "ips"]).assert().success();
    f.cmd(&["collections", "show", "ips"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no collection named `ips`"));
    f.cmd(&["collections", "remove", "ips"]).assert().code(1);
}

#[test]
fn show_orders_and_limits() {
    let f = Fixture::seeded();
    f.cmd(&["collections", "add", "all"]).assert().success();
    f.cmd(&["collections", "add", "latest", "--order", "recent"])
        .assert()
        .success();
    let values = |name: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["collections", "show", name, "--json"];
        args.extend_from_slice(extra);
        let out = f.cmd(&args).assert().success();
        json_lines(&out.get_output().stdout)
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect()
    };
    let hash = "ab".repeat(32);
    assert_eq!(
        values("all", &[]),
        ["198.51.100.7", "evil.example", "203.0.113.9", hash.as_str()]
    );
    assert_eq!(
        values("all", &["--limit", "2"]),
        ["198.51.100.7", "evil.example"]
    );
    assert_eq!(
        values("latest", &[]),
        ["198.51.100.7", "evil.example", "203.0.113.9", hash.as_str()]
    );
}

#[test]
fn duplicates_need_replace() {
    let f = Fixture::new();
    f.cmd(&["collections", "add", "x", "--min-score", "5"])
        .assert()
        .success();
    f.cmd(&["collections", "add", "x", "--min-score", "6"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    f.cmd(&["collections", "add", "x", "--min-score", "6", "--replace"])
        .assert()
        .success();
    let out = f.cmd(&["collections", "list", "--json"]).assert().success();
    assert_eq!(json_lines(&out.get_output().stdout)[0]["min_score"], 6);
}

#[test]
fn bad_input_is_refused_without_creating_a_library() {
    let f = Fixture::new();
    f.cmd(&["collections", "add", "x", "--min-score", "11"])
        .assert()
        .code(2);
    f.cmd(&["collections", "add", "x", "--kind", "ipx"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown indicator kind `ipx`"));
    f.cmd(&["collections", "add", "x", "--seen-within", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--seen-within"));
    f.cmd(&["collections", "add", "no/slash"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid collection `no/slash`"));
    f.cmd(&["collections", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no library at"));
    assert!(
        !f.library().exists(),
        "nothing may create the library on bad input"
    );
}

#[test]
fn library_flag_overrides_the_environment_and_bad_files_are_named() {
    let f = Fixture::new();
    let other = f.dir.path().join("other.db");
    f.cmd(&[
        "collections",
        "add",
        "x",
        "--library",
        other.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert!(other.exists() && !f.library().exists());

    let junk = f.dir.path().join("junk.db");
    std::fs::write(&junk, "not sqlite at all, just text\n".repeat(100)).unwrap();
    f.cmd(&["collections", "list", "--library", junk.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("junk.db").and(predicate::str::contains("not a database")),
        );
}

#[test]
fn the_default_library_is_in_the_current_directory() {
    let f = Fixture::new();
    Command::cargo_bin("iocsync")
        .unwrap()
        .current_dir(f.dir.path())
        .env_remove("IOCSYNC_LIBRARY")
        .args(["collections", "add", "here"])
        .assert()
        .success();
    assert!(f.dir.path().join("iocsync.db").exists());
}

#[test]
fn collections_defined_in_the_config_file_are_listed_and_shown() {
    let fixture = Fixture::seeded();
    ConfigBuilder::new("lib.db")
        .collection("from-config")
        .set("min_score", 8)
        .write(fixture.dir.path());
    let listed = fixture
        .cmd(&["collections", "list", "--json"])
        .assert()
        .success();
    let names: Vec<String> = String::from_utf8(listed.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["from-config"]);
    let shown = fixture
        .cmd(&["collections", "show", "from-config", "--json"])
        .assert()
        .success();
    let values: Vec<String> = String::from_utf8(shown.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(values, ["198.51.100.7"]);
}
