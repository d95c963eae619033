//! Pulls: a snapshot withdraws what its source stopped listing (that source's vote only), a
//! pull that looks broken is held and changes nothing, `expire_after` withdraws what a source
//! has not listed for too long, and a pull is one transaction.

#[macro_use]
mod common;

use chrono::{DateTime, Duration, Utc};
use common::{day, ip};
use indicator::Kind;
use store::{
    Checks, FeedMode, Finish, Library, Outcome, PullReport, Sighting, Status, Unread, Validators,
};

const FEED: &str = "feodo";

fn listing(values: &[u32], at: DateTime<Utc>) -> Vec<Sighting> {
    values
        .iter()
        .map(|n| ip(&format!("198.51.100.{n}"), FEED, 8, 1))
        .map(|s| Sighting { seen_at: at, ..s })
        .collect()
}

fn finish(mode: FeedMode, records: u64) -> Finish {
    Finish {
        mode,
        checks: Some(Checks::default()),
        records,
        invalid: 0,
        validators: Validators {
            content_hash: Some(format!("hash-{records}")),
            ..Validators::default()
        },
        cursor: None,
        expire_after: None,
    }
}

fn pull(lib: &mut Library, values: &[u32], at: DateTime<Utc>, finish: Finish) -> PullReport {
    let mut writer = lib.begin_pull(FEED, at).unwrap();
    writer.merge(&listing(values, at)).unwrap();
    writer.finish(finish).unwrap()
}

fn snapshot(lib: &mut Library, values: &[u32], at: DateTime<Utc>) -> PullReport {
    pull(
        lib,
        values,
        at,
        finish(FeedMode::Snapshot, values.len() as u64),
    )
}

fn status(lib: &Library, n: u32) -> Status {
    lib.indicator(Kind::Ipv4, &format!("198.51.100.{n}"), day(20))
        .unwrap()
        .unwrap()
        .status
}

on_both_backends! {
    fn a_snapshot_withdraws_what_its_source_stopped_listing(db) {
        let mut lib = db.open();
        let first = snapshot(&mut lib, &[1, 2, 3, 4], day(2));
        assert_eq!((first.listed, first.new, first.withdrawn), (4, 4, 0));
        // Another source lists 1 too: the snapshot withdraws only feodo's vote on it.
        lib.merge_at(&[ip("198.51.100.1", "analyst", 5, 2)], day(2))
            .unwrap();

        let second = snapshot(&mut lib, &[2, 3, 4, 5], day(3));
        assert_eq!(second.outcome, Outcome::Applied);
        assert_eq!(
            (second.listed, second.new, second.withdrawn, second.previous),
            (4, 1, 1, 4)
        );
        assert_eq!(
            status(&lib, 1),
            Status::Active,
            "the analyst still stands behind it"
        );
        let votes = lib.votes(Kind::Ipv4, "198.51.100.1").unwrap();
        assert!(votes.iter().any(|v| v.source == FEED && v.revoked));
        assert_eq!(status(&lib, 5), Status::Active);

        let third = snapshot(&mut lib, &[3, 4, 5], day(4));
        assert_eq!(third.withdrawn, 1);
        assert_eq!(
            status(&lib, 2),
            Status::Revoked,
            "no source lists it any more"
        );
        // Listed again: it comes back.
        let fourth = snapshot(&mut lib, &[2, 3, 4, 5], day(5));
        assert_eq!((fourth.new, fourth.withdrawn), (1, 0));
        assert_eq!(status(&lib, 2), Status::Active);

        let state = lib.feed_state(FEED).unwrap().unwrap();
        assert_eq!(
            (state.outcome, state.listed, state.live),
            (Outcome::Applied, 4, 4)
        );
        assert_eq!(state.applied_at, Some(day(5)));
        assert_eq!(state.validators.content_hash.as_deref(), Some("hash-4"));
    }
}

on_both_backends! {
    fn last_seen_moves_with_every_pull_and_the_feed_date_is_kept(db) {
        let mut lib = db.open();
        let mut dated = listing(&[1], day(2));
        dated[0].reported_at = Some(day(1) - Duration::days(300));
        let mut writer = lib.begin_pull(FEED, day(2)).unwrap();
        writer.merge(&dated).unwrap();
        writer.finish(finish(FeedMode::Snapshot, 1)).unwrap();
        snapshot(&mut lib, &[1], day(9));
        let record = lib
            .indicator(Kind::Ipv4, "198.51.100.1", day(9))
            .unwrap()
            .unwrap();
        assert_eq!(record.last_seen, day(9));
        let vote = &lib.votes(Kind::Ipv4, "198.51.100.1").unwrap()[0];
        assert_eq!(vote.reported_at, Some(day(1) - Duration::days(300)));
    }
}

