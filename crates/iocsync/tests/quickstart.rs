//! `iocsync quickstart` through the real binary in a temporary directory: it finishes with exit
//! 0, what it says sits in the emulator is what the emulator saved, and that matches what the
//! bundled feeds should give — computed here by reading the feeds with the `feeds` readers and
//! applying each workflow's collection filter and the guard, not from iocsync's own records.
//! A second run sends nothing; NO_COLOR output has no escape codes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Cursor;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use config::Config;
use config::Parameters;
use guard::{Guard, GuardConfig, ListKind, Verdict};
use indicator::Kind;
use serde_json::Value;
use store::{Class, Collection, Status};
use tempfile::TempDir;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/feeds")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn quickstart(dir: &Path, json: bool) -> Run {
    let mut command = Command::cargo_bin("iocsync").unwrap();
    command
        .arg("quickstart")
        .arg("--dir")
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("IOCSYNC_CONFIG")
        .timeout(std::time::Duration::from_secs(300));
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// One indicator as the feeds give it, merged over its sightings.
#[derive(Default)]
struct Merged {
    score: Option<u8>,
    standing: bool,
    asset: bool,
    valid_until: Option<DateTime<Utc>>,
    tags: BTreeSet<String>,
    sources: BTreeSet<String>,
}

/// Reads every feed the quickstart says it imported, with the settings it says it used.
fn read_feeds(summary: &Value) -> HashMap<(Kind, String), Merged> {
    let mut merged: HashMap<(Kind, String), Merged> = HashMap::new();
    for feed in summary["imported"].as_array().unwrap() {
        let name = feed["feed"].as_str().unwrap();
        let text = std::fs::read_to_string(samples().join(name)).unwrap();
        let mut defaults = feeds::Defaults::new(feed["source"].as_str().unwrap());
        defaults.score = feed["default_score"].as_u64().map(|s| s as u8);
        defaults.class = serde_json::from_value(feed["class"].clone()).unwrap();
        let columns = feeds::Columns::default();
        let format = feeds::detect(name, text.as_bytes(), &columns);
        let options = feeds::Options { defaults, columns };
        for sighting in feeds::open(format, name, Cursor::new(text), options).flatten() {
            let entry = merged.entry((sighting.kind, sighting.value)).or_default();
            entry.asset |= sighting.class == Class::Asset;
            entry.valid_until = entry.valid_until.max(sighting.valid_until);
            entry.tags.extend(sighting.tags);
            if !sighting.revoked {
                entry.standing = true;
                entry.score = entry.score.max(sighting.score);
                entry.sources.insert(sighting.source);
            }
        }
    }
    merged
}

/// Whether an indicator belongs to a collection (only the filters the example uses; any
/// other makes the test fail rather than guess).
fn member(c: &Collection, (kind, _): &(Kind, String), m: &Merged) -> bool {
    assert!(c.tags_all.is_empty() && c.tags_none.is_empty() && c.seen_within.is_none());
    assert_eq!(c.status, [Status::Active]);
    let active = m.standing && m.valid_until.is_none_or(|until| until > Utc::now());
    let class = if m.asset {
        Class::Asset
    } else {
        Class::Indicator
    };
    active
        && c.class.is_none_or(|wanted| wanted == class)
        && c.min_score
            .is_none_or(|min| m.score.is_some_and(|s| s >= min))
        && (c.kinds.is_empty() || c.kinds.contains(kind))
        && (c.tags_any.is_empty() || c.tags_any.iter().any(|t| m.tags.contains(t)))
        && (c.sources.is_empty() || c.sources.iter().any(|s| m.sources.contains(s)))
}

