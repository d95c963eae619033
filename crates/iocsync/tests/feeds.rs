//! `[[feeds]]` through the real binary, against a loopback feed server that publishes a
//! changing Feodo-style snapshot with ETags: `iocsync pull` (applied, unchanged by 304,
//! withdrawn, held, accepted), `iocsync feeds`, the config's library for `import`, and the
//! daemon pulling on a schedule and pushing what changed to Vision One and Deep Security at
//! once — and holding an empty download without removing anything.

mod support;

use std::path::Path;
use std::time::Duration;

use indicator::Kind;
use serde_json::Value;
use store::{Library, Status};
use support::{Daemon, FeedServer, feodo_csv, feodo_ip, iocsync, run_expecting, wait_for};
use testkit::ConfigBuilder;

/// Feed `feodo` at `feed_url` (score 9, tagged `c2`), the section last started: a test sets
/// the feed's other keys on it.
fn feodo(feed_url: &str) -> ConfigBuilder {
    ConfigBuilder::new("library.db")
        .feed("feodo", feed_url)
        .set("score", 9)
        .set("tags", vec!["c2"])
}

/// Writes `config` with collection `all`.
fn write_config(dir: &Path, config: ConfigBuilder) {
    config.collection("all").write(dir);
}

fn pull_json(dir: &Path, args: &[&str], code: i32) -> Value {
    let mut all = vec!["pull", "--json"];
    all.extend_from_slice(args);
    let output = run_expecting(dir, &all, code);
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap();
    reports[0].clone()
}

fn status(dir: &Path, i: u32) -> Status {
    Library::open(dir.join("library.db"))
        .unwrap()
        .indicator(Kind::Ipv4, &feodo_ip(i), chrono::Utc::now())
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_feed_is_pulled_withdrawn_from_held_and_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = FeedServer::start(&feodo_csv(0..100)).await;
    write_config(dir.path(), feodo(&server.url));

    let missing = run_expecting(dir.path(), &["pull"], 1);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--init-library"));

    let first = pull_json(dir.path(), &["--init-library"], 0);
    assert_eq!(first["outcome"], "applied", "{first}");
    assert_eq!(
        (first["listed"].as_u64(), first["new"].as_u64()),
        (Some(100), Some(100))
    );
    assert_eq!(
        first["invalid"], 0,
        "the banner and the commented header are not records"
    );

    let same = pull_json(dir.path(), &[], 0);
    assert_eq!(same["outcome"], "unchanged");
    assert_eq!(server.requests(), (2, 1), "the second download was a 304");

    // A colleague's source lists one of the values the feed is about to drop.
    let colleague = dir.path().join("analyst.txt");
    std::fs::write(&colleague, format!("{}\n", feodo_ip(3))).unwrap();
    run_expecting(dir.path(), &["import", colleague.to_str().unwrap()], 0);

    // Tomorrow: 10% gone, 5% new.
    server.publish(&feodo_csv(10..105));
    let next = pull_json(dir.path(), &[], 0);
    assert_eq!(next["outcome"], "applied");
    assert_eq!(
        (next["new"].as_u64(), next["withdrawn"].as_u64()),
        (Some(5), Some(10))
    );
    assert_eq!(status(dir.path(), 5), Status::Revoked);
    assert_eq!(
        status(dir.path(), 3),
        Status::Active,
        "the analyst still lists it"
    );
    assert_eq!(status(dir.path(), 104), Status::Active);

    // The feed host serves a banner and nothing else: held, nothing withdrawn.
    server.publish(&feodo_csv(0..0));
    let held = run_expecting(dir.path(), &["pull"], 4);
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert!(
        stderr.contains("HELD") && stderr.contains("listed nothing"),
        "{stderr}"
    );
    assert_eq!(status(dir.path(), 50), Status::Active);
    let feeds = run_expecting(dir.path(), &["feeds", "--json"], 0);
    let feeds: Value = serde_json::from_slice(&feeds.stdout).unwrap();
    assert_eq!(feeds[0]["state"]["outcome"], "held", "{feeds}");
    assert_eq!(feeds[0]["state"]["live"], 95);

    // The held download is kept for the person who must look at it.
    let kept = dir.path().join("library.held").join("feodo.download");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), feodo_csv(0..0));
    assert!(stderr.contains("library.held/feodo.download"), "{stderr}");

    // The host recovers meanwhile: `--accept` still applies exactly what was held and looked at.
    server.publish(&feodo_csv(10..105));
    let accepted = pull_json(dir.path(), &["feodo", "--accept"], 0);
    assert_eq!(accepted["outcome"], "applied", "{accepted}");
    assert_eq!(accepted["withdrawn"], 95);
    assert_eq!(status(dir.path(), 50), Status::Revoked);
    assert!(!kept.exists(), "an applied download is no longer kept");
    // The next regular pull sees the recovered feed again.
    let recovered = pull_json(dir.path(), &[], 0);
    assert_eq!(
        (recovered["outcome"].as_str(), recovered["new"].as_u64()),
        (Some("applied"), Some(95))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mostly_broken_download_is_held_and_bad_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = FeedServer::start(&feodo_csv(0..20)).await;
    write_config(dir.path(), feodo(&server.url));
    pull_json(dir.path(), &["--init-library"], 0);

    let mut garbled = feodo_csv(0..20);
    garbled.push_str("\"2021-01-17\",\"not-an-ip\",\"447\",\"online\",\"2026-12-01\",\"QakBot\"\n");
    server.publish(&garbled);
    let one_bad = run_expecting(dir.path(), &["pull"], 3);
    let stderr = String::from_utf8_lossy(&one_bad.stderr);
    assert!(
        stderr.contains(&server.url) && stderr.contains(":28:"),
        "{stderr}"
    );

    let mut broken = feodo_csv(0..5);
    broken.push_str(
        &"\"2021-01-17\",\"not-an-ip\",\"447\",\"online\",\"2026-12-01\",\"QakBot\"\n".repeat(30),
    );
    server.publish(&broken);
    let report = pull_json(dir.path(), &[], 4);
    assert_eq!(report["outcome"], "held", "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("invalid"),
        "{report}"
    );
    assert_eq!(status(dir.path(), 7), Status::Active);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_fills_the_library_the_config_names_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), feodo("https://feeds.example/x.csv"));
    let elsewhere = tempfile::tempdir().unwrap();
    let list = elsewhere.path().join("list.txt");
    std::fs::write(&list, "45.0.0.9\n").unwrap();
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin!("iocsync"))
        .current_dir(elsewhere.path())
        .args([
            "--config",
            dir.path().join("iocsync.toml").to_str().unwrap(),
        ])
        .args(["import", list.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("library.db").exists());
    assert!(!elsewhere.path().join("iocsync.db").exists());
    let collections = iocsync(dir.path())
        .current_dir(elsewhere.path())
        .args(["collections", "show", "all"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&collections.stdout).contains("45.0.0.9"));
}

