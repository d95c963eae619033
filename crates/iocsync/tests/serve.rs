//! `iocsync serve` as a user runs it: the real binary against an emulator, with a real library
//! file — scheduling, the status page and JSON API, `/metrics`, and SIGTERM during a run.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use emulator::faults::FaultSettings;
use store::Library;
use support::{ADD, Daemon, emulator, seed, suspicious, wait_for, write_serve_config};

fn time(run: &serde_json::Value, key: &str) -> DateTime<Utc> {
    run[key].as_str().unwrap().parse().unwrap()
}

/// One sample of the OpenMetrics text: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses `name{label="value",...} number` lines (comments skipped).
fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap();
            let Some((name, rest)) = series.split_once('{') else {
                return (series.to_owned(), BTreeMap::new(), value);
            };
            let mut labels = BTreeMap::new();
            let mut rest = rest.strip_suffix('}').unwrap();
            while let Some((key, tail)) = rest.split_once("=\"") {
                let end = tail.find('"').unwrap();
                labels.insert(key.to_owned(), tail[..end].to_owned());
                rest = tail[end + 1..].trim_start_matches(',');
            }
            (name.to_owned(), labels, value)
        })
        .collect()
}

/// The value of the series `name` with (at least) `labels`, summed over the other labels.
fn metric(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

/// The entry of the JSON array `list` whose `name` is `name`.
fn named(list: &serde_json::Value, name: &str) -> serde_json::Value {
    let entries = list.as_array().unwrap();
    let found = entries.iter().find(|entry| entry["name"] == name);
    found
        .unwrap_or_else(|| panic!("no {name} in {list:#}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_runs_repeat_never_overlap_and_show_on_the_page_the_api_and_metrics() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1s", "");
    let values = seed(dir.path(), 30);
    // The first run (3 batches at 500 ms each) outlasts the interval: the second run is due
    // while the first is in flight and must wait for it.
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 500,
        ..FaultSettings::default()
    });
    let daemon = Daemon::start(dir.path());
    wait_for("three runs of `block`", Duration::from_secs(30), || async {
        daemon.succeeded("block").await >= 3
    })
    .await;

    let runs = daemon.runs_of("block").await;
    let finished: Vec<_> = runs.iter().filter(|r| r["status"] != "running").collect();
    assert!(
        finished.iter().all(|r| r["status"] == "succeeded"),
        "{runs:#?}"
    );
    assert_eq!(finished[0]["counts"]["added"], 30);
    let first_took = time(finished[0], "finished_at") - time(finished[0], "started_at");
    assert!(first_took > chrono::TimeDelta::seconds(1), "{first_took}");
    for pair in runs.windows(2) {
        assert!(
            time(&pair[1], "started_at") >= time(&pair[0], "finished_at"),
            "overlapping runs: {pair:#?}"
        );
        let gap = time(&pair[1], "started_at") - time(&pair[0], "started_at");
        assert!(
            gap >= chrono::TimeDelta::milliseconds(999),
            "started early: {pair:#?}"
        );
    }
    let held = suspicious(&emu.emulator().snapshot());
    let mut expected = values;
    expected.sort();
    assert_eq!(held, expected, "repeated runs change nothing once in step");

    // The failing workflow is recorded with its error and retried.
    wait_for("`broken` retried", Duration::from_secs(30), || async {
        daemon.runs_of("broken").await.len() >= 2
    })
    .await;
    let broken = daemon.runs_of("broken").await;
    assert!(
        broken
            .iter()
            .all(|r| r["status"] == "failed" || r["status"] == "running"),
        "{broken:#?}"
    );
    assert!(!broken[0]["errors"].as_array().unwrap().is_empty());

    // A run that fails before the engine records it is recorded all the same.
    let orphan = daemon.runs_of("orphan").await;
    assert_eq!(orphan[0]["status"], "failed", "{orphan:#?}");
    assert!(
        orphan[0]["errors"][0]
            .as_str()
            .unwrap()
            .contains("no collection named `nowhere`"),
        "{orphan:#?}"
    );

    let status = daemon.json("/api/status").await;
    let workflow = |name: &str| named(&status["workflows"], name);
    let block = workflow("block");
    assert_eq!(block["schedule"], "every 1s");
    assert_eq!(block["action"], "blocklist");
    assert_eq!(block["ledger_entries"], 30);
    assert!(block["next_run"].is_string());
    assert_eq!(block["last_run"]["status"], "succeeded");
    assert!(block["last_success"].is_string(), "{block}");
    let broken = workflow("broken");
    assert!(broken["failures"].as_u64().unwrap() >= 1);
    assert_eq!(broken["last_run"]["status"], "failed");
    assert!(broken["last_success"].is_null(), "{broken}");
    let target = |name: &str| named(&status["targets"], name);
    assert_eq!(target("v1")["health"]["state"], "up");
    assert_eq!(target("v1")["ledger_entries"], 30);
    // How full its lists are: 30 domains of 10,000; exceptions hold nothing.
    assert_eq!(
        target("v1")["rooms"],
        serde_json::json!([
            {"list": "suspicious", "bucket": "domain", "held": 30, "capacity": 10000}
        ])
    );
    assert_eq!(target("v1-bad")["health"]["state"], "down");
    assert!(target("v1-bad")["health"]["error"].is_string());
    assert_eq!(
        daemon
            .json("/api/workflows")
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        daemon.json("/api/targets").await.as_array().unwrap().len(),
        2
    );
    assert_eq!(daemon.get("/api/runs?limit=0").await.status(), 400);
    assert_eq!(daemon.get("/api/runs?limit=x").await.status(), 400);
    assert_eq!(
        daemon
            .json("/api/runs?limit=1")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let page = daemon.text("/").await;
    for expected in [
        "<tr data-workflow=\"block\">",
        "every 1s",
        "succeeded",
        "<tr data-target=\"v1-bad\">",
        "down",
        "suspicious domain 30 / 10,000",
    ] {
        assert!(page.contains(expected), "the page lacks {expected}");
    }

    // Metrics: read between two counts of the runs, as runs keep happening.
    let before = daemon.succeeded("block").await as f64;
    let samples = parse_metrics(&daemon.text("/metrics").await);
    let after = daemon.succeeded("block").await as f64;
    let runs = metric(
        &samples,
        "iocsync_runs_total",
        &[("workflow", "block"), ("status", "succeeded")],
    );
    assert!(
        (before..=after).contains(&runs),
        "{before} <= {runs} <= {after}"
    );
    assert!(
        metric(
            &samples,
            "iocsync_runs_total",
            &[("workflow", "broken"), ("status", "failed")]
        ) >= 2.0
    );
    assert_eq!(
        metric(
            &samples,
            "iocsync_items_total",
            &[("workflow", "block"), ("outcome", "added")]
        ),
        30.0
    );
    assert_eq!(
        metric(
            &samples,
            "iocsync_items_total",
            &[("workflow", "block"), ("outcome", "failed")]
        ),
        0.0
    );
    let succeeded_at = metric(
        &samples,
        "iocsync_workflow_last_success_timestamp_seconds",
        &[("workflow", "block")],
    );
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 120.0..=now + 1.0).contains(&succeeded_at),
        "{succeeded_at}"
    );
    assert_eq!(
        metric(
            &samples,
            "iocsync_workflow_last_success_timestamp_seconds",
            &[("workflow", "broken")]
        ),
        0.0,
        "a workflow that never succeeded has no such series"
    );
    assert_eq!(metric(&samples, "iocsync_library_indicators", &[]), 30.0);
    assert!(metric(&samples, "iocsync_library_bytes", &[]) > 0.0);
    let room = [("target", "v1"), ("list", "suspicious"), ("type", "domain")];
    assert_eq!(metric(&samples, "iocsync_target_objects", &room), 30.0);
    assert_eq!(metric(&samples, "iocsync_target_capacity", &room), 10_000.0);
    let adds = metric(
        &samples,
        "iocsync_api_calls_total",
        &[("target", "v1"), ("endpoint", ADD)],
    );
    assert_eq!(
        adds,
        emu.emulator().request_stats().count(ADD, "207") as f64
    );
    assert_eq!(adds, 3.0);
    assert_eq!(
        metric(&samples, "iocsync_target_up", &[("target", "v1")]),
        1.0
    );
    assert_eq!(
        metric(&samples, "iocsync_target_up", &[("target", "v1-bad")]),
        0.0
    );
    let timed = metric(
        &samples,
        "iocsync_run_duration_seconds_count",
        &[("workflow", "block")],
    );
    assert!(timed >= runs, "{timed} durations for {runs} runs");
}

