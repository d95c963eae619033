//! An ad-hoc timing, not a benchmark: merging 100,000 sightings (new indicators, then the same
//! values from a second source) on each backend, printed. Ignored by default; run with
//! `cargo test -p store --test merge_timing -- --ignored --nocapture` (a debug build unless
//! `--release`). The criterion benchmark `benches/merge.rs` measures SQLite properly.

#[macro_use]
mod common;

use std::time::Instant;

use common::{day, ip};
use store::Sighting;

fn sightings(source: &str) -> Vec<Sighting> {
    (0..100_000u32)
        .map(|n| {
            let mut s = ip(
                &std::net::Ipv4Addr::from(0x0B00_0000 + n).to_string(),
                source,
                (n % 11) as u8,
                1,
            );
            s.tags = vec!["bench".to_owned()];
            s
        })
        .collect()
}

on_both_backends! {
    #[ignore = "a timing to read, run by hand"]
    fn merging_100k_sightings(db) {
        let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
        let mut lib = db.open();
        let first = sightings("feed-a");
        let started = Instant::now();
        let report = lib.merge_at(&first, day(2)).unwrap();
        let new = started.elapsed();
        assert_eq!(report.created, 100_000);
        let second = sightings("feed-b");
        let started = Instant::now();
        let report = lib.merge_at(&second, day(2)).unwrap();
        let known = started.elapsed();
        assert_eq!(report.updated, 100_000);
        println!(
            "{backend} ({} build): 100k new indicators {new:.2?}, 100k re-sightings from a \
             second source {known:.2?}",
            if cfg!(debug_assertions) { "debug" } else { "release" },
        );
    }
}