/// Vision One's suspicious IPs and the Deep Security list's items.
fn pushed(emulator: &emulator::RunningEmulator) -> (Vec<String>, Vec<String>) {
    let snapshot = emulator.emulator().snapshot();
    let v1 = support::suspicious(&snapshot);
    let mut ds: Vec<String> = snapshot
        .ip_lists
        .iter()
        .filter(|list| list.name.starts_with("Feodo"))
        .flat_map(|list| {
            list.items
                .iter()
                .map(|i| i.trim_end_matches("/32").to_owned())
        })
        .collect();
    ds.sort();
    (v1, ds)
}

fn sorted(ids: impl IntoIterator<Item = u32>) -> Vec<String> {
    let mut values: Vec<String> = ids.into_iter().map(feodo_ip).collect();
    values.sort();
    values
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_pulls_and_its_workflows_follow_within_one_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = support::emulator().await;
    let key = support::key_ref(dir.path());
    let server = FeedServer::start(&feodo_csv(0..100)).await;
    let config = feodo(&server.url)
        .schedule("1s")
        .set("proxy", "none")
        .vision_one("v1", &emulator.base_url(), &key)
        .deep_security("ds", &emulator.deep_security_url(), &key)
        .workflow("block", "v1", "blocklist")
        .set("after", vec!["feodo"])
        .workflow("ips", "ds", "ip-list")
        .schedule("after-feeds")
        .param("list_name", "Feodo")
        .param("aggregate", false);
    write_config(dir.path(), config);
    let daemon = Daemon::start(dir.path());

    let everything = sorted(0..100);
    wait_for(
        "the first pull on both targets",
        Duration::from_secs(30),
        || async { pushed(&emulator) == (everything.clone(), everything.clone()) },
    )
    .await;

    server.publish(&feodo_csv(10..105));
    let tomorrow = sorted(10..105);
    wait_for(
        "10% gone and 5% new on both targets",
        Duration::from_secs(30),
        || async { pushed(&emulator) == (tomorrow.clone(), tomorrow.clone()) },
    )
    .await;

    server.publish(&feodo_csv(0..0));
    wait_for(
        "the empty download held",
        Duration::from_secs(30),
        || async { daemon.json("/api/feeds").await[0]["state"]["outcome"] == "held" },
    )
    .await;
    // Two more ticks of the daemon: still nothing removed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(pushed(&emulator), (tomorrow.clone(), tomorrow.clone()));
    let metrics = daemon.text("/metrics").await;
    assert!(
        metrics.contains("iocsync_feed_held{feed=\"feodo\"} 1"),
        "{metrics}"
    );
    // A held pull is no success: the last one is the pull before it, a few seconds ago.
    let confirmed = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("iocsync_feed_last_success_timestamp_seconds{feed=\"feodo\"} ")
        })
        .and_then(|value| value.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no last success of feodo in {metrics}"));
    let age = chrono::Utc::now().timestamp() - confirmed;
    assert!((0..120).contains(&age), "{age} s");
    let page = daemon.text("/").await;
    assert!(
        page.contains("Pull held:") && page.contains("listed nothing"),
        "{page}"
    );
    assert!(
        daemon
            .logs()
            .iter()
            .any(|l| l.contains("pull HELD") && l.contains("WARN")),
        "a held pull is a warning"
    );
    drop(daemon);
}

