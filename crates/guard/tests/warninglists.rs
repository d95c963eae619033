//! MISP warninglists of every type, from the real lists in tests/fixtures.

use std::path::{Path, PathBuf};

use guard::{Guard, GuardConfig, GuardError, Verdict};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/warninglists")
}

fn with_lists(paths: Vec<PathBuf>) -> Guard {
    Guard::new(&GuardConfig {
        warninglists: paths,
        ..GuardConfig::default()
    })
    .unwrap()
}

fn verdict(guard: &Guard, value: &str) -> String {
    let parsed = indicator::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
    match guard.check(&parsed[0]) {
        Verdict::Allow => "allow".to_owned(),
        Verdict::Stop { rule, .. } => rule,
    }
}

#[test]
fn cidr_lists_match_addresses_and_networks() {
    let guard = with_lists(vec![fixtures()]);
    let gmail = "warninglist:List of known Gmail sending IP ranges";
    assert_eq!(verdict(&guard, "209.85.128.5"), gmail);
    assert_eq!(verdict(&guard, "74.125.3.0/24"), gmail);
    assert_eq!(verdict(&guard, "2a00:1450:4001::25"), gmail);
    assert_eq!(
        verdict(&guard, "209.85.0.0/16"),
        gmail,
        "holds 209.85.128.0/17"
    );
    assert_eq!(verdict(&guard, "209.86.0.1"), "allow");
    // The list applies to addresses, not to the host of a URL.
    assert_eq!(verdict(&guard, "http://209.85.128.5/x"), "allow");
    // rfc1918 is on a list too, but the built-in rule speaks first.
    assert_eq!(verdict(&guard, "10.0.0.1"), "builtin:special-range");
}

#[test]
fn hostname_lists_match_the_host_and_its_subdomains() {
    let guard = with_lists(vec![fixtures()]);
    let dax = "warninglist:List of known dax30 webpages";
    assert_eq!(verdict(&guard, "www.bmw.de"), dax);
    assert_eq!(
        verdict(&guard, "bmw.de"),
        dax,
        "the leading dot in `.bmw.de` is dropped"
    );
    assert_eq!(verdict(&guard, "notbmw.de"), "allow");
    // dax30 applies to domains and hostnames only; url-shortener also to URLs.
    assert_eq!(verdict(&guard, "https://www.bmw.de/x"), "allow");
    assert_eq!(
        verdict(&guard, "https://bit.ly/3abc"),
        "warninglist:List of known URL Shorteners domains"
    );
    assert_eq!(verdict(&guard, "cfo@bmw.de"), "allow");
}

