//! Trigger latency at a steady rate: signed `POST /hooks/{name}` calls fired open-loop at
//! `TRIGGER_BENCH_RATE` per second (default 200) for `TRIGGER_BENCH_SECONDS` (default 10) against the
//! triggers router (no daemon) in front of the in-process emulator, then the same Vision One call
//! sent straight to the emulator at the same rate. Prints p50/p99 of both and the difference:
//! what iocsync adds (auth, mapping, guard, SQLite run records, one more HTTP hop).
//!
//! `cargo bench -p iocsync --bench trigger_latency`

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use emulator::EmulatorConfig;
use iocsync::serve::triggers;
use prometheus_client::registry::Registry;
use testkit::ConfigBuilder;
use trendmicro::vision_one::{
    ObjectValue, RiskLevel, ScanAction, SuspiciousObject, VisionOneClient,
};

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `i`th public test address (distinct for up to 65,536 calls).
fn address(i: u64) -> String {
    format!(
        "45.{}.{}.{}",
        100 + i / 65_536 % 100,
        i / 256 % 256,
        i % 256
    )
}

/// Fires `make(i)` at `rate` per second for `count` calls without waiting for answers, and
/// returns each call's latency, sorted.
async fn open_loop<F, Fut>(rate: u64, count: u64, make: F) -> Vec<Duration>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = Vec::with_capacity(count as usize);
    for i in 0..count {
        ticks.tick().await;
        let call = make(i);
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            call.await;
            started.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(calls.len());
    for call in calls {
        latencies.push(call.await.expect("a bench call panicked"));
    }
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rate = env_number("TRIGGER_BENCH_RATE", 200).max(1);
    let count = rate * env_number("TRIGGER_BENCH_SECONDS", 10).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(async move {
        let emulator = testkit::emulator(KEY, EmulatorConfig::default()).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = testkit::secret_file(dir.path(), "key", KEY);
        let secret = testkit::secret_file(dir.path(), "secret", SECRET);
        let text = ConfigBuilder::new(dir.path().join("library.db"))
            .vision_one("v1", &emulator.base_url(), &key)
            .trigger("bench", "v1", "blocklist")
            .set("secret", secret)
            .set("values", vec!["$SrcIP"])
            .field("SrcIP", "event.src")
            .toml();
        let config = config::Config::from_toml(&text).expect("the bench config is valid");
        // The direct calls use the very client settings the trigger uses.
        let target = config.target("v1").expect("the v1 target");
        let config::Settings::VisionOne(settings) = &target.settings else {
            panic!("the v1 target is a vision-one target");
        };
        let direct_config = settings.config(target).expect("the v1 target's settings");
        let triggers = triggers::Triggers::new(Arc::new(config), &mut Registry::default())
            .expect("the triggers start");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hooks/bench", listener.local_addr().expect("an address"));
        let router = triggers.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");

        let hooked = open_loop(rate, count, |i| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let body = format!(r#"{{"event": {{"src": "{}"}}}}"#, address(i));
                let at = Utc::now().timestamp();
                let response = http
                    .post(url)
                    .header("X-Iocsync-Signature", engine::trigger::sign(SECRET.as_bytes(), at, body.as_bytes()))
                    .header("X-Iocsync-Timestamp", at.to_string())
                    .body(body)
                    .send()
                    .await
                    .expect("the hook answers");
                assert!(response.status().is_success(), "hook answered {}", response.status());
                response.bytes().await.expect("the hook's answer");
            }
        })
        .await;

        let direct_client = Arc::new(VisionOneClient::new(&direct_config).expect("a client"));
        let direct = open_loop(rate, count, |i| {
            let client = Arc::clone(&direct_client);
            async move {
                let object = SuspiciousObject {
                    description: Some("bench".to_owned()),
                    scan_action: Some(ScanAction::Block),
                    risk_level: Some(RiskLevel::High),
                    ..SuspiciousObject::new(ObjectValue::Ip(address(i + count)))
                };
                let report = client.add_suspicious(&[object]).await;
                assert_eq!(report.done(), 1, "{:?}", report.halted);
            }
        })
        .await;

        let line = |name: &str, sorted: &[Duration]| {
            println!(
                "{name:<26} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
                ms(percentile(sorted, 0.50)),
                ms(percentile(sorted, 0.99)),
                ms(percentile(sorted, 1.0)),
            );
        };
        println!("hook latency: {count} calls at {rate}/s each way");
        line("via POST /hooks/bench", &hooked);
        line("emulator direct", &direct);
        println!(
            "added by iocsync           p50 {:>7.2} ms   p99 {:>7.2} ms   (goal: p99 added < 20 ms)",
            ms(percentile(&hooked, 0.50)) - ms(percentile(&direct, 0.50)),
            ms(percentile(&hooked, 0.99)) - ms(percentile(&direct, 0.99)),
        );
        emulator.shutdown().await.expect("the emulator stops");
    });
}