/// The collection of the config's workflow with this action, its members and the guard.
fn expected(
    config: &Config,
    feeds: &HashMap<(Kind, String), Merged>,
    pick: fn(&Parameters) -> bool,
    list: ListKind,
) -> Vec<(Kind, String)> {
    let workflow = config
        .workflows
        .iter()
        .find(|w| pick(&w.parameters))
        .unwrap();
    let collection = config.collection(&workflow.collection).unwrap();
    let guard = Guard::new(&GuardConfig {
        list,
        ..config.guard.clone()
    })
    .unwrap();
    feeds
        .iter()
        .filter(|(key, m)| member(collection, key, m))
        .filter(|((kind, value), _)| {
            let parsed = indicator::parse_as(*kind, value).unwrap();
            let indicator = parsed.iter().find(|i| &i.value == value).unwrap();
            guard.check(indicator) == Verdict::Allow
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// Vision One's object type for a kind; `None` for kinds it takes no value of.
fn v1_type(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 => Some("ip"),
        Kind::Domain => Some("domain"),
        Kind::Url => Some("url"),
        Kind::Email => Some("senderMailAddress"),
        Kind::Sha1 => Some("fileSha1"),
        Kind::Sha256 => Some("fileSha256"),
        _ => None,
    }
}

fn by_v1_type(values: &[(Kind, String)]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (kind, _) in values {
        if let Some(key) = v1_type(*kind) {
            *counts.entry(key.to_owned()).or_default() += 1;
        }
    }
    counts
}

fn counts(value: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(value.clone()).unwrap()
}

/// `a.b.c.d` or `a.b.c.d/n` (v4 or v6) as an address and prefix length.
fn network(text: &str) -> (IpAddr, u8) {
    match text.split_once('/') {
        Some((ip, len)) => (ip.parse().unwrap(), len.parse().unwrap()),
        None => {
            let ip: IpAddr = text.parse().unwrap();
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    }
}

/// Whether network `outer` holds `inner`. IPv4 addresses sit in the top 32 bits, so a prefix
/// length means the same for both families.
fn covers(outer: (IpAddr, u8), inner: (IpAddr, u8)) -> bool {
    let bits = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    };
    let ((o, o_v6), (i, i_v6)) = (bits(outer.0), bits(inner.0));
    let mask = u128::MAX.checked_shl(128 - u32::from(outer.1)).unwrap_or(0);
    o_v6 == i_v6 && outer.1 <= inner.1 && (o & mask) == (i & mask)
}

#[test]
fn quickstart_matches_the_feeds_and_a_rerun_sends_nothing() {
    let dir = TempDir::new().unwrap();
    let work = dir.path().join("qs");
    let first = quickstart(&work, true);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let summary: Value = serde_json::from_str(&first.stdout).unwrap();
    assert!(summary["changes"].as_u64().unwrap() > 1000, "{summary}");

    // What the quickstart printed is what the emulator saved.
    let state = std::fs::read_to_string(work.join("emulator-state.json")).unwrap();
    let snapshot: emulator::Snapshot = serde_json::from_str(&state).unwrap();
    let printed = &summary["emulator"];
    let mut saved: BTreeMap<String, u64> = BTreeMap::new();
    for object in &snapshot.suspicious_objects {
        *saved.entry(object.kind.key().to_owned()).or_default() += 1;
    }
    assert_eq!(counts(&printed["suspicious_objects"]), saved);
    assert_eq!(
        counts(&printed["exceptions"]).values().sum::<u64>(),
        snapshot.exceptions.len() as u64
    );
    assert_eq!(
        counts(&printed["xdr_blocked"]).values().sum::<u64>(),
        snapshot.xdr_blocked.len() as u64
    );

    // And it is what the feeds should give.
    let config = Config::load(&work.join("iocsync.toml")).unwrap();
    let feeds = read_feeds(&summary);
    // The blocklist workflow's objects, and the response blocks that land on the same list.
    let mut suspicious: BTreeSet<(Kind, String)> = expected(
        &config,
        &feeds,
        |p| matches!(p, Parameters::Blocklist(_)),
        ListKind::Blocklist,
    )
    .into_iter()
    .collect();
    let responded = expected(
        &config,
        &feeds,
        |p| matches!(p, Parameters::ResponseBlock(_)),
        ListKind::Blocklist,
    );
    assert!(
        !responded.is_empty(),
        "the response-block workflow blocks something"
    );
    suspicious.extend(responded);
    let suspicious: Vec<(Kind, String)> = suspicious.into_iter().collect();
    assert_eq!(
        counts(&printed["suspicious_objects"]),
        by_v1_type(&suspicious)
    );
    let exceptions = expected(
        &config,
        &feeds,
        |p| matches!(p, Parameters::Exceptions(_)),
        ListKind::ExceptionList,
    );
    assert_eq!(counts(&printed["exceptions"]), by_v1_type(&exceptions));

    let networks = expected(
        &config,
        &feeds,
        |p| matches!(p, Parameters::IpList(_)),
        ListKind::Blocklist,
    );
    let entries: Vec<(IpAddr, u8)> = snapshot
        .ip_lists
        .iter()
        .filter(|list| list.name.starts_with("iocsync_blocked"))
        .flat_map(|list| list.items.iter().map(|item| network(item)))
        .collect();
    assert!(!networks.is_empty());
    for (_, value) in &networks {
        let wanted = network(value);
        assert!(
            entries.iter().any(|entry| covers(*entry, wanted)),
            "{value} is in no IP list: {:?}",
            entries
                .iter()
                .filter(|e| e.0.to_string().starts_with("198.51.10"))
                .collect::<Vec<_>>()
        );
    }
    let listed: u64 = counts(&printed["ip_lists"]).values().sum();
    assert_eq!(listed, entries.len() as u64);

    let mut xdr: BTreeSet<String> = expected(
        &config,
        &feeds,
        |p| matches!(p, Parameters::XdrBlock(_)),
        ListKind::Blocklist,
    )
    .into_iter()
    .map(|(_, value)| value)
    .collect();
    let answers = summary["triggers"].as_object().unwrap();
    assert!(
        !answers.is_empty(),
        "the example's webhook trigger was fired"
    );
    let before = xdr.len();
    for answer in answers.values() {
        for value in answer["values"].as_array().unwrap() {
            if value["outcome"] == "blocked" {
                xdr.insert(value["value"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(
        xdr.len() > before,
        "the alert blocked values the feeds did not"
    );
    let blocked: BTreeSet<String> = snapshot
        .xdr_blocked
        .iter()
        .map(|b| b.target_value.clone())
        .collect();
    assert_eq!(blocked, xdr);

    // The same directory again: nothing to send, the emulator unchanged.
    let second = quickstart(&work, true);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let again: Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(again["changes"], 0, "{again}");
    for row in again["workflows"].as_array().unwrap() {
        assert_eq!(row["api_calls"], 0, "{row}");
    }
    assert_eq!(again["emulator"], summary["emulator"]);

    // Tables, with NO_COLOR: no escape codes anywhere.
    let third = quickstart(&work, false);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(third.stdout.contains("0 changes sent"), "{}", third.stdout);
    assert!(
        third.stdout.contains("refused by guard"),
        "{}",
        third.stdout
    );
    assert!(!third.stdout.contains('\u{1b}') && !third.stderr.contains('\u{1b}'));
}

#[test]
fn quickstart_writes_only_inside_its_directory_and_keeps_secrets_private() {
    let dir = TempDir::new().unwrap();
    let work = dir.path().join("nested/qs");
    let run = quickstart(&work, true);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["nested"]);
    let key = std::fs::read_to_string(work.join("emulator.key")).unwrap();
    assert!(!run.stdout.contains(key.trim()) && !run.stderr.contains(key.trim()));
    let config = std::fs::read_to_string(work.join("iocsync.toml")).unwrap();
    assert!(
        !config.contains(key.trim()),
        "the config names the key file only"
    );
    let schema = jsonschema::validator_for(&config::schema()).unwrap();
    let written: Value = toml::from_str(&config).unwrap();
    let errors: Vec<String> = schema
        .iter_errors(&written)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the written config fails the schema: {errors:?}"
    );
    #[cfg(unix)]
    for secret in ["emulator.key", "hook.secret"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(work.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }

    // Without the emulator's saved state, the next quickstart starts afresh and sends all.
    std::fs::remove_file(work.join("emulator-state.json")).unwrap();
    let again = quickstart(&work, true);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let (first, again): (Value, Value) = (
        serde_json::from_str(&run.stdout).unwrap(),
        serde_json::from_str(&again.stdout).unwrap(),
    );
    assert_eq!(again["changes"], first["changes"]);
    assert_eq!(again["emulator"], first["emulator"]);
}

/// A plain HTTP/1.0 GET: the status code and the body.
fn get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[cfg(unix)]
#[test]
fn quickstart_serve_keeps_the_daemon_and_emulator_up_until_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = TempDir::new().unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("iocsync"))
        .args(["quickstart", "--serve", "--dir"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut urls = HashMap::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while urls.len() < 5 {
        let line = lines
            .next()
            .expect("quickstart --serve printed its URLs")
            .unwrap();
        for label in ["status page", "JSON API", "metrics", "webhooks", "emulator"] {
            if let Some(rest) = line.strip_prefix(label) {
                let url = rest.split_whitespace().next().unwrap().to_owned();
                urls.insert(label, url);
            }
        }
    }
    let (status, page) = get(&urls["status page"]);
    assert_eq!(status, 200);
    assert!(page.contains("v1-blocklist"), "{page}");
    let (status, metrics) = get(&urls["metrics"]);
    assert_eq!(status, 200);
    assert!(metrics.contains("# EOF"), "{metrics}");
    let (status, state) = get(&format!("{}/_emulator/state", urls["emulator"]));
    assert_eq!(status, 200);
    assert!(state.contains("suspiciousObjects"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        dir.path().join("emulator-state.json").exists(),
        "state saved on the way out"
    );
}
