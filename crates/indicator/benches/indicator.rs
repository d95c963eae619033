//! Throughput of the indicator core on a generated, deterministic corpus: parsing 1,000,000
//! mixed feed lines (refang + classify + canonicalise + scope), and aggregating 1,000,000 random
//! IPv4 prefixes and 100,000 random IPv6 prefixes.
//!
//! Run with `cargo bench -p indicator --bench indicator -- --warm-up-time 1 --measurement-time 5 --sample-size 10`.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A small deterministic generator (xorshift64*), so every run sees the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn word(&mut self) -> &'static str {
        const WORDS: [&str; 12] = [
            "login", "secure", "update", "cdn", "files", "portal", "verify", "mail", "api", "sync",
            "drive", "auth",
        ];
        WORDS[self.below(WORDS.len() as u64) as usize]
    }
}

/// One feed line of a realistic mix of kinds, some defanged, about 2% invalid.
fn line(rng: &mut Rng) -> String {
    let tlds = ["com", "net", "org", "de", "co.uk", "io"];
    let tld = tlds[rng.below(tlds.len() as u64) as usize];
    match rng.below(100) {
        0..=29 => Ipv4Addr::from(rng.next() as u32).to_string(),
        30..=34 => Ipv4Addr::from(rng.next() as u32)
            .to_string()
            .replace('.', "[.]"),
        35..=39 => {
            Ipv6Addr::from(u128::from(rng.next()) << 64 | u128::from(rng.next())).to_string()
        }
        40..=47 => format!(
            "{}/{}",
            Ipv4Addr::from(rng.next() as u32),
            8 + rng.below(25)
        ),
        48..=67 => format!(
            "{}-{}{}.example.{tld}",
            rng.word(),
            rng.word(),
            rng.below(1000)
        ),
        68..=71 => format!("{}[.]example[.]{tld}", rng.word()),
        72..=79 => format!(
            "https://{}.example.{tld}/{}/{}.php?id={}",
            rng.word(),
            rng.word(),
            rng.word(),
            rng.below(10_000)
        ),
        80..=82 => format!("hxxp://{}.example[.]{tld}/{}", rng.word(), rng.word()),
        83..=85 => format!("{}.example.{tld}/{}", rng.word(), rng.word()),
        86..=89 => format!("{}.{}@example.{tld}", rng.word(), rng.word()),
        90..=92 => format!("{:016x}{:016x}", rng.next(), rng.next()),
        93..=95 => format!(
            "{:016x}{:016x}{:08x}",
            rng.next(),
            rng.next(),
            rng.next() as u32
        ),
        96..=97 => format!(
            "{:016x}{:016x}{:016x}{:016x}",
            rng.next(),
            rng.next(),
            rng.next(),
            rng.next()
        ),
        // A few bad lines, as real feeds have: ambiguous IPv4, single labels, odd hash lengths.
        98 => format!("0{}.1.2.3", rng.below(10)),
        _ => ["localhost", "deadbeefdeadbeefdeadbeefdeadbeef1"][rng.below(2) as usize].to_owned(),
    }
}

fn corpus(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    (0..n).map(|_| line(&mut rng)).collect()
}

fn v4_prefixes(n: usize) -> Vec<IpNet> {
    let mut rng = Rng(0x0bad_cafe_f00d_0001);
    (0..n)
        .map(|_| {
            let prefix = 16 + rng.below(17) as u8;
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), prefix)
                    .unwrap_or_default()
                    .trunc(),
            )
        })
        .collect()
}

fn v6_prefixes(n: usize) -> Vec<IpNet> {
    let mut rng = Rng(0x0bad_cafe_f00d_0002);
    (0..n)
        .map(|_| {
            let addr = Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(rng.next()) << 32);
            let prefix = 48 + rng.below(81) as u8;
            IpNet::V6(Ipv6Net::new(addr, prefix).unwrap_or_default().trunc())
        })
        .collect()
}

fn parse(c: &mut Criterion) {
    let lines = corpus(1_000_000);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("1M mixed lines", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|line| indicator::parse(black_box(line)).is_ok())
                .count()
        })
    });
    group.finish();
}

fn aggregate(c: &mut Criterion) {
    let v4 = v4_prefixes(1_000_000);
    let v6 = v6_prefixes(100_000);
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(v4.len() as u64));
    group.bench_function("1M IPv4 prefixes", |b| {
        b.iter(|| indicator::aggregate::aggregate(black_box(v4.iter().copied())).len())
    });
    group.bench_function("1M IPv4 prefixes (ipnet, for comparison)", |b| {
        b.iter(|| IpNet::aggregate(black_box(&v4)).len())
    });
    group.throughput(Throughput::Elements(v6.len() as u64));
    group.bench_function("100k IPv6 prefixes", |b| {
        b.iter(|| indicator::aggregate::aggregate(black_box(v6.iter().copied())).len())
    });
    let half = &v4[..v4.len() / 2];
    let other = &v4[v4.len() / 2..];
    group.throughput(Throughput::Elements(v4.len() as u64));
    group.bench_function("subtract 500k from 500k IPv4 prefixes", |b| {
        b.iter(|| indicator::aggregate::subtract(black_box(half), black_box(other)).len())
    });
    group.finish();
}

criterion_group!(benches, parse, aggregate);
criterion_main!(benches);
