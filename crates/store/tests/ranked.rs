//! Members per kind in rank order (`scan_kind`, `scan_per_kind`): for random libraries, with
//! ties in score and recency made common on purpose, each kind's top N is exactly what
//! sorting the collection's members by the engine's rule and taking N gives.

#[macro_use]
mod common;

use std::cmp::{Ordering, Reverse};
use std::ops::ControlFlow;

use chrono::{DateTime, Duration, Utc};
use common::{day, sighting};
use indicator::Kind;
use proptest::prelude::*;
use store::{Class, Collection, IndicatorRecord, Library, Order, Sighting, Status};

/// The rule the engine's caps keep values by, written out independently of the SQL: for
/// `priority` score (unscored last) then last seen, both highest first; for `recent` the two
/// swapped; then kind name and value, byte order.
fn rank(order: Order, a: &IndicatorRecord, b: &IndicatorRecord) -> Ordering {
    // `Option` orders `None` first, so reversing puts unscored last.
    let score = |r: &IndicatorRecord| Reverse(r.score);
    let seen = |r: &IndicatorRecord| Reverse(r.last_seen);
    let primary = match order {
        Order::Priority => score(a).cmp(&score(b)).then(seen(a).cmp(&seen(b))),
        Order::Recent => seen(a).cmp(&seen(b)).then(score(a).cmp(&score(b))),
    };
    primary
        .then(a.kind.as_str().cmp(b.kind.as_str()))
        .then(a.value.as_bytes().cmp(b.value.as_bytes()))
}

