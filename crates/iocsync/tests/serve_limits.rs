//! `iocsync serve` bounds what slow and idle clients can hold, through the real binary with
//! short `[serve]` limits: a half-sent request line, a silent connection, an idle keep-alive
//! connection and a stalled body are cut off within their bounds while normal requests are
//! answered; and more connections than `max_connections` neither starve the daemon of file
//! descriptors (its scheduled runs go on) nor keep it from answering afterwards.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use store::{Library, RunStatus};
use support::{Daemon, emulator, iocsync_limited, seed, write_serve_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Room for a loaded machine between a bound and the moment the close is seen.
const SLACK: Duration = Duration::from_secs(4);

/// `[serve]` limits for the tests, and a `siem` trigger (bearer token `hook-token`) so that a
/// handler reads request bodies.
fn limits(dir: &std::path::Path, header: &str, max_connections: usize) -> String {
    std::fs::write(dir.join("hook-token"), "hook-token").unwrap();
    format!(
        "[[triggers]]\nname = \"siem\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
         token = \"file:{}\"\nvalues = [\"$SrcIP\"]\n[triggers.fields]\nSrcIP = \"alert.ip\"\n\n\
         [serve]\nheader_timeout = \"{header}\"\nbody_timeout = \"{}s\"\n\
         max_connections = {max_connections}\n",
        dir.join("hook-token").display(),
        BODY_TIMEOUT.as_secs()
    )
}

fn address(daemon: &Daemon) -> String {
    daemon.url.trim_start_matches("http://").to_owned()
}

/// Reads until the daemon closes the connection; returns what it sent and how long after
/// `since` the close came. Panics if the connection is still open `limit` after `since`.
async fn until_closed(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        let left = limit.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                return (
                    String::from_utf8_lossy(&received).into_owned(),
                    since.elapsed(),
                );
            }
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the daemon kept the connection open for {limit:?}"),
        }
    }
}

/// Asserts the connection was closed by the header bound: not before it, not long after.
fn closed_by_the_bound(what: &str, took: Duration, bound: Duration) {
    assert!(
        took >= bound.mul_f32(0.8) && took < bound + SLACK,
        "{what}: closed after {took:?}, bound {bound:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_silent_and_idle_connections_are_closed_while_requests_are_answered() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = limits(dir.path(), "1s", 64);
    write_serve_config(dir.path(), &emu.base_url(), "1h", &extra);
    seed(dir.path(), 0);
    let daemon = Daemon::start(dir.path());
    let address = address(&daemon);

    let opened = Instant::now();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut silent = TcpStream::connect(&address).await.unwrap();
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: iocsync\r\n\r\n")
        .await
        .unwrap();

    // A normal request is answered at once, whatever the others do.
    let started = Instant::now();
    assert_eq!(daemon.get("/healthz").await.status(), 200);
    assert!(
        started.elapsed() < HEADER_TIMEOUT,
        "{:?}",
        started.elapsed()
    );

    let (answer, took) = until_closed(&mut slow, opened, HEADER_TIMEOUT + SLACK).await;
    closed_by_the_bound("half a request line", took, HEADER_TIMEOUT);
    assert!(!answer.contains("200 OK"), "{answer}");
    let (_, took) = until_closed(&mut silent, opened, HEADER_TIMEOUT + SLACK).await;
    closed_by_the_bound("a connection that sends nothing", took, HEADER_TIMEOUT);
    // The keep-alive connection got its answer, then was closed for idling.
    let (answer, took) = until_closed(&mut idle, opened, HEADER_TIMEOUT + SLACK).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    closed_by_the_bound("an idle keep-alive connection", took, HEADER_TIMEOUT);

    // A body that stalls gets 408 once its bound has passed; a whole one is served.
    let sent = Instant::now();
    let mut stalled = TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(
            b"POST /hooks/siem HTTP/1.1\r\nHost: iocsync\r\nAuthorization: Bearer hook-token\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"alert\":",
        )
        .await
        .unwrap();
    let (answer, took) = until_closed(&mut stalled, sent, BODY_TIMEOUT + SLACK).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    closed_by_the_bound("a stalled body", took, BODY_TIMEOUT);
    let whole = reqwest::Client::new()
        .post(format!("{}/hooks/siem", daemon.url))
        .bearer_auth("hook-token")
        .json(&serde_json::json!({ "alert": { "ip": "45.33.32.156" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200, "{}", whole.text().await.unwrap());
    let metrics = daemon.text("/metrics").await;
    assert!(
        metrics.contains("iocsync_triggers_total{trigger=\"siem\",outcome=\"too_slow\"} 1"),
        "{metrics}"
    );
}

/// Runs of `block` that started after `since` and succeeded, read from the library itself
/// (not through the daemon, whose listener is busy).
fn succeeded_since(dir: &std::path::Path, since: chrono::DateTime<Utc>) -> usize {
    let library = Library::open(dir.join("library.db")).unwrap();
    let runs = library.runs(1000).unwrap();
    runs.iter()
        .filter(|run| run.workflow == "block" && run.started_at > since)
        .filter(|run| run.status == RunStatus::Succeeded)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn more_connections_than_the_cap_neither_starve_the_daemon_nor_silence_it() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    // Connections stay open for the whole flood (a long header bound), more of them than the
    // daemon may hold descriptors (128): only the cap (16) keeps descriptors for its own work;
    // the rest wait in the kernel's queue.
    let extra = limits(dir.path(), "30s", 16);
    write_serve_config(dir.path(), &emu.base_url(), "1s", &extra);
    seed(dir.path(), 3);
    let daemon = Daemon::start_with(iocsync_limited(dir.path(), 128));
    let address = address(&daemon);
    let deadline = Instant::now() + Duration::from_secs(30);
    while succeeded_since(dir.path(), Utc::now() - chrono::TimeDelta::hours(1)) == 0 {
        assert!(Instant::now() < deadline, "no run before the flood");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let flood_started = Utc::now();
    let mut flood = Vec::new();
    for _ in 0..200 {
        flood.push(TcpStream::connect(&address).await.unwrap());
    }
    // The scheduler still opens its library and reaches its target.
    let deadline = Instant::now() + Duration::from_secs(20);
    while succeeded_since(dir.path(), flood_started) < 2 {
        assert!(
            Instant::now() < deadline,
            "no scheduled run succeeded while {} connections were held",
            flood.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = daemon.logs().join("\n");
    assert!(!logs.contains("Too many open files"), "{logs}");

    // Once the flood lets go, a well-behaved client is answered at once.
    drop(flood);
    let answer = tokio::time::timeout(Duration::from_secs(10), daemon.get("/healthz"))
        .await
        .expect("no answer after the flood");
    assert_eq!(answer.status(), 200);
}