/// A MISP instance's `/attributes/restSearch` on loopback: checks the key, keeps attributes
/// changed at or after the request's `timestamp`, pages by `limit` / `page`.
async fn misp(attributes: std::sync::Arc<std::sync::Mutex<Vec<Value>>>) -> String {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/attributes/restSearch",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let attributes = std::sync::Arc::clone(&attributes);
            async move {
                if headers
                    .get("authorization")
                    .is_none_or(|v| v != "misp-test-key")
                {
                    return StatusCode::FORBIDDEN.into_response();
                }
                let query: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(query["returnFormat"], "json");
                assert_eq!(query["to_ids"], true);
                let since = query["timestamp"].as_i64().unwrap_or(0);
                let limit = query["limit"].as_u64().unwrap_or(1000) as usize;
                let page = query["page"].as_u64().unwrap_or(1) as usize;
                let all = attributes.lock().unwrap().clone();
                let page: Vec<Value> = all
                    .into_iter()
                    .filter(|a| a["timestamp"].as_str().unwrap().parse::<i64>().unwrap() >= since)
                    .skip((page - 1) * limit)
                    .take(limit)
                    .collect();
                axum::Json(serde_json::json!({"response": {"Attribute": page}})).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn misp_attribute(id: u32, value: &str, timestamp: i64, deleted: bool) -> Value {
    serde_json::json!({
        "id": id.to_string(), "event_id": "7", "type": "ip-dst", "category": "Network activity",
        "to_ids": true, "timestamp": timestamp.to_string(), "deleted": deleted, "value": value,
        "uuid": format!("5f0c1d2e-0000-4000-8000-{id:012}"),
        "Event": {"id": "7", "info": "C2 wave", "threat_level_id": "1"},
        "Tag": [{"name": "tlp:green"}]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misp_feed_is_pulled_incrementally_from_its_last_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let attributes = std::sync::Arc::new(std::sync::Mutex::new(vec![
        misp_attribute(1, &feodo_ip(1), 1_767_225_600, false),
        misp_attribute(2, &feodo_ip(2), 1_767_225_700, false),
    ]));
    let url = misp(std::sync::Arc::clone(&attributes)).await;
    let key = testkit::secret_file(dir.path(), "misp.key", "misp-test-key");
    let config = feodo(&url)
        .set("format", "misp-api")
        .header("Authorization", &key);
    write_config(dir.path(), config);
    let first = pull_json(dir.path(), &["--init-library"], 0);
    assert_eq!(
        (first["outcome"].as_str(), first["listed"].as_u64()),
        (Some("applied"), Some(2)),
        "{first}"
    );
    let record = Library::open(dir.path().join("library.db"))
        .unwrap()
        .indicator(Kind::Ipv4, &feodo_ip(1), chrono::Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(
        record.score,
        Some(9),
        "the feed's own score wins over threat level 1"
    );

    let again = pull_json(dir.path(), &[], 0);
    assert!(
        again["listed"].as_u64().unwrap() <= 1,
        "only what changed at or after the cursor: {again}"
    );
    attributes
        .lock()
        .unwrap()
        .push(misp_attribute(3, &feodo_ip(3), 1_767_226_000, false));
    let later = pull_json(dir.path(), &[], 0);
    assert_eq!(later["new"], 1, "{later}");
    assert_eq!(status(dir.path(), 3), Status::Active);
    // An incremental feed withdraws nothing for being absent from a pull.
    assert_eq!(status(dir.path(), 1), Status::Active);

    std::fs::write(dir.path().join("misp.key"), "wrong-key-value").unwrap();
    let refused = run_expecting(dir.path(), &["pull"], 1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("failed") && !stderr.contains("wrong-key-value"),
        "{stderr}"
    );
}