on_both_backends! {
    fn a_pull_that_looks_broken_is_held_and_changes_nothing_until_accepted(db) {
        let mut lib = db.open();
        let all: Vec<u32> = (1..=10).collect();
        snapshot(&mut lib, &all, day(2));

        let short = snapshot(&mut lib, &[1, 2, 3, 4], day(3));
        assert_eq!(short.outcome, Outcome::Held);
        assert!(
            short.reason.as_deref().unwrap().contains("40%"),
            "{short:?}"
        );
        assert_eq!(status(&lib, 10), Status::Active);
        let state = lib.feed_state(FEED).unwrap().unwrap();
        assert_eq!(state.outcome, Outcome::Held);
        assert_eq!(state.held_hash.as_deref(), Some("hash-4"));
        assert_eq!(
            state.applied_at,
            Some(day(2)),
            "the previous snapshot stays in force"
        );
        assert_eq!(state.live, 10);
        let record = lib
            .indicator(Kind::Ipv4, "198.51.100.1", day(3))
            .unwrap()
            .unwrap();
        assert_eq!(record.last_seen, day(2), "a held pull writes no sighting");

        let empty = snapshot(&mut lib, &[], day(4));
        assert_eq!(empty.outcome, Outcome::Held);
        assert!(empty.reason.unwrap().contains("listed nothing"));

        let mut broken = finish(FeedMode::Snapshot, 100);
        broken.invalid = 60;
        let garbled = pull(&mut lib, &all, day(5), broken);
        assert_eq!(garbled.outcome, Outcome::Held);
        assert!(garbled.reason.unwrap().contains("60 of 100"));

        let accepted = pull(
            &mut lib,
            &[1, 2, 3, 4],
            day(6),
            Finish {
                checks: None,
                ..finish(FeedMode::Snapshot, 4)
            },
        );
        assert_eq!(
            (accepted.outcome, accepted.withdrawn),
            (Outcome::Applied, 6)
        );
        assert_eq!(status(&lib, 10), Status::Revoked);
        assert_eq!(lib.feed_state(FEED).unwrap().unwrap().held_hash, None);
    }
}

on_both_backends! {
    fn an_unfinished_pull_leaves_the_library_as_it_was(db) {
        let mut lib = db.open();
        snapshot(&mut lib, &[1, 2, 3], day(2));
        {
            let mut writer = lib.begin_pull(FEED, day(3)).unwrap();
            writer.merge(&listing(&[7, 8], day(3))).unwrap();
            // Dropped without finish: an error or a kill half-way.
        }
        assert_eq!(lib.count().unwrap(), 3);
        drop(lib);
        let lib = db.open();
        assert_eq!(lib.count().unwrap(), 3);
        assert_eq!(
            lib.feed_state(FEED).unwrap().unwrap().applied_at,
            Some(day(2))
        );
    }
}

on_both_backends! {
    fn incremental_pulls_withdraw_nothing_for_absence_but_expire_after_does(db) {
        let mut lib = db.open();
        let mut first = finish(FeedMode::Incremental, 3);
        first.cursor = Some("cursor-1".into());
        pull(&mut lib, &[1, 2, 3], day(2), first);
        let mut second = finish(FeedMode::Incremental, 1);
        second.expire_after = Some(Duration::days(14));
        let report = pull(&mut lib, &[4], day(10), second.clone());
        assert_eq!((report.listed, report.new, report.withdrawn), (1, 1, 0));
        assert_eq!(status(&lib, 1), Status::Active);
        let state = lib.feed_state(FEED).unwrap().unwrap();
        assert_eq!(
            state.cursor.as_deref(),
            Some("cursor-1"),
            "kept when a pull gives none"
        );

        let later = pull(&mut lib, &[2], day(17), second);
        assert_eq!(later.withdrawn, 2, "1 and 3 were last listed on day 2");
        assert_eq!(status(&lib, 1), Status::Revoked);
        assert_eq!(status(&lib, 2), Status::Active);
        assert_eq!(status(&lib, 4), Status::Active);
    }
}

