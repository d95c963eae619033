//! Merge throughput: how many sightings per second the SQLite library merges, for new
//! indicators (a first import) and for re-sightings (a daily re-import of the same feed).

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use indicator::Kind;
use store::{Class, Library, Sighting};

const BATCH: usize = 100_000;

fn sightings(offset: u32, source: &str) -> Vec<Sighting> {
    let seen = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (offset..offset + BATCH as u32)
        .map(|n| Sighting {
            kind: Kind::Ipv4,
            value: std::net::Ipv4Addr::from(0x0B00_0000 + n).to_string(),
            display: None,
            source: source.to_owned(),
            score: Some((n % 11) as u8),
            class: Class::Indicator,
            tags: vec!["bench".to_owned()],
            description: None,
            seen_at: seen,
            valid_until: None,
            revoked: false,
            reported_at: None,
        })
        .collect()
}

fn merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);

    group.bench_function("new_indicators_100k", |b| {
        let batch = sightings(0, "feed-a");
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let lib = Library::open(dir.path().join("bench.db")).unwrap();
                (dir, lib)
            },
            |(dir, mut lib)| {
                black_box(lib.merge(&batch).unwrap());
                (dir, lib)
            },
            BatchSize::PerIteration,
        );
    });

    group.bench_function("resighted_100k_second_source", |b| {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(dir.path().join("bench.db")).unwrap();
        lib.merge(&sightings(0, "feed-a")).unwrap();
        let again = sightings(0, "feed-b");
        b.iter(|| black_box(lib.merge(&again).unwrap()));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = merge
}
criterion_main!(benches);
