//! The TAXII publication table: each publication's changes take the next sequence numbers and
//! strictly later `added` times (even when the clock stands still or goes back), a value keeps
//! one row holding its latest version, and pages read changes in order with `more` telling
//! whether any follow — so a poll that pages with `next`, or resumes from the last `added` it
//! saw, sees every change exactly once.

#[macro_use]
mod common;

use chrono::Duration;
use common::day;
use indicator::Kind;
use proptest::prelude::*;
use store::taxii::Published;

fn object(value: &str, digest: &str) -> Published {
    Published {
        kind: Kind::Domain,
        value: value.to_owned(),
        generation: 0,
        digest: digest.to_owned(),
        revoked: false,
        seq: 0,
        added: day(1),
        object: format!("{{\"name\": \"{value}\", \"digest\": \"{digest}\"}}"),
    }
}

on_both_backends! {
    fn changes_are_numbered_in_order_and_a_value_keeps_one_row(db) {
        let mut lib = db.open();
        let first: Vec<Published> = ["a", "b", "c"].iter().map(|v| object(v, "1")).collect();
        assert_eq!(lib.publish("feed", &first, day(2)).unwrap(), 3);
        // The clock went back a day: the times still move forward.
        let changed = [object("b", "2"), object("d", "1")];
        lib.publish("feed", &changed, day(1)).unwrap();

        let mut rows = lib.published("feed").unwrap();
        rows.sort_by_key(|p| p.seq);
        let order: Vec<(&str, u64, &str)> = rows
            .iter()
            .map(|p| (p.value.as_str(), p.seq, p.digest.as_str()))
            .collect();
        assert_eq!(
            order,
            [("a", 1, "1"), ("c", 3, "1"), ("b", 4, "2"), ("d", 5, "1")]
        );
        assert!(rows.windows(2).all(|w| w[0].added < w[1].added), "{rows:?}");
        assert!(rows[0].added >= day(2) - Duration::microseconds(1));
        assert!(
            lib.published("other").unwrap().is_empty(),
            "collections are apart"
        );
    }
}

on_both_backends! {
    fn pages_follow_next_and_added_after(db) {
        let mut lib = db.open();
        let all: Vec<Published> = (0..7).map(|i| object(&format!("v{i}"), "1")).collect();
        lib.publish("feed", &all, day(3)).unwrap();
        let first = lib.published_page("feed", None, 0, 3).unwrap();
        assert_eq!(first.objects.len(), 3);
        assert!(first.more);
        let next = first.objects.last().unwrap().seq;
        let second = lib.published_page("feed", None, next, 3).unwrap();
        let third = lib
            .published_page("feed", None, second.objects.last().unwrap().seq, 3)
            .unwrap();
        assert_eq!((second.objects.len(), second.more), (3, true));
        assert_eq!((third.objects.len(), third.more), (1, false));

        let after = first.objects[1].added;
        let rest = lib.published_page("feed", Some(after), 0, 100).unwrap();
        assert_eq!(rest.objects.len(), 5, "added_after is exclusive");
        assert!(!rest.more);
    }
}

// However publications and page sizes fall, reading page after page from the start sees each
// value's latest version exactly once, in publication order.
proptest_on_both_backends! {
    // Fewer cases on PostgreSQL (each costs a connection and a reset), for CI's two cores.
    config = ProptestConfig::default(), postgres_config = ProptestConfig::with_cases(128);
    fn paging_sees_every_latest_version_once(
        db;
        batches in prop::collection::vec(prop::collection::vec(0u8..20, 0..12), 1..6),
        limit in 1u64..8,
    ) {
        let mut lib = db.open();
        let mut at = day(4);
        for (round, batch) in batches.iter().enumerate() {
            let mut seen = std::collections::BTreeSet::new();
            let changes: Vec<Published> = batch
                .iter()
                .filter(|v| seen.insert(**v))
                .map(|v| object(&format!("v{v}"), &round.to_string()))
                .collect();
            lib.publish("feed", &changes, at).unwrap();
            at += Duration::seconds(1);
        }
        let mut read = Vec::new();
        let mut after_seq = 0;
        loop {
            let page = lib.published_page("feed", None, after_seq, limit).unwrap();
            prop_assert!(page.objects.len() as u64 <= limit);
            if let Some(last) = page.objects.last() {
                after_seq = last.seq;
            }
            read.extend(page.objects);
            if !page.more {
                break;
            }
        }
        let mut stored = lib.published("feed").unwrap();
        stored.sort_by_key(|p| p.seq);
        prop_assert_eq!(read, stored);
    }
}
