//! `iocsync import` through the real binary: sample feeds, bad lines, `--strict`, the errors
//! file, standard input, an HTTP URL and a TAXII collection polled twice, each against a real
//! library file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::Value;
use store::Library;
use tempfile::TempDir;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/feeds")
}

struct Run {
    code: i32,
    summary: Value,
    stderr: String,
}

fn import(dir: &TempDir, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::cargo_bin("iocsync").unwrap();
    cmd.current_dir(dir.path())
        .env_remove("IOCSYNC_TAXII_TOKEN")
        .env_remove("IOCSYNC_TAXII_USER")
        .env_remove("IOCSYNC_TAXII_PASSWORD")
        .args(["import", "--library", "lib.db", "--json"])
        .args(args);
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin);
    }
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        summary: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn library(dir: &TempDir) -> Library {
    Library::open(dir.path().join("lib.db")).unwrap()
}

fn write(dir: &TempDir, name: &str, content: &str) -> String {
    std::fs::write(dir.path().join(name), content).unwrap();
    name.to_owned()
}

#[test]
fn every_sample_feed_imports_cleanly() {
    let dir = TempDir::new().unwrap();
    let names = [
        "blocklist.txt",
        "phishing.csv",
        "c2-servers.jsonl",
        "campaign.stix.json",
        "misp-event.json",
    ];
    let paths: Vec<String> = names
        .iter()
        .map(|n| samples().join(n).display().to_string())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let run = import(&dir, &args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["invalid"], 0);
    let formats: Vec<&str> = run.summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["text", "csv", "jsonl", "stix", "misp"]);
    assert!(
        run.summary["skipped"].as_u64().unwrap() >= 10,
        "STIX AND patterns and MISP context are skipped"
    );
    let imported = run.summary["imported"].as_u64().unwrap();
    assert!(imported > 3000, "{}", run.summary);
    let count = library(&dir).count().unwrap();
    assert_eq!(count, run.summary["new"].as_u64().unwrap());
}

#[test]
fn bad_lines_are_reported_with_their_line_and_the_rest_imported() {
    let dir = TempDir::new().unwrap();
    let feed = write(
        &dir,
        "feed.txt",
        "# c2\n198.51.101.1\nnot valid at all\nevil[.]example\n999.1.1.1\n",
    );
    let run = import(&dir, &[&feed], None);
    assert_eq!(run.code, 3, "exit 3: partial");
    assert_eq!(
        (
            run.summary["read"].as_u64(),
            run.summary["invalid"].as_u64()
        ),
        (Some(4), Some(2))
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines[0].starts_with("feed.txt:3: "), "{lines:?}");
    assert!(lines[1].starts_with("feed.txt:5: "), "{lines:?}");
    assert_eq!(library(&dir).count().unwrap(), 2);
}

#[test]
fn strict_mode_writes_nothing_when_any_record_is_invalid() {
    let dir = TempDir::new().unwrap();
    let good = write(&dir, "good.txt", "198.51.101.1\n198.51.101.2\n");
    let bad = write(
        &dir,
        "bad.csv",
        "value,score\n198.51.101.3,5\n198.51.101.4,50\n",
    );
    let run = import(&dir, &["--strict", &good, &bad], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.summary["written"], false);
    assert!(run.stderr.contains("bad.csv:3: `score`"), "{}", run.stderr);
    assert_eq!(library(&dir).count().unwrap(), 0, "nothing written");

    let run = import(&dir, &["--strict", &good], None);
    assert_eq!(run.code, 0);
    assert_eq!(library(&dir).count().unwrap(), 2);
}

