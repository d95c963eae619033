//! Requests per second the emulator answers on this machine: batches of small requests
//! (connectivity checks, single-object adds, Deep Security describes) sent by a pool of
//! concurrent keep-alive clients over loopback. Criterion reports elements/s = requests/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::json;

const KEY: &str = "bench-key";
const BATCH: usize = 2000;
const CONCURRENCY: usize = 32;

#[derive(Clone, Copy)]
enum Kind {
    Health,
    Add,
    Describe,
}

async fn one(client: &reqwest::Client, base: &str, kind: Kind, i: usize) -> u16 {
    let request = match kind {
        Kind::Health => client
            .get(format!("{base}/v3.0/healthcheck/connectivity"))
            .bearer_auth(KEY),
        Kind::Add => client
            .post(format!("{base}/v3.0/threatintel/suspiciousObjects"))
            .bearer_auth(KEY)
            .json(
                &json!([{"ip": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)}]),
            ),
        Kind::Describe => client
            .get(format!("{base}/api/iplists/4"))
            .header("api-secret-key", KEY)
            .header("api-version", "v1"),
    };
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    }
}

async fn batch(client: &reqwest::Client, base: &str, kind: Kind, offset: usize) -> usize {
    futures::stream::iter(0..BATCH)
        .map(|i| one(client, base, kind, offset + i))
        .buffer_unordered(CONCURRENCY)
        .filter(|status| futures::future::ready(*status / 100 == 2))
        .count()
        .await
}

fn throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let running = runtime
        .block_on(emulator::spawn(
            emulator::EmulatorConfig::default().with_api_key(KEY),
        ))
        .unwrap();
    let base = running.base_url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("emulator");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut offset = 0;
    for (name, kind) in [
        ("healthcheck", Kind::Health),
        ("add_one_object", Kind::Add),
        ("describe_ip_list", Kind::Describe),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                offset += BATCH;
                let ok = runtime.block_on(batch(&client, &base, kind, offset));
                assert_eq!(ok, BATCH, "every request must succeed");
                black_box(ok)
            })
        });
    }
    group.finish();
    drop(running);
}

criterion_group!(benches, throughput);
criterion_main!(benches);
