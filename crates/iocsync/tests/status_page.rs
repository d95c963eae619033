//! The status page in a real browser: `iocsync serve` against an emulator, loaded in Debian's
//! headless `chromium` in a degraded state (a run in flight, a failed workflow, a target down,
//! a refused reload) and in a healthy one (with a trigger call, a run's page and a look-up).
//! The screenshots are kept under `$CARGO_TARGET_TMPDIR/test-output/`
//! (`status-page-degraded.png`, `status-page-healthy.png`, `run-page.png`).
//!
//! The test needs Debian's `chromium`, so it is `#[ignore]`d with that reason in a plain
//! `cargo test`; CI installs the browser and runs it with `--ignored`, where a missing browser
//! fails it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use emulator::faults::FaultSettings;
use support::{Daemon, emulator, key_ref, seed, wait_for, write_serve_config};
use testkit::ConfigBuilder;

/// The browser's path (the test was asked for: a missing browser fails it).
fn chromium() -> PathBuf {
    ["chromium", "chromium-browser"]
        .iter()
        .find_map(|name| {
            let path = Command::new("which").arg(name).output().ok()?;
            let path = String::from_utf8(path.stdout).ok()?;
            let path = path.trim();
            (!path.is_empty()).then(|| PathBuf::from(path))
        })
        .expect("chromium is not installed (apt-get install -y chromium)")
}