/// `serve.max_concurrent_runs = 1`: the three workflows fall due together at the start; one
/// runs while the others wait for its slot (and the log says so), never two at once, and each
/// is recorded in the end.
#[tokio::test(flavor = "multi_thread")]
async fn runs_past_max_concurrent_runs_wait_for_a_slot() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let limit = "\n[serve]\nmax_concurrent_runs = 1\n";
    write_serve_config(dir.path(), &emu.base_url(), "1h", limit);
    seed(dir.path(), 30);
    // Every request 300 ms late: each run takes at least that long.
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 300,
        ..FaultSettings::default()
    });
    let daemon = Daemon::start(dir.path());
    let most = AtomicUsize::new(0);
    wait_for(
        "a run of each workflow",
        Duration::from_secs(60),
        || async {
            let status = daemon.json("/api/status").await;
            let workflows = status["workflows"].as_array().unwrap().clone();
            let running = workflows
                .iter()
                .filter(|w| w["running"].is_object())
                .count();
            most.fetch_max(running, Ordering::SeqCst);
            workflows.iter().all(|w| w["last_run"].is_object())
        },
    )
    .await;
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "one run in flight at a time"
    );
    assert_eq!(daemon.succeeded("block").await, 1);
    let logs = daemon.logs().join("\n");
    assert!(
        logs.contains("run waits for a slot: serve.max_concurrent_runs runs are in flight"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_run_finishes_the_batch_records_the_run_and_exits_zero() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1h", "");
    let values = seed(dir.path(), 200);
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 200,
        ..FaultSettings::default()
    });
    let mut daemon = Daemon::start(dir.path());
    wait_for("two batches confirmed", Duration::from_secs(30), || async {
        emu.emulator().request_stats().count(ADD, "207") >= 2
    })
    .await;
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
    let logs: Vec<serde_json::Value> = daemon
        .logs()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        logs.iter().any(|log| log["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutdown requested"))),
        "{logs:#?}"
    );

    let library = Library::open(dir.path().join("library.db")).unwrap();
    let runs: Vec<_> = library
        .runs(10)
        .unwrap()
        .into_iter()
        .filter(|r| r.workflow == "block")
        .collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, store::RunStatus::Failed);
    assert!(
        runs[0].finished_at.is_some(),
        "the run is closed, not left running"
    );
    assert!(
        runs[0]
            .errors
            .iter()
            .any(|e| e.contains(engine::report::STOPPED)),
        "{:?}",
        runs[0].errors
    );

    // The ledger holds exactly what the emulator holds: the batches confirmed before the stop.
    let mut ledger: Vec<String> = library
        .ledger("v1/block")
        .unwrap()
        .into_iter()
        .map(|e| e.value)
        .collect();
    ledger.sort();
    let held = suspicious(&emu.emulator().snapshot());
    assert_eq!(ledger, held);
    assert!((20..200).contains(&held.len()), "{} objects", held.len());

    // The next start converges: the rest is sent, nothing twice.
    emu.emulator().set_faults(FaultSettings::default());
    let daemon = Daemon::start(dir.path());
    wait_for("the rest sent", Duration::from_secs(30), || async {
        daemon.succeeded("block").await >= 1
    })
    .await;
    let held = suspicious(&emu.emulator().snapshot());
    let mut expected = values;
    expected.sort();
    assert_eq!(held, expected);
    assert_eq!(
        emu.emulator().request_stats().count(ADD, "207"),
        20,
        "every object sent once"
    );
}

