//! Helpers shared by the store's integration tests: a library in a temporary directory and
//! sightings with sensible defaults.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use indicator::Kind;
use store::{Class, Library, Sighting};
use tempfile::TempDir;

/// A library file in its own temporary directory (kept alive by the returned guard).
pub fn library() -> (TempDir, Library) {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(dir.path().join("lib.db")).unwrap();
    (dir, lib)
}

/// Midnight UTC on the given day of January 2026.
pub fn day(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, n, 0, 0, 0).unwrap()
}

pub fn sighting(kind: Kind, value: &str, source: &str) -> Sighting {
    Sighting {
        kind,
        value: value.to_owned(),
        display: None,
        source: source.to_owned(),
        score: None,
        class: Class::Indicator,
        tags: Vec::new(),
        description: None,
        seen_at: day(1),
        valid_until: None,
        revoked: false,
        reported_at: None,
    }
}

pub fn ip(value: &str, source: &str, score: u8, seen: u32) -> Sighting {
    Sighting {
        score: Some(score),
        seen_at: day(seen),
        ..sighting(Kind::Ipv4, value, source)
    }
}