#[test]
fn stderr_shows_the_first_problems_and_the_errors_file_keeps_all() {
    let dir = TempDir::new().unwrap();
    let feed: String = (0..120).map(|i| format!("bad value {i}\n")).collect();
    let feed = write(&dir, "noise.txt", &feed);
    let run = import(&dir, &[&feed, "--errors-file", "problems.txt"], None);
    assert_eq!(run.code, 3);
    let shown = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("noise.txt:"))
        .count();
    assert_eq!(shown, 50);
    assert!(
        run.stderr.contains("… and 70 more problems not shown"),
        "{}",
        run.stderr
    );
    let kept = std::fs::read_to_string(dir.path().join("problems.txt")).unwrap();
    assert_eq!(kept.lines().count(), 120);
    assert!(kept.lines().last().unwrap().starts_with("noise.txt:120: "));
}

#[test]
fn standard_input_with_defaults_from_flags() {
    let dir = TempDir::new().unwrap();
    let csv = "ioc,type\n198.51.101.9,ip\nhxxps://bad[.]example/x,url\n";
    let run = import(
        &dir,
        &[
            "-", "--format", "csv", "--source", "pasted", "--score", "6", "--tag", "manual",
            "--class", "asset",
        ],
        Some(csv),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let library = library(&dir);
    let record = library
        .indicator(indicator::Kind::Ipv4, "198.51.101.9", chrono::Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(record.score, Some(6));
    assert_eq!(record.sources, ["pasted"]);
    assert_eq!(record.tags, ["manual"]);
    assert_eq!(record.class, store::Class::Asset);
}

#[test]
fn an_abuse_ch_dump_imports_as_downloaded() {
    // A ThreatFox-shaped dump named as its download URL names it (no extension): the format
    // is detected from the commented header, quoted tag lists and `ip:port` values are read.
    let dir = TempDir::new().unwrap();
    let dump = "################\n# ThreatFox IOCs: recent\n################\n\
        # \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"malware_printable\",\"confidence_level\",\"tags\"\n\
        \"2026-11-23 09:00:00\", \"1\", \"198.51.101.20:443\", \"ip:port\", \"botnet_cc\", \"Cobalt Strike\", \"100\", \"c2,CobaltStrike\"\n\
        \"2026-11-23 09:00:01\", \"2\", \"bad-c2[.]example\", \"domain\", \"botnet_cc\", \"X\", \"50\", \"\"\n";
    let path = write(&dir, "recent", dump);
    let run = import(&dir, &[&path, "--source", "threatfox"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let library = library(&dir);
    let now = chrono::Utc::now();
    let ip = library
        .indicator(indicator::Kind::Ipv4, "198.51.101.20", now)
        .unwrap()
        .unwrap();
    assert_eq!(ip.score, Some(10));
    assert_eq!(ip.tags, ["CobaltStrike", "c2"], "tags are kept sorted");
    let domain = library
        .indicator(indicator::Kind::Domain, "bad-c2.example", now)
        .unwrap()
        .unwrap();
    assert_eq!(domain.score, Some(5));
    assert_eq!(library.count().unwrap(), 2);
}

#[test]
fn unreadable_inputs_fail_but_the_others_are_imported() {
    let dir = TempDir::new().unwrap();
    let good = write(&dir, "good.txt", "198.51.101.1\n");
    let run = import(&dir, &["missing.txt", &good], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error: missing.txt: cannot open"),
        "{}",
        run.stderr
    );
    assert_eq!(library(&dir).count().unwrap(), 1);
}

#[test]
fn bad_arguments_are_refused_before_anything_is_read() {
    let dir = TempDir::new().unwrap();
    for (args, message) in [
        (vec!["-", "-"], "standard input"),
        (vec!["https://user:secret@feeds.example/x"], "credentials"),
        (
            vec!["taxii+https://user:secret@t.example/api1/collections/c/"],
            "credentials",
        ),
        (
            vec![
                "taxii+https://t.example/api1/collections/c/",
                "--taxii-added-after",
                "yesterday",
            ],
            "RFC 3339",
        ),
        (vec!["x.txt", "--score", "11"], "11"),
        (vec!["x.txt", "--format", "xml"], "xml"),
    ] {
        let run = import(&dir, &args, None);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("secret"), "{args:?}: {}", run.stderr);
    }
    assert!(!dir.path().join("lib.db").exists(), "nothing was opened");
}

/// A one-thread HTTP server answering every request with `respond(request line, headers)`.
fn serve(respond: impl Fn(&str, &str) -> (String, String) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer(stream, &respond);
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: TcpStream, respond: &impl Fn(&str, &str) -> (String, String)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        headers.push_str(&line);
    }
    let (extra_headers, body) = respond(&request_line, &headers);
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).unwrap();
    let _ = stream.read(&mut [0u8; 1]);
}

#[test]
fn an_http_url_is_downloaded_and_detected() {
    let dir = TempDir::new().unwrap();
    let base = serve(|_, _| {
        (
            "Content-Type: text/csv\r\n".to_owned(),
            "indicator,type,confidence\nbad.example,domain,90\n198.51.101.5,ip,20\n".to_owned(),
        )
    });
    let run = import(&dir, &[&format!("{base}/feeds/iocs.csv?key=abc")], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["inputs"][0]["format"], "csv");
    let record = library(&dir)
        .indicator(indicator::Kind::Domain, "bad.example", chrono::Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(record.score, Some(9));
    assert!(
        !record.sources[0].contains("key"),
        "the query stays out of the source name: {:?}",
        record.sources
    );
}

#[test]
fn a_taxii_collection_is_polled_incrementally_with_credentials_from_the_environment() {
    let dir = TempDir::new().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let base = serve(move |request_line, headers| {
        seen.lock()
            .unwrap()
            .push((request_line.trim().to_owned(), headers.to_owned()));
        if request_line.contains("added_after=") {
            return (String::new(), r#"{"more": false}"#.to_owned());
        }
        let body = r#"{"more": false, "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern": "[domain-name:value = 'taxii.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
            {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "198.51.101.77"}
        ]}"#;
        (
            "X-TAXII-Date-Added-Last: 2026-11-01T10:00:00.5Z\r\n".to_owned(),
            body.to_owned(),
        )
    });
    let target = format!("taxii+{base}/api1/collections/c1/");
    let poll = |dir: &TempDir| {
        let mut cmd = Command::cargo_bin("iocsync").unwrap();
        let output = cmd
            .current_dir(dir.path())
            .env("IOCSYNC_TAXII_TOKEN", "tok-123")
            .args(["import", "--library", "lib.db", "--json", &target])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let first = poll(&dir);
    assert_eq!(
        (first["read"].as_u64(), first["new"].as_u64()),
        (Some(2), Some(2))
    );
    let second = poll(&dir);
    assert_eq!(second["read"], 0, "nothing new since the cursor");
    let requests = requests.lock().unwrap();
    assert!(
        requests[0]
            .0
            .starts_with("GET /api1/collections/c1/objects/?limit="),
        "{requests:?}"
    );
    assert!(
        requests[1]
            .0
            .contains("added_after=2026-11-01T10%3A00%3A00.5Z"),
        "{requests:?}"
    );
    let auth = requests[0].1.to_ascii_lowercase();
    assert!(auth.contains("authorization: bearer tok-123"), "{auth}");
    assert!(
        auth.contains("accept: application/taxii+json;version=2.1"),
        "{auth}"
    );
    let cursor = library(&dir)
        .cursor(&format!("taxii:{base}/api1/collections/c1/"))
        .unwrap();
    assert_eq!(cursor.as_deref(), Some("2026-11-01T10:00:00.5Z"));
}

#[test]
fn help_documents_the_inputs_and_the_credentials() {
    let output = Command::cargo_bin("iocsync")
        .unwrap()
        .args(["import", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "taxii+https://HOST/API-ROOT/collections/ID/",
        "IOCSYNC_TAXII_TOKEN",
        "--strict",
        "--errors-file",
        "--csv-value-column",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}