/// A `siem` webhook trigger (bearer token `hook-token`, written to a file in `dir`) that blocks
/// `alert.ip` on Vision One.
fn siem_trigger(dir: &std::path::Path) -> String {
    std::fs::write(dir.join("hook-token"), "hook-token").unwrap();
    format!(
        "[[triggers]]\nname = \"siem\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
         token = \"file:{}\"\nvalues = [\"$SrcIP\"]\n[triggers.fields]\nSrcIP = \"alert.ip\"\n",
        dir.join("hook-token").display()
    )
}

/// Fires the `siem` trigger with an alert about 45.33.32.156.
async fn fire_siem(daemon: &Daemon) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/hooks/siem", daemon.url))
        .bearer_auth("hook-token")
        .json(&serde_json::json!({ "alert": { "ip": "45.33.32.156" } }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_call_is_served_and_listed_under_recent_triggers() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let trigger = siem_trigger(dir.path());
    write_serve_config(dir.path(), &emu.base_url(), "1h", &trigger);
    seed(dir.path(), 0);
    let daemon = Daemon::start(dir.path());
    let answer = fire_siem(&daemon).await;
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    assert_eq!(suspicious(&emu.emulator().snapshot()), ["45.33.32.156"]);

    let triggers = daemon.json("/api/triggers").await;
    assert_eq!(triggers[0]["workflow"], "hook:siem", "{triggers:#}");
    let page = daemon.text("/").await;
    let recent = &page[page.find("Recent triggers").unwrap()..];
    assert!(
        recent.contains("<td>siem <span class=\"muted\">call</span></td>"),
        "{recent}"
    );
    let status = daemon.json("/api/status").await;
    let v1 = named(&status["targets"], "v1");
    assert_eq!(
        v1["ledger_entries"], 1,
        "trigger blocks count in the target's ledger"
    );
    let metrics = daemon.text("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("trigger=\"siem\"")),
        "the triggers' metrics are in the same registry:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_token_guards_page_api_and_metrics_but_not_healthz_or_triggers() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("status-token"), "status-s3cret\n").unwrap();
    let extra = format!(
        "{}[serve]\ntoken = \"file:{}\"\n",
        siem_trigger(dir.path()),
        dir.path().join("status-token").display()
    );
    write_serve_config(dir.path(), &emu.base_url(), "1h", &extra);
    seed(dir.path(), 0);
    let daemon = Daemon::start(dir.path());
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", daemon.url));

    for path in ["/", "/api/status", "/api/runs", "/metrics"] {
        let refused = get(path).send().await.unwrap();
        assert_eq!(refused.status(), 401, "GET {path} without the token");
        assert_eq!(
            refused.headers()["www-authenticate"],
            "Basic realm=\"iocsync\", charset=\"UTF-8\""
        );
        let wrong = get(path).bearer_auth("status-s3cre").send().await.unwrap();
        assert_eq!(wrong.status(), 401, "GET {path} with a wrong token");
        let hook_token = get(path).bearer_auth("hook-token").send().await.unwrap();
        assert_eq!(hook_token.status(), 401, "GET {path} with the hook's token");
        let bearer = get(path).bearer_auth("status-s3cret").send().await.unwrap();
        assert_eq!(bearer.status(), 200, "GET {path} with the bearer token");
        let basic = get(path)
            .basic_auth("anyone", Some("status-s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 200, "GET {path} with the token as password");
    }
    let page = get("/").bearer_auth("status-s3cret").send().await.unwrap();
    assert!(page.text().await.unwrap().contains("iocsync"));
    assert_eq!(daemon.get("/healthz").await.status(), 200);

    let answer = fire_siem(&daemon).await;
    assert_eq!(
        answer.status(),
        200,
        "the hook keeps its own authentication"
    );
    assert_eq!(suspicious(&emu.emulator().snapshot()), ["45.33.32.156"]);
    let logs = daemon.logs().join("\n");
    assert!(!logs.contains("status-s3cret"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_workflows_triggers_and_the_token_or_keeps_the_old_config() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1h", &siem_trigger(dir.path()));
    seed(dir.path(), 0);
    let mut daemon = Daemon::start(dir.path());
    let names = |list: &serde_json::Value| -> Vec<String> {
        let names = list
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap().to_owned());
        names.collect()
    };
    assert_eq!(
        names(&daemon.json("/api/workflows").await),
        ["block", "broken", "orphan"]
    );
    assert_eq!(fire_siem(&daemon).await.status(), 200);

    // The new file: one more workflow, the trigger renamed, a status token.
    std::fs::write(dir.path().join("status-token"), "status-s3cret").unwrap();
    let renamed = siem_trigger(dir.path()).replace("name = \"siem\"", "name = \"siem2\"");
    let extra = format!(
        "[[workflows]]\nname = \"added\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
         schedule = \"1h\"\n{renamed}[serve]\ntoken = \"file:{}\"\n",
        dir.path().join("status-token").display()
    );
    write_serve_config(dir.path(), &emu.base_url(), "1h", &extra);
    daemon.signal("HUP");
    let client = reqwest::Client::new();
    let workflows = |token: Option<&'static str>| {
        let mut request = client.get(format!("{}/api/workflows", daemon.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    wait_for("the reload", Duration::from_secs(10), || async {
        workflows(None).await.unwrap().status() == 401
    })
    .await;
    // What `/api/status` says of the last reload (behind the new token).
    let reload_status = || async {
        let status: serde_json::Value = client
            .get(format!("{}/api/status", daemon.url))
            .bearer_auth("status-s3cret")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status
    };
    let listed = workflows(Some("status-s3cret"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&listed), ["block", "broken", "orphan", "added"]);
    let status = reload_status().await;
    assert_eq!(status["reload"]["accepted"], true, "{}", status["reload"]);
    wait_for(
        "a run of the added workflow",
        Duration::from_secs(20),
        || async {
            let runs: serde_json::Value = client
                .get(format!("{}/api/runs", daemon.url))
                .bearer_auth("status-s3cret")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            runs.as_array()
                .unwrap()
                .iter()
                .any(|r| r["workflow"] == "added")
        },
    )
    .await;
    assert_eq!(
        fire_siem(&daemon).await.status(),
        404,
        "the old trigger is gone"
    );
    let renamed_call = client
        .post(format!("{}/hooks/siem2", daemon.url))
        .bearer_auth("hook-token")
        .json(&serde_json::json!({ "alert": { "ip": "45.33.32.157" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed_call.status(), 200);

    // A file that does not set up is refused whole: the daemon keeps what it has.
    let broken = extra.replace(
        "[serve]\ntoken = \"file:",
        "[serve]\ntoken = \"env:IOCSYNC_TEST_UNSET_TOKEN\"\n# was: \"file:",
    );
    write_serve_config(dir.path(), &emu.base_url(), "1h", &broken);
    daemon.signal("HUP");
    wait_for(
        "the refused reload in the log",
        Duration::from_secs(10),
        || async {
            daemon
                .logs()
                .iter()
                .any(|l| l.contains("NOT reloaded") && l.contains("serve.token"))
        },
    )
    .await;
    let kept = workflows(Some("status-s3cret")).await.unwrap();
    assert_eq!(kept.status(), 200, "the old token is still in force");
    // The page and the API say the last reload was refused, and why.
    let status = reload_status().await;
    assert_eq!(status["reload"]["accepted"], false, "{}", status["reload"]);
    assert!(
        status["reload"]["error"]
            .as_str()
            .unwrap()
            .contains("serve.token"),
        "{}",
        status["reload"]
    );
    let page = client
        .get(format!("{}/", daemon.url))
        .bearer_auth("status-s3cret")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Configuration reload refused"), "{page}");
    assert!(daemon.terminate().success());
}

/// Sums `key` of the run counts of every finished run.
fn sum_counts(runs: &serde_json::Value, key: &str) -> f64 {
    runs.as_array()
        .unwrap()
        .iter()
        .filter(|run| run["status"] != "running")
        .filter_map(|run| run["counts"][key].as_f64())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_and_rate_limit_pauses_reach_the_metrics() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1s", "");
    seed(dir.path(), 0);
    let daemon = Daemon::start(dir.path());
    wait_for("the first probes", Duration::from_secs(30), || async {
        let status = daemon.json("/api/status").await;
        status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["health"]["checked_at"].is_string())
    })
    .await;
    // From now on only runs call the emulator: the next one meets a 429, then a 500.
    emu.emulator().set_faults(FaultSettings {
        burst_429: 1,
        retry_after_seconds: 1,
        burst_500: 1,
        ..FaultSettings::default()
    });
    seed(dir.path(), 20);
    wait_for(
        "metrics that agree with the recorded runs",
        Duration::from_secs(30),
        || async {
            let runs = daemon.json("/api/runs?limit=1000").await;
            let samples = parse_metrics(&daemon.text("/metrics").await);
            let pauses = sum_counts(&runs, "rate_limit_pauses");
            let retries = sum_counts(&runs, "retries");
            pauses >= 1.0
                && retries >= 1.0
                && metric(&samples, "iocsync_rate_limit_pauses_total", &[]) == pauses
                && metric(&samples, "iocsync_retries_total", &[]) == retries
                && metric(&samples, "iocsync_rate_limit_paused_seconds_total", &[]) >= 1.0
        },
    )
    .await;
}

/// The items of run `id` by outcome, from `/api/runs/{id}`: outcome → values.
async fn items_of(daemon: &Daemon, id: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let detail = daemon.json(&format!("/api/runs/{id}")).await;
    let mut by_outcome: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in detail["items"].as_array().expect("items") {
        let outcome = item["outcome"].as_str().unwrap().to_owned();
        by_outcome
            .entry(outcome)
            .or_default()
            .push(item["value"].as_str().unwrap().to_owned());
    }
    by_outcome.values_mut().for_each(|values| values.sort());
    by_outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_page_shows_each_add_failure_and_guard_refusal_and_the_page_answers_why() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1h", "");
    let domains = seed(dir.path(), 25);
    // A private address in the collection: the guard keeps it off the blocklist.
    support::seed_with(dir.path(), 1, |_| {
        (indicator::Kind::Ipv4, "10.1.2.3".into())
    });
    // The Vision One batch holding evil1 is refused with a 400, every time.
    emu.emulator().set_faults(FaultSettings {
        reject_values: vec!["\"evil1.example.com\"".into()],
        ..FaultSettings::default()
    });
    let daemon = Daemon::start(dir.path());
    wait_for(
        "the first run of block",
        Duration::from_secs(30),
        || async {
            daemon
                .runs_of("block")
                .await
                .iter()
                .any(|run| run["status"] != "running")
        },
    )
    .await;
    let run = daemon.runs_of("block").await.remove(0);
    assert_eq!(run["status"], "partial", "{run:#}");
    let items = items_of(&daemon, &run["id"]).await;

    // What the run says it added is exactly what the target holds; the rest failed.
    let added = items.get("added").cloned().unwrap_or_default();
    assert!(!added.is_empty(), "{items:#?}");
    assert_eq!(added, suspicious(&emu.emulator().snapshot()));
    let failed = &items["failed"];
    assert!(
        failed.contains(&"evil1.example.com".to_owned()),
        "{items:#?}"
    );
    assert_eq!(added.len() + failed.len(), domains.len());
    assert_eq!(items["refused"], ["10.1.2.3"]);
    assert_eq!(run["counts"]["failed"].as_u64(), Some(failed.len() as u64));

    let id = run["id"].as_i64().unwrap();
    let page = daemon.text(&format!("/runs/{id}")).await;
    assert!(page.contains("<h3 data-outcome=\"failed\">"), "{page}");
    let refused = &page[page
        .find("<code>10.1.2.3</code>")
        .expect("the refusal is listed")..];
    assert!(
        refused.starts_with(
            "<code>10.1.2.3</code> — <span class=\"refused\">refused</span>: builtin:"
        ),
        "a guard refusal is shown neutral, with its rule: {}",
        &refused[..200.min(refused.len())]
    );
    let evil1 = &page[page.find("<code>evil1.example.com</code>").unwrap()..];
    assert!(
        evil1
            .starts_with("<code>evil1.example.com</code> — <span class=\"failed\">failed</span>: "),
        "a failure carries the target's answer: {}",
        &evil1[..200.min(evil1.len())]
    );

    // The status page links the workflow to its history, and the history to the run.
    let status = daemon.text("/").await;
    assert!(
        status.contains("<a href=\"/runs?name=block\">block</a>"),
        "{status}"
    );
    let on_target = format!("<td class=\"on-target\">{}</td>", added.len());
    assert!(status.contains(&on_target), "{status}");
    let history = daemon.text("/runs?name=block").await;
    assert!(
        history.contains(&format!("href=\"/runs/{id}\"")),
        "{history}"
    );
    assert!(
        !history.contains("/runs?name=broken\""),
        "only this workflow's runs"
    );
    assert_eq!(daemon.get("/runs/999999").await.status(), 404);

    // The look-up answers from the library, the guard and the ledger, as `iocsync why` does.
    let why = daemon.text(&format!("/why?value={}", added[0])).await;
    assert!(why.contains("<pre id=\"why\">domain "), "{why}");
    assert!(why.contains("workflow block → v1: on the target"), "{why}");
    let private = daemon.text("/why?value=10.1.2.3").await;
    assert!(private.contains("guard: blocklist refused"), "{private}");
    assert!(daemon.text("/why").await.contains("Enter a value"));
}

#[tokio::test(flavor = "multi_thread")]
async fn trigger_calls_show_each_value_its_alert_and_lift_time_and_the_lift_itself() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hook-token"), "hook-token").unwrap();
    let trigger = format!(
        "[[triggers]]\nname = \"siem\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
         token = \"file:{}\"\nttl = \"3s\"\nvalues = [\"$Src\", \"$Dst\"]\n\
         [triggers.fields]\nSrc = \"alert.src\"\nDst = \"alert.dst\"\n",
        dir.path().join("hook-token").display()
    );
    write_serve_config(dir.path(), &emu.base_url(), "1h", &trigger);
    seed(dir.path(), 0);
    let daemon = Daemon::start(dir.path());
    let answer = reqwest::Client::new()
        .post(format!("{}/hooks/siem", daemon.url))
        .bearer_auth("hook-token")
        .json(&serde_json::json!({
            "id": "A-17",
            "alert": { "src": "45.33.32.156", "dst": "10.0.0.1" }
        }))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer["alert"], "A-17", "{answer:#}");

    let triggers = daemon.json("/api/triggers").await;
    let call = &triggers[0];
    assert_eq!(call["subject"], "A-17", "{call:#}");
    let values = call["values"].as_array().unwrap();
    let blocked = values
        .iter()
        .find(|v| v["outcome"] == "blocked")
        .expect("blocked");
    assert_eq!(blocked["value"], "45.33.32.156");
    assert!(
        blocked["until"].is_string(),
        "the lift time is kept: {blocked:#}"
    );
    let refused = values
        .iter()
        .find(|v| v["outcome"] == "refused")
        .expect("refused");
    assert_eq!(refused["value"], "10.0.0.1");
    let detail = refused["detail"].as_str().unwrap();
    assert_eq!(
        detail.matches("builtin:special-range").count(),
        1,
        "the rule, named once: {detail}"
    );

    let page = daemon.text("/").await;
    let recent = &page[page.find("Recent triggers").unwrap()..];
    assert!(recent.contains("<td>A-17</td>"), "{recent}");
    assert!(
        recent.contains("<span class=\"blocked\">blocked</span>, lifted at <time"),
        "{recent}"
    );
    assert!(
        recent.contains("<span class=\"refused\">refused</span>: guard builtin:special-range"),
        "{recent}"
    );
    assert!(recent.contains("1 blocked, 1 refused"), "{recent}");

    // The TTL passes: the daemon lifts the block and the lift shows as its own event.
    wait_for("the lift", Duration::from_secs(30), || async {
        let triggers = daemon.json("/api/triggers").await;
        triggers[0]["workflow"] == "lift:siem" && triggers[0]["status"] != "running"
    })
    .await;
    let lift = &daemon.json("/api/triggers").await[0];
    assert_eq!(lift["values"][0]["outcome"], "lifted", "{lift:#}");
    assert_eq!(lift["values"][0]["value"], "45.33.32.156");
    assert!(suspicious(&emu.emulator().snapshot()).is_empty());
    let page = daemon.text("/").await;
    assert!(
        page.contains("<td>siem <span class=\"muted\">TTL lift</span></td>"),
        "{page}"
    );
}