#[test]
fn string_lists_match_exactly() {
    let guard = with_lists(vec![fixtures()]);
    let empty = "warninglist:List of known hashes for empty files";
    assert_eq!(verdict(&guard, "d41d8cd98f00b204e9800998ecf8427e"), empty);
    assert_eq!(
        verdict(&guard, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"),
        empty
    );
    assert_eq!(
        verdict(
            &guard,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ),
        empty
    );
    assert_eq!(verdict(&guard, "d41d8cd98f00b204e9800998ecf8427f"), "allow");
    let rfc6761 = "warninglist:List of RFC 6761 Special-Use Domain Names";
    assert_eq!(verdict(&guard, "example.org"), rfc6761);
    assert_eq!(
        verdict(&guard, "www.example.org"),
        "allow",
        "string lists do not cover subdomains"
    );
}

#[test]
fn substring_lists_match_anywhere_in_the_value() {
    let guard = with_lists(vec![fixtures()]);
    let sandboxes = "warninglist:List of known domains used by automated malware analysis services & security vendors";
    assert_eq!(verdict(&guard, "www.virustotal.com"), sandboxes);
    assert_eq!(verdict(&guard, "https://app.any.run/tasks/1"), sandboxes);
    assert_eq!(
        verdict(&guard, "portal.prizegiveaway.net"),
        "warninglist:List of known Office 365 Attack Simulator used for phishing awareness campaigns"
    );
    assert_eq!(verdict(&guard, "virus-total.example"), "allow");
}

#[test]
fn regex_and_unmatched_lists_are_noted_not_applied() {
    let guard = with_lists(vec![fixtures()]);
    let notes = guard.notes().join("\n");
    assert!(
        notes.contains("Common contact e-mail addresses") && notes.contains("regex"),
        "{notes}"
    );
    assert!(notes.contains("applies to no indicator kind"), "{notes}");
    assert_eq!(verdict(&guard, "security@corp.example"), "allow");
}

#[test]
fn a_single_file_loads_alone() {
    let guard = with_lists(vec![fixtures().join("dax30/list.json")]);
    assert_eq!(
        verdict(&guard, "www.siemens.com"),
        "warninglist:List of known dax30 webpages"
    );
    assert_eq!(verdict(&guard, "d41d8cd98f00b204e9800998ecf8427e"), "allow");
    assert!(guard.notes().is_empty());
}

#[test]
fn allowlist_rules_are_named_before_warninglists() {
    let guard = Guard::new(&GuardConfig {
        allow_domains: vec!["bmw.de".into()],
        warninglists: vec![fixtures()],
        ..GuardConfig::default()
    })
    .unwrap();
    assert_eq!(verdict(&guard, "www.bmw.de"), "allowlist:domain:bmw.de");
}

#[test]
fn broken_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let err = Guard::new(&GuardConfig {
        warninglists: vec![missing.clone()],
        ..GuardConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(&err, GuardError::Read { path, .. } if *path == missing),
        "{err}"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"name": "x", "type": "cidr", "list": ["1.2.3.4"#).unwrap();
    let err = Guard::new(&GuardConfig {
        warninglists: vec![bad],
        ..GuardConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");

    let odd = dir.path().join("odd.json");
    std::fs::write(&odd, r#"{"name": "x", "type": "glob", "list": []}"#).unwrap();
    let err = Guard::new(&GuardConfig {
        warninglists: vec![odd],
        ..GuardConfig::default()
    })
    .unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        chain.contains("odd.json") && chain.contains("glob"),
        "{chain}"
    );

    let empty = tempfile::tempdir().unwrap();
    let err = Guard::new(&GuardConfig {
        warninglists: vec![empty.path().to_path_buf()],
        ..GuardConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, GuardError::EmptyDirectory(_)), "{err}");
}

#[test]
fn unusable_entries_are_skipped_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.json");
    std::fs::write(
        &path,
        r#"{"name": "mixed", "type": "cidr", "list": ["8.8.8.0/24", "not-an-ip", "9.9.9.9"]}"#,
    )
    .unwrap();
    let guard = with_lists(vec![path]);
    assert_eq!(verdict(&guard, "8.8.8.8"), "warninglist:mixed");
    assert_eq!(verdict(&guard, "9.9.9.9"), "warninglist:mixed");
    assert!(
        guard.notes()[0].contains("1 entries ignored") && guard.notes()[0].contains("not-an-ip"),
        "{:?}",
        guard.notes()
    );
}

/// Loads every list of the misp-warninglists repository when it is available (see
/// tests/fixtures/README.md); the CI has no network access, so it is opt-in.
#[test]
fn the_whole_repository_loads_when_present() {
    let Some(dir) = std::env::var_os("IOCSYNC_WARNINGLISTS_DIR") else {
        eprintln!("IOCSYNC_WARNINGLISTS_DIR not set: not loading the full warninglist repository");
        return;
    };
    let started = std::time::Instant::now();
    let guard = with_lists(vec![PathBuf::from(dir)]);
    eprintln!(
        "loaded in {:?}; notes:\n{}",
        started.elapsed(),
        guard.notes().join("\n")
    );
    assert_eq!(
        verdict(&guard, "www.google.com").split(':').next(),
        Some("warninglist")
    );
    assert_eq!(
        verdict(&guard, "8.8.8.8").split(':').next(),
        Some("warninglist")
    );
    assert_eq!(
        verdict(&guard, "d41d8cd98f00b204e9800998ecf8427e")
            .split(':')
            .next(),
        Some("warninglist")
    );
}