/// Runs headless chromium on `url` with `args` (at most 90 s); returns its stdout.
fn browse(browser: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let output = Command::new("timeout")
        .arg("90")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Debian's chromium: CI installs it and runs this with --ignored"]
async fn the_status_page_in_headless_chromium_while_a_run_is_in_flight() {
    let browser = chromium();
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    write_serve_config(dir.path(), &emu.base_url(), "1h", "");
    seed(dir.path(), 600);
    // 60 batches, four in flight at once (the target's default `max_concurrency`), at two
    // seconds a request: the run is in flight for about 30 s, long enough for two browser
    // launches on a slow machine (it is stopped by SIGTERM as soon as the browser is done).
    emu.emulator().set_faults(FaultSettings {
        latency_ms: 2000,
        ..FaultSettings::default()
    });
    let mut daemon = Daemon::start(dir.path());
    wait_for(
        "a run in flight, a failed run and probed targets",
        Duration::from_secs(30),
        || async {
            let status = daemon.json("/api/status").await;
            let workflows = status["workflows"].as_array().unwrap();
            let running = workflows
                .iter()
                .any(|w| w["name"] == "block" && w["running"]["done"].as_u64() > Some(0));
            let failed = workflows
                .iter()
                .any(|w| w["name"] == "broken" && w["last_run"]["status"] == "failed");
            let probed = status["targets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["health"]["checked_at"].is_string());
            running && failed && probed
        },
    )
    .await;

    // A reload with a broken file is refused: the page says so.
    let config = dir.path().join("iocsync.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\n[[workflows]]\nname = 3\n")).unwrap();
    daemon.signal("HUP");
    wait_for("the refused reload", Duration::from_secs(30), || async {
        daemon.json("/api/status").await["reload"]["accepted"] == false
    })
    .await;

    let profile = tempfile::tempdir().unwrap();
    let dom = browse(&browser, profile.path(), &["--dump-dom"], &daemon.url);
    screenshot(
        &browser,
        profile.path(),
        &daemon.url,
        "status-page-degraded.png",
    );
    let still_running = daemon.json("/api/status").await["workflows"][0]["running"].is_object();
    assert_eq!(daemon.terminate().code(), Some(0));

    let row = |attribute: &str| {
        let start = dom
            .find(attribute)
            .unwrap_or_else(|| panic!("no {attribute} in the page:\n{dom}"));
        let end = start + dom[start..].find("</tr>").unwrap();
        dom[start..end].to_owned()
    };
    let block = row("data-workflow=\"block\"");
    assert!(
        block.contains("blocklist") && block.contains("every 1h"),
        "{block}"
    );
    assert!(
        block.contains("running since"),
        "the run in flight: {block}"
    );
    assert!(block.contains("/600 steps"), "its progress: {block}");
    let broken = row("data-workflow=\"broken\"");
    assert!(
        broken.contains("failed") && broken.contains("rejected the API key"),
        "{broken}"
    );
    let v1 = row("data-target=\"v1\"");
    assert!(v1.contains("vision-one") && v1.contains(">up<"), "{v1}");
    let bad = row("data-target=\"v1-bad\"");
    assert!(bad.contains(">down<") && bad.contains("401"), "{bad}");
    assert!(dom.contains("No webhook trigger has been called yet."));
    // Each time is shown in UTC by the server, and in local time too once the script ran.
    assert!(dom.contains(" UTC</time>"), "{dom}");
    assert!(
        dom.contains("<span class=\"muted local\"> ("),
        "local times: {dom}"
    );
    assert!(
        still_running,
        "the browser loaded the page while the run was in flight"
    );
    assert!(
        dom.contains("Configuration reload refused"),
        "the refused reload: {dom}"
    );
}

/// Saves a screenshot of `url` as `name` under the test output folder and checks it is a
/// PNG with content.
fn screenshot(browser: &Path, profile: &Path, url: &str, name: &str) {
    let output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-output");
    std::fs::create_dir_all(&output).unwrap();
    let path = output.join(name);
    let _ = std::fs::remove_file(&path);
    browse(
        browser,
        profile,
        &[
            &format!("--screenshot={}", path.display()),
            "--window-size=1400,900",
        ],
        url,
    );
    let png = std::fs::read(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    assert!(
        png.len() > 10_000,
        "a screenshot with content: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Debian's chromium: CI installs it and runs this with --ignored"]
async fn a_healthy_status_page_a_run_page_and_a_look_up_in_headless_chromium() {
    let browser = chromium();
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let token = testkit::secret_file(dir.path(), "hook-token", "hook-token");
    ConfigBuilder::new(dir.path().join("library.db"))
        .vision_one("v1", &emu.base_url(), &key_ref(dir.path()))
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .schedule("1h")
        // Kept as TOML: a trigger with a TTL, two values and an alert id.
        .raw(&format!(
            "[[triggers]]\nname = \"siem\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
             token = \"{token}\"\nttl = \"1h\"\nvalues = [\"$Src\", \"$Dst\"]\n\
             [triggers.fields]\nSrc = \"alert.src\"\nDst = \"alert.dst\"\n"
        ))
        .write(dir.path());
    let domains = seed(dir.path(), 40);
    let mut daemon = Daemon::start(dir.path());
    wait_for("the first run", Duration::from_secs(30), || async {
        daemon.succeeded("block").await == 1
    })
    .await;
    let answer = reqwest::Client::new()
        .post(format!("{}/hooks/siem", daemon.url))
        .bearer_auth("hook-token")
        .json(&serde_json::json!({ "id": "A-1", "alert": { "src": "45.33.32.156", "dst": "10.0.0.1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "one value blocked, one refused");
    wait_for("probed targets", Duration::from_secs(30), || async {
        daemon.json("/api/status").await["targets"][0]["health"]["checked_at"].is_string()
    })
    .await;

    let profile = tempfile::tempdir().unwrap();
    let dom = browse(&browser, profile.path(), &["--dump-dom"], &daemon.url);
    screenshot(
        &browser,
        profile.path(),
        &daemon.url,
        "status-page-healthy.png",
    );
    assert!(dom.contains("<span class=\"succeeded\">"), "{dom}");
    assert!(
        !dom.contains("class=\"failed\"") && !dom.contains(">down<"),
        "{dom}"
    );
    assert!(dom.contains("<td class=\"on-target\">40</td>"), "{dom}");
    assert!(
        dom.contains("<td>A-1</td>") && dom.contains(", lifted at <time"),
        "{dom}"
    );

    let run_id = daemon.runs_of("block").await[0]["id"].clone();
    let run_url = format!("{}/runs/{run_id}", daemon.url);
    let run_page = browse(&browser, profile.path(), &["--dump-dom"], &run_url);
    screenshot(&browser, profile.path(), &run_url, "run-page.png");
    assert!(
        run_page
            .contains("<h3 data-outcome=\"added\">added <span class=\"muted\">(40)</span></h3>"),
        "{run_page}"
    );
    let why_url = format!("{}/why?value={}", daemon.url, domains[0]);
    let why = browse(&browser, profile.path(), &["--dump-dom"], &why_url);
    assert!(why.contains("workflow block → v1: on the target"), "{why}");
    assert_eq!(daemon.terminate().code(), Some(0));
}
