//! Cost of the client-side work around each request: encoding and batching 10,000 suspicious
//! objects, reading a 1,000-item 207 answer, and rendering a webhook payload template.
//!
//! Run with `cargo bench -p trendmicro --bench requests -- --warm-up-time 1 --measurement-time 5`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use trendmicro::http_template::{Fields, Template};
use trendmicro::vision_one::request::{encode_suspicious, parse_multi_status, plan_batches};
use trendmicro::vision_one::{Expiry, ObjectValue, RiskLevel, ScanAction, SuspiciousObject};

fn objects(count: usize) -> Vec<SuspiciousObject> {
    (0..count)
        .map(|n| SuspiciousObject {
            value: ObjectValue::Url(format!("http://bad{n}.example/path/{n}?q=\"x\"")),
            description: Some(format!("feed alpha, score {}, first seen day {n}", n % 11)),
            scan_action: Some(ScanAction::Block),
            risk_level: Some(RiskLevel::High),
            expiry: Expiry::days(30),
        })
        .collect()
}

fn encode_and_batch(c: &mut Criterion) {
    let objects = objects(10_000);
    let mut group = c.benchmark_group("vision_one");
    group.throughput(Throughput::Elements(objects.len() as u64));
    group.bench_function("encode_and_batch_10k", |b| {
        b.iter(|| {
            let encoded: Vec<Vec<u8>> = objects
                .iter()
                .filter_map(|object| encode_suspicious(object).ok())
                .collect();
            let sizes: Vec<usize> = encoded.iter().map(Vec::len).collect();
            black_box(plan_batches(&sizes, 1000, 960_000))
        })
    });
    let answer: Vec<serde_json::Value> = (0..1000)
        .map(|n| match n % 10 {
            0 => json!({"status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request - Invalid field format: url."}}}),
            _ => json!({"status": 201}),
        })
        .collect();
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    group.throughput(Throughput::Elements(1000));
    group.bench_function("parse_207_1k", |b| {
        b.iter(|| black_box(parse_multi_status(black_box(&body), 1000)))
    });
    group.finish();
}

fn render_template(c: &mut Criterion) {
    let Ok(template) = Template::parse(
        r#"{"valueType":"ip","targetValue":"$SrcIP","productId":"DNIF","description":"$description (score $score, tags $tags)"}"#,
    ) else {
        return;
    };
    let tags = vec!["c2".to_owned(), "apt".to_owned()];
    let extra = BTreeMap::from([("SrcIP".to_owned(), json!("203.0.113.9"))]);
    let fields = Fields {
        value: "203.0.113.9",
        kind: "ipv4",
        score: Some(9),
        description: "Blocking malicious IP",
        tags: &tags,
        extra: &extra,
    };
    c.bench_function("http_template/render_dnif_block", |b| {
        b.iter(|| black_box(template.render(black_box(&fields))))
    });
}

criterion_group!(benches, encode_and_batch, render_template);
criterion_main!(benches);