fn per_kind(
    lib: &Library,
    c: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
    n: Option<u64>,
) -> Vec<IndicatorRecord> {
    let mut out = Vec::new();
    lib.scan_kind(c, kind, now, n, &mut |r| {
        out.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

const KINDS: [Kind; 4] = [Kind::Ipv4, Kind::Ipv6, Kind::Domain, Kind::Url];

fn value(kind: Kind, n: usize) -> String {
    match kind {
        Kind::Ipv4 => format!("203.0.113.{n}"),
        Kind::Ipv6 => format!("2001:db8::{n:x}"),
        Kind::Domain => format!("d{n}.example.com"),
        _ => format!("http://u{n}.example.com/p"),
    }
}

prop_compose! {
    /// Up to 40 sightings over few values, three scores and three days, so many rows tie on
    /// score and last seen and only the value tells them apart.
    fn sightings()(
        rows in prop::collection::vec(
            (0usize..4, 0usize..8, prop::option::weighted(0.8, 4u8..7), 1u32..4, 0usize..2,
             prop::bool::weighted(0.1), prop::option::weighted(0.15, 2u32..8),
             prop::bool::weighted(0.2)),
            1..40,
        )
    ) -> Vec<Sighting> {
        rows.into_iter().map(|(kind, n, score, seen, source, revoked, until, asset)| {
            let kind = KINDS[kind];
            Sighting {
                score,
                seen_at: day(seen),
                revoked,
                valid_until: until.map(day),
                class: if asset { Class::Asset } else { Class::Indicator },
                ..sighting(kind, &value(kind, n), ["a", "b"][source])
            }
        }).collect()
    }
}

prop_compose! {
    fn collections()(
        recent in any::<bool>(),
        kinds in prop::sample::subsequence(KINDS.to_vec(), 0..=4),
        min_score in prop::option::weighted(0.3, 3u8..7),
        status in prop::sample::subsequence(
            vec![Status::Active, Status::Expired, Status::Revoked, Status::Disabled], 1..=4),
        active_only in prop::bool::weighted(0.5),
        class in prop::option::weighted(0.25, prop::sample::select(vec![Class::Indicator, Class::Asset])),
        within in prop::option::weighted(0.2, 1i64..4),
    ) -> Collection {
        Collection {
            kinds,
            min_score,
            class,
            order: if recent { Order::Recent } else { Order::Priority },
            status: if active_only { vec![Status::Active] } else { status },
            seen_within: within.map(|d| store::SeenWithin(Duration::days(d).to_std().unwrap())),
            ..Collection::new("c")
        }
    }
}

proptest_on_both_backends! {
    // Fewer cases on PostgreSQL (each costs a connection and a reset), for CI's two cores.
    config = ProptestConfig::with_cases(256), postgres_config = ProptestConfig::with_cases(128);
    fn top_n_per_kind_is_the_sorted_members_cut_at_n(
        db;
        sightings in sightings(),
        collection in collections(),
        n in prop::option::weighted(0.8, 0u64..6),
        disabled in prop::collection::vec((0usize..4, 0usize..8), 0..3),
        refresh in 3u32..8,
    ) {
        let mut lib = db.open();
        // Two merges (the second re-sights, revokes and re-dates some of the first), then a
        // status refresh part-way: statuses change in place as well as on insert.
        let (first, second) = sightings.split_at(sightings.len() / 2);
        lib.merge_at(first, day(3)).unwrap();
        lib.refresh_status(day(refresh)).unwrap();
        lib.merge_at(second, day(4)).unwrap();
        for (kind, v) in disabled {
            lib.set_disabled(KINDS[kind], &value(KINDS[kind], v), true, day(4)).unwrap();
        }
        let now = day(5);
        let members = lib.members(&collection, now, None).unwrap();
        let mut sorted = members.clone();
        sorted.sort_by(|a, b| rank(collection.order, a, b));
        // The rule written out is the rule the library applies today.
        prop_assert_eq!(&sorted, &members);
        // And the library's own comparator, which merges per-kind reads back, agrees.
        let mut by_library = members.clone();
        by_library.reverse();
        by_library.sort_by(|a, b| collection.order.compare(a, b));
        prop_assert_eq!(&by_library, &members);
        // The lean read: the same members in the same order, without tags and sources.
        let mut lean = Vec::new();
        lib.scan_lean(&collection, now, &mut |r| {
            lean.push(r);
            ControlFlow::Continue(())
        }).unwrap();
        let stripped: Vec<IndicatorRecord> = members
            .iter()
            .cloned()
            .map(|mut r| {
                r.tags.clear();
                r.sources.clear();
                r
            })
            .collect();
        prop_assert_eq!(lean, stripped);

        let mut streamed = Vec::new();
        lib.scan_per_kind(&collection, now, n, &mut |r| {
            streamed.push(r);
            ControlFlow::Continue(())
        }).unwrap();
        let mut expected_all = Vec::new();
        for kind in Kind::ALL {
            let expected: Vec<IndicatorRecord> = sorted
                .iter()
                .filter(|r| r.kind == kind)
                .take(n.map_or(usize::MAX, |n| n as usize))
                .cloned()
                .collect();
            prop_assert_eq!(&per_kind(&lib, &collection, kind, now, n), &expected, "kind {}", kind);
            let count = sorted.iter().filter(|r| r.kind == kind).count() as u64;
            prop_assert_eq!(lib.count_kind(&collection, kind, now).unwrap(), count, "kind {}", kind);
            expected_all.extend(expected);
        }
        prop_assert_eq!(streamed, expected_all);
    }
}

on_both_backends! {
    fn ties_in_score_and_recency_are_broken_by_value(db) {
        let mut lib = db.open();
        let tied = |v: &str| Sighting {
            score: Some(7),
            seen_at: day(2),
            ..sighting(Kind::Domain, v, "a")
        };
        lib.merge_at(
            &[tied("c.example"), tied("a.example"), tied("b.example")],
            day(3),
        )
        .unwrap();
        let c = Collection::new("all");
        let values = |n| -> Vec<String> {
            per_kind(&lib, &c, Kind::Domain, day(3), n)
                .into_iter()
                .map(|r| r.value)
                .collect()
        };
        assert_eq!(values(Some(2)), ["a.example", "b.example"]);
        assert_eq!(values(None), ["a.example", "b.example", "c.example"]);
    }
}

on_both_backends! {
    fn a_kind_the_collection_leaves_out_has_no_members(db) {
        let mut lib = db.open();
        lib.merge_at(&[sighting(Kind::Domain, "a.example", "a")], day(3))
            .unwrap();
        let c = Collection {
            kinds: vec![Kind::Ipv4],
            ..Collection::new("ips")
        };
        assert!(per_kind(&lib, &c, Kind::Domain, day(3), None).is_empty());
    }
}

on_both_backends! {
    fn a_break_ends_the_whole_per_kind_scan(db) {
        let mut lib = db.open();
        lib.merge_at(
            &[
                sighting(Kind::Ipv4, "203.0.113.1", "a"),
                sighting(Kind::Ipv4, "203.0.113.2", "a"),
                sighting(Kind::Domain, "a.example", "a"),
            ],
            day(3),
        )
        .unwrap();
        let mut seen = Vec::new();
        let visited = lib
            .scan_per_kind(&Collection::new("all"), day(3), None, &mut |r| {
                seen.push(r.value);
                ControlFlow::Break(())
            })
            .unwrap();
        assert_eq!(visited, 1);
        assert_eq!(seen, ["203.0.113.1"]);
    }
}

/// PostgreSQL keeps the totals as rows added per statement (two connections of a split merge
/// never wait on one counter row); a merge folds them once there are many. The fold keeps
/// every count.
#[test]
fn folding_the_totals_on_postgresql_keeps_every_count() {
    let Some(db) = common::Db::postgres() else {
        return;
    };
    let mut lib = db.open();
    let kinds = [Kind::Domain, Kind::Ipv4];
    let batch: Vec<Sighting> = (0..6)
        .flat_map(|n| kinds.map(|kind| sighting(kind, &value(kind, n), "a")))
        .collect();
    lib.merge_at(&batch, day(2)).unwrap();
    lib.set_disabled(Kind::Domain, &value(Kind::Domain, 0), true, day(2))
        .unwrap();
    let counts = |lib: &Library| -> Vec<u64> {
        let all = Collection {
            status: vec![Status::Active, Status::Disabled],
            ..Collection::new("c")
        };
        kinds
            .iter()
            .flat_map(|&kind| {
                [Collection::new("c"), all.clone()]
                    .map(|c| lib.count_kind(&c, kind, day(3)).unwrap())
            })
            .collect()
    };
    assert_eq!(counts(&lib), [5, 6, 6, 6]);
    // Rows that cancel out, as many statements leave them, past the point a merge folds.
    db.execute(
        "INSERT INTO kind_counts (kind, status, class, n)
         SELECT 'domain', 'active', 'indicator', CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END
         FROM generate_series(1, 5000) AS g",
    );
    assert_eq!(counts(&lib), [5, 6, 6, 6]);
    lib.merge_at(&[sighting(Kind::Ipv4, &value(Kind::Ipv4, 7), "a")], day(2))
        .unwrap();
    let rows = db.number("SELECT count(*) FROM kind_counts");
    assert!(rows <= 4, "{rows} rows left after the fold");
    assert_eq!(counts(&lib), [5, 6, 7, 7]);
}
