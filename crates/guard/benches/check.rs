//! Guard throughput: checks per second for a mix of addresses, networks, domains, URLs and
//! hashes against the built-in rules plus allowlists and the bundled warninglist fixtures.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use guard::{Guard, GuardConfig};
use indicator::Indicator;

fn sample() -> Vec<Indicator> {
    let mut values = Vec::new();
    for n in 0..2_000u32 {
        let [a, b, c, d] = (0x0B00_0000 + n * 7919).to_be_bytes();
        values.push(format!("{a}.{b}.{c}.{d}"));
        values.push(format!("host{n}.sub.example{}.com", n % 50));
        values.push(format!("https://www.site{n}.org/path/{n}?q=1"));
        values.push(format!("{:064x}", u64::from(n) * 0x9E37_79B9));
        values.push(format!("{a}.{b}.{c}.0/24"));
    }
    values.push("10.1.2.3".to_owned());
    values.push("0.0.0.0/1".to_owned());
    values
        .iter()
        .flat_map(|v| indicator::parse(v).unwrap_or_default())
        .collect()
}

fn check(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let config = GuardConfig {
        allow_cidrs: (0..200)
            .map(|n| format!("{}.{}.0.0/16", 20 + n / 200, n))
            .collect(),
        allow_domains: (0..1_000).map(|n| format!("example{n}.com")).collect(),
        warninglists: vec![fixtures],
        ..GuardConfig::default()
    };
    let guard = Guard::new(&config).unwrap();
    let sample = sample();
    let mut group = c.benchmark_group("guard");
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.bench_function("check_mixed", |b| {
        b.iter(|| {
            sample
                .iter()
                .filter(|i| guard.check(black_box(i)).is_allow())
                .count()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = check
}
criterion_main!(benches);
