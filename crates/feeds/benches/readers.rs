//! Reader throughput without the library: records per second for each format on generated
//! feeds, and the STIX pattern parser alone. `scripts/bench-import` measures the whole import.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feeds::{Defaults, Format, Options};

const RECORDS: usize = 20_000;

/// A value for record `i`: addresses, domains, defanged URLs and hashes in turn.
fn value(i: usize) -> String {
    match i % 4 {
        0 => format!("203.0.{}.{}", (i / 256) % 256, i % 254 + 1),
        1 => format!("host-{i}.bad-domain.example"),
        2 => format!("hxxps://cdn{i}[.]evil[.]example/p/{i}.php"),
        _ => format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15),
    }
}

fn text_feed() -> String {
    (0..RECORDS).fold(String::new(), |mut out, i| {
        let _ = writeln!(out, "{}", value(i));
        out
    })
}

fn csv_feed() -> String {
    (0..RECORDS).fold(
        "indicator,type,confidence,labels,description\n".to_owned(),
        |mut out, i| {
            let _ = writeln!(out, "{},,{},c2|bench,record {i}", value(i), i % 101);
            out
        },
    )
}

fn jsonl_feed() -> String {
    (0..RECORDS).fold(String::new(), |mut out, i| {
        let _ = writeln!(
            out,
            r#"{{"value": "{}", "score": {}, "tags": ["bench"]}}"#,
            value(i),
            i % 11
        );
        out
    })
}

fn stix_feed() -> String {
    let objects: Vec<String> = (0..RECORDS)
        .map(|i| {
            format!(
                r#"{{"type": "indicator", "spec_version": "2.1", "id": "indicator--{i:08}", "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "pattern": "[ipv4-addr:value = '203.0.{}.{}'] OR [domain-name:value = 'h{i}.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "confidence": 80, "labels": ["bench"]}}"#,
                (i / 256) % 256,
                i % 254 + 1
            )
        })
        .collect();
    format!(
        r#"{{"type": "bundle", "id": "bundle--1", "objects": [{}]}}"#,
        objects.join(",\n")
    )
}

fn count(format: Format, feed: &str) -> usize {
    let options = Options::new(Defaults::new("bench"));
    feeds::open(format, "bench", feed.as_bytes(), options)
        .filter(Result::is_ok)
        .count()
}

fn readers(c: &mut Criterion) {
    let mut group = c.benchmark_group("readers");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    for (format, feed) in [
        (Format::Text, text_feed()),
        (Format::Csv, csv_feed()),
        (Format::Jsonl, jsonl_feed()),
        (Format::Stix, stix_feed()),
    ] {
        assert!(
            count(format, &feed) >= RECORDS,
            "{format} feed must read fully"
        );
        group.bench_function(format.as_str(), |b| {
            b.iter(|| count(format, black_box(&feed)))
        });
    }
    group.finish();
}

fn stix_patterns(c: &mut Criterion) {
    let pattern = "([ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32'] AND [domain-name:value = 'example.com']) WITHIN 600 SECONDS";
    c.bench_function("stix_pattern_parse", |b| {
        b.iter(|| feeds::stix::pattern::parse(black_box(pattern)))
    });
}

criterion_group!(benches, readers, stix_patterns);
criterion_main!(benches);
