//! Shared by the real-binary tests: the emulator with the tests' API key, the `iocsync`
//! command over a config in a temp dir (both by way of the `testkit` crate, whose
//! `ConfigBuilder` the tests build their configs with), indicators seeded into a real library
//! file, and `iocsync serve` running as a daemon on a free port.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use emulator::config::TaskSettings;
use emulator::{EmulatorConfig, RunningEmulator, Snapshot};
use indicator::Kind;
use store::{Class, Library, Sighting};
use testkit::{ConfigBuilder, Test};

pub const KEY: &str = "cli-test-key";
pub const ADD: &str = "POST /v3.0/threatintel/suspiciousObjects";

/// What a test of the binary on a PostgreSQL library starts from: a fresh database, a runtime
/// of its own (the synchronous PostgreSQL client the test checks with must not run on an async
/// worker thread, so these tests are plain `#[test]`s), an emulator and a folder.
pub struct OnPostgres {
    pub db: testkit::postgres::TestDatabase,
    pub runtime: tokio::runtime::Runtime,
    pub emu: RunningEmulator,
    pub dir: tempfile::TempDir,
}

/// [`OnPostgres`], or `None` (saying why) where PostgreSQL is absent and not required.
pub fn on_postgres() -> Option<OnPostgres> {
    let db = testkit::postgres::database()?;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emu = runtime.block_on(emulator());
    Some(OnPostgres {
        db,
        runtime,
        emu,
        dir: tempfile::tempdir().unwrap(),
    })
}

/// An emulator that accepts [`KEY`] and finishes XDR tasks at once.
pub async fn emulator() -> RunningEmulator {
    let settings = EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    };
    testkit::emulator(KEY, settings).await
}

/// Writes [`KEY`] to `dir/key`; returns that path (for `api_key = "file:..."`).
pub fn write_key(dir: &Path) -> PathBuf {
    testkit::secret_file(dir, "key", KEY);
    dir.join("key")
}

/// The `api_key` reference to the key [`write_key`] writes in `dir`.
pub fn key_ref(dir: &Path) -> String {
    testkit::file_ref(&write_key(dir))
}

/// `iocsync --config dir/iocsync.toml`, run in `dir`.
pub fn iocsync(dir: &Path) -> Command {
    Test::in_dir(dir).command()
}

/// [`iocsync`] run by `sh` after `ulimit -n open_files`: a process that may hold only that
/// many file descriptors.
pub fn iocsync_limited(dir: &Path, open_files: u32) -> Command {
    Test::in_dir(dir).open_files(open_files).command()
}

/// Runs `iocsync args` in `dir` and asserts that it exits with `code` (showing its output when
/// not).
pub fn run_expecting(dir: &Path, args: &[&str], code: i32) -> Output {
    Test::in_dir(dir).args(args).status(code).run()
}

/// The `i`-th test domain.
pub fn domain(i: u32) -> (Kind, String) {
    (Kind::Domain, format!("evil{i}.example.com"))
}

/// The `i`-th test address (public, spaced so that no two merge into a range).
pub fn ip(i: u32) -> (Kind, String) {
    let addr = std::net::Ipv4Addr::from(0x2D00_0000 + i * 3);
    (Kind::Ipv4, addr.to_string())
}

/// Puts `n` domains in the library (creating it); returns them.
pub fn seed(dir: &Path, n: u32) -> Vec<String> {
    seed_with(dir, n, domain)
}

/// Puts `n` values made by `value` in the library; returns them.
pub fn seed_with(dir: &Path, n: u32, value: fn(u32) -> (Kind, String)) -> Vec<String> {
    let mut library = Library::open(dir.join("library.db")).unwrap();
    let now = Utc::now();
    let sightings: Vec<Sighting> = (0..n)
        .map(value)
        .map(|(kind, value)| Sighting {
            kind,
            value,
            display: None,
            source: "feed".into(),
            score: Some(8),
            class: Class::Indicator,
            tags: vec![],
            description: None,
            seen_at: now,
            valid_until: None,
            revoked: false,
            reported_at: None,
        })
        .collect();
    library.merge(&sightings).unwrap();
    sightings.into_iter().map(|s| s.value).collect()
}

/// The values of the suspicious objects the emulator holds, sorted, with any repeats.
pub fn suspicious(snapshot: &Snapshot) -> Vec<String> {
    let mut values: Vec<String> = snapshot
        .suspicious_objects
        .iter()
        .map(|o| o.value.clone())
        .collect();
    values.sort();
    values
}

/// A config with a good Vision One target `v1` and one with a wrong key, `v1-bad`; workflow
/// `block` runs every `every` on `v1`, `broken` hourly on `v1-bad` (so it fails at once) and
/// `orphan` hourly on a collection that exists nowhere (so it fails before the engine records it).
/// `extra` is appended (triggers).
pub fn write_serve_config(dir: &Path, base_url: &str, every: &str, extra: &str) {
    let key = key_ref(dir);
    let bad_key = testkit::secret_file(dir, "bad-key", "not-the-key");
    ConfigBuilder::new(dir.join("library.db"))
        .vision_one("v1", base_url, &key)
        .set("batch_size", 10)
        .vision_one("v1-bad", base_url, &bad_key)
        .collection("all")
        .workflow("block", "v1", "blocklist")
        .schedule(every)
        .workflow("broken", "v1-bad", "blocklist")
        .schedule("1h")
        .workflow("orphan", "v1", "blocklist")
        .set("collection", "nowhere")
        .schedule("1h")
        .raw(extra)
        .write(dir);
}