on_both_backends! {
    fn an_unchanged_pull_confirms_the_snapshot_and_a_silent_source_expires(db) {
        let mut lib = db.open();
        snapshot(&mut lib, &[1, 2], day(2));
        let unread = |outcome, reason: Option<&str>| Unread {
            outcome,
            reason: reason.map(str::to_owned),
            mode: FeedMode::Snapshot,
            expire_after: Some(Duration::days(7)),
        };
        let same = lib
            .record_pull(FEED, unread(Outcome::Unchanged, None), day(8))
            .unwrap();
        assert_eq!(same.withdrawn, 0);
        let state = lib.feed_state(FEED).unwrap().unwrap();
        assert_eq!(
            (state.outcome, state.confirmed_at),
            (Outcome::Unchanged, Some(day(8)))
        );
        assert_eq!(state.listed, 2, "the counts of the last read pull stay");

        let down = lib
            .record_pull(FEED, unread(Outcome::Failed, Some("HTTP 503")), day(14))
            .unwrap();
        assert_eq!(down.withdrawn, 0, "confirmed 6 days ago");
        let gone = lib
            .record_pull(FEED, unread(Outcome::Failed, Some("HTTP 503")), day(16))
            .unwrap();
        assert_eq!(gone.withdrawn, 2, "not confirmed for 8 days");
        assert_eq!(status(&lib, 1), Status::Revoked);
        let state = lib.feed_state(FEED).unwrap().unwrap();
        assert_eq!((state.outcome, state.live), (Outcome::Failed, 0));
        assert_eq!(state.reason.as_deref(), Some("HTTP 503"));
    }
}

mod same_rules {
    //! A pull merges through its writer, inside one transaction with the withdrawals; `merge_at`
    //! in chunks of its own. Both must leave the library in the same state.

    use super::*;
    use proptest::prelude::*;
    use store::{Class, IndicatorRecord, SourceVote};

    const VALUES: [&str; 4] = [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ];

    fn sighting() -> impl Strategy<Value = Sighting> {
        (
            0..VALUES.len(),
            proptest::option::of(0u8..=10),
            any::<bool>(),
            proptest::option::of(0u32..3),
            proptest::option::of(1u32..28),
            proptest::option::of("[a-c]"),
            prop::collection::vec("[x-z]", 0..3),
            any::<bool>(),
        )
            .prop_map(
                |(v, score, asset, display, until, description, tags, revoked)| {
                    let mut s = ip(VALUES[v], FEED, 0, 1);
                    s.score = score;
                    s.class = if asset {
                        Class::Asset
                    } else {
                        Class::Indicator
                    };
                    s.display = display.map(|d| format!("shown-{d}"));
                    s.valid_until = until.map(day);
                    s.description = description;
                    s.tags = tags;
                    s.revoked = revoked && v % 2 == 0;
                    s.reported_at = until.map(|d| day(d) - Duration::days(40));
                    s
                },
            )
    }

    fn state(lib: &Library) -> Vec<(IndicatorRecord, Vec<SourceVote>)> {
        VALUES
            .iter()
            .filter_map(|v| {
                let record = lib.indicator(Kind::Ipv4, v, day(15)).unwrap()?;
                Some((record, lib.votes(Kind::Ipv4, v).unwrap()))
            })
            .collect()
    }

    proptest_on_both_backends! {
        config = ProptestConfig::with_cases(64), postgres_config = ProptestConfig::with_cases(64);
        fn a_pull_merges_as_merge_at_does(
            a_db, b_db;
            earlier in prop::collection::vec(sighting(), 0..6),
            other in prop::collection::vec(sighting(), 0..4),
            batch in prop::collection::vec(sighting(), 0..12),
        ) {
            let mut a = a_db.open();
            let mut b = b_db.open();
            // What the library held before: this source's earlier sightings and another's.
            let mut before: Vec<Sighting> = earlier
                .into_iter()
                .map(|s| Sighting { seen_at: day(3), ..s })
                .collect();
            before.extend(other.into_iter().map(|s| Sighting {
                source: "analyst".into(),
                seen_at: day(4),
                ..s
            }));
            a.merge_at(&before, day(4)).unwrap();
            b.merge_at(&before, day(4)).unwrap();

            let batch: Vec<Sighting> = batch
                .into_iter()
                .map(|s| Sighting { seen_at: day(10), ..s })
                .collect();
            let per_sighting = a.merge_at(&batch, day(10)).unwrap();
            let mut writer = b.begin_pull(FEED, day(10)).unwrap();
            writer.merge(&batch).unwrap();
            let pulled = writer
                .finish(Finish {
                    checks: None,
                    ..finish(FeedMode::Incremental, batch.len() as u64)
                })
                .unwrap();
            prop_assert_eq!(state(&a), state(&b));
            prop_assert_eq!(per_sighting.created, pulled.merge.created);
            prop_assert_eq!(per_sighting.updated, pulled.merge.updated);
        }
    }
}