/// `iocsync serve --log-json -v` as a child process, its logs collected.
pub struct Daemon {
    pub child: Child,
    pub url: String,
    client: reqwest::Client,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    /// Starts `iocsync serve` on a free port with a short tick and waits until it listens.
    pub fn start(dir: &Path) -> Daemon {
        Daemon::start_with(iocsync(dir))
    }

    /// [`start`](Self::start) with `command` as the `iocsync` to run (say, [`iocsync_limited`]).
    pub fn start_with(mut command: Command) -> Daemon {
        let mut child = command
            .args([
                "--log-json",
                "-v",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tick",
                "100ms",
                "--init-library",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("iocsync serve did not print its URL")
            });
        let url = line
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        Daemon {
            child,
            url,
            client: reqwest::Client::new(),
            logs,
        }
    }

    /// The log lines the daemon has written on stderr so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// The runs of `workflow` the API lists, oldest first.
    pub async fn runs_of(&self, workflow: &str) -> Vec<serde_json::Value> {
        let runs = self.json("/api/runs?limit=1000").await;
        let mut ours: Vec<serde_json::Value> = runs
            .as_array()
            .unwrap()
            .iter()
            .filter(|run| run["workflow"] == workflow)
            .cloned()
            .collect();
        ours.reverse();
        ours
    }

    /// How many runs of `workflow` the API lists as succeeded.
    pub async fn succeeded(&self, workflow: &str) -> usize {
        let runs = self.runs_of(workflow).await;
        runs.iter().filter(|r| r["status"] == "succeeded").count()
    }

    /// Sends `signal` (`HUP`, `TERM`, ...) to the daemon.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Sends SIGTERM and waits (at most 30 s) for the daemon to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it is true; panics with `what` after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loopback HTTP server publishing one feed file at `/feed.csv` the way abuse.ch and most
/// feed hosts do: with an `ETag` and `Last-Modified`, answering a matching `If-None-Match` or
/// `If-Modified-Since` with 304. The content can change between pulls.
pub struct FeedServer {
    pub url: String,
    state: Arc<Mutex<FeedFile>>,
    _task: tokio::task::JoinHandle<()>,
}

struct FeedFile {
    body: String,
    version: u32,
    requests: u32,
    not_modified: u32,
}

impl FeedServer {
    pub async fn start(body: &str) -> FeedServer {
        use axum::http::{HeaderMap, StatusCode, header};
        use axum::response::IntoResponse;
        let state = Arc::new(Mutex::new(FeedFile {
            body: body.to_owned(),
            version: 1,
            requests: 0,
            not_modified: 0,
        }));
        let shared = Arc::clone(&state);
        let app = axum::Router::new().route(
            "/feed.csv",
            axum::routing::get(move |headers: HeaderMap| {
                let state = Arc::clone(&shared);
                async move {
                    let mut file = state.lock().unwrap();
                    file.requests += 1;
                    let etag = format!("\"v{}\"", file.version);
                    let modified = format!("Wed, 02 Dec 2026 10:{:02}:00 GMT", file.version % 60);
                    let matches = headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v.to_str().ok() == Some(etag.as_str()));
                    if matches {
                        file.not_modified += 1;
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    (
                        [(header::ETAG, etag), (header::LAST_MODIFIED, modified)],
                        file.body.clone(),
                    )
                        .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feed.csv", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FeedServer {
            url,
            state,
            _task: task,
        }
    }

    /// Publishes new content (a new ETag).
    pub fn publish(&self, body: &str) {
        let mut file = self.state.lock().unwrap();
        file.body = body.to_owned();
        file.version += 1;
    }

    /// Requests served, and how many of them were answered 304.
    pub fn requests(&self) -> (u32, u32) {
        let file = self.state.lock().unwrap();
        (file.requests, file.not_modified)
    }
}

/// A Feodo Tracker `ipblocklist.csv` as downloaded: a banner, the commented header, rows with
/// `","` separators, one row per [`feodo_ip`]`(i)`.
pub fn feodo_csv(ids: impl IntoIterator<Item = u32>) -> String {
    let mut text = String::from(
        "################################################################\n\
         # abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n\
         # Last updated: 2026-12-02 10:00:00 UTC                        #\n\
         ################################################################\n\
         #\n\
         # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n",
    );
    for i in ids {
        text.push_str(&format!(
            "\"2021-01-17 07:44:46\",\"{}\",\"447\",\"online\",\"2026-12-01\",\"QakBot\"\n",
            feodo_ip(i)
        ));
    }
    text.push_str("# Number of entries: n\n");
    text
}

/// The address of Feodo row `i` (the `i`-th [`ip`]).
pub fn feodo_ip(i: u32) -> String {
    ip(i).1
}
