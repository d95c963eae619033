//! Collections: definitions stored in the library, and members filtered and ordered.

#[macro_use]
mod common;

use std::ops::ControlFlow;

use common::{day, ip, sighting};
use indicator::Kind;
use store::{Class, Collection, Error, Order, Sighting, Status};

fn tagged(mut s: Sighting, tags: &[&str]) -> Sighting {
    s.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    s
}

/// A small library covering every filter.
fn seeded(db: &common::Db) -> store::Library {
    let mut lib = db.open();
    let mut asset = ip("20.0.0.1", "cmdb", 2, 9);
    asset.class = Class::Asset;
    let mut expired = ip("20.0.0.2", "feed-a", 9, 2);
    expired.valid_until = Some(day(3));
    let mut revoked = ip("20.0.0.3", "feed-b", 8, 4);
    revoked.revoked = true;
    let mut domain = tagged(
        sighting(Kind::Domain, "evil.example", "feed-a"),
        &["c2", "apt"],
    );
    domain.score = Some(7);
    domain.seen_at = day(8);
    let unscored = sighting(Kind::Sha256, &"a".repeat(64), "feed-c");
    lib.merge_at(
        &[
            tagged(ip("20.0.0.4", "feed-a", 5, 5), &["c2"]),
            tagged(ip("20.0.0.5", "feed-b", 5, 7), &["scan", "fp"]),
            tagged(ip("20.0.0.6", "feed-a", 10, 1), &["apt"]),
            asset,
            expired,
            revoked,
            domain,
            unscored,
        ],
        day(10),
    )
    .unwrap();
    lib
}

fn values(lib: &store::Library, c: &Collection) -> Vec<String> {
    lib.members(c, day(10), None)
        .unwrap()
        .into_iter()
        .map(|r| r.value)
        .collect()
}

on_both_backends! {
    fn default_is_active_in_priority_order(db) {
        let lib = seeded(&db);
        let c = Collection::new("all");
        // score desc, then last seen desc; the unscored hash comes last.
        assert_eq!(
            values(&lib, &c),
            [
                "20.0.0.6",
                "evil.example",
                "20.0.0.5",
                "20.0.0.4",
                "20.0.0.1",
                "a".repeat(64).as_str()
            ]
        );
    }
}

on_both_backends! {
    fn recent_order_puts_latest_sightings_first(db) {
        let lib = seeded(&db);
        let mut c = Collection::new("recent");
        c.order = Order::Recent;
        c.kinds = vec![Kind::Ipv4];
        assert_eq!(
            values(&lib, &c),
            ["20.0.0.1", "20.0.0.5", "20.0.0.4", "20.0.0.6"]
        );
    }
}

on_both_backends! {
    fn each_filter_narrows(db) {
        let lib = seeded(&db);
        let check = |edit: &dyn Fn(&mut Collection), expected: &[&str]| {
            let mut c = Collection::new("f");
            edit(&mut c);
            assert_eq!(values(&lib, &c), expected, "{c:?}");
        };
        check(
            &|c| c.kinds = vec![Kind::Domain, Kind::Sha256],
            &["evil.example", &"a".repeat(64)],
        );
        check(&|c| c.class = Some(Class::Asset), &["20.0.0.1"]);
        check(&|c| c.min_score = Some(7), &["20.0.0.6", "evil.example"]);
        check(
            &|c| c.tags_any = vec!["c2".into(), "scan".into()],
            &["evil.example", "20.0.0.5", "20.0.0.4"],
        );
        check(
            &|c| c.tags_all = vec!["c2".into(), "apt".into(), "c2".into()],
            &["evil.example"],
        );
        check(
            &|c| {
                c.kinds = vec![Kind::Ipv4];
                c.tags_none = vec!["fp".into(), "apt".into()];
            },
            &["20.0.0.4", "20.0.0.1"],
        );
        check(
            &|c| c.sources = vec!["feed-b".into(), "cmdb".into()],
            &["20.0.0.5", "20.0.0.1"],
        );
        check(
            &|c| c.seen_within = Some("3days".parse().unwrap()),
            &["evil.example", "20.0.0.5", "20.0.0.1"],
        );
        check(
            &|c| c.seen_within = Some("2days".parse().unwrap()),
            &["evil.example", "20.0.0.1"],
        );
        check(&|c| c.status = vec![Status::Expired], &["20.0.0.2"]);
        check(&|c| c.status = vec![Status::Revoked], &["20.0.0.3"]);
        check(
            &|c| {
                c.status = vec![Status::Revoked];
                c.sources = vec!["feed-b".into()];
            },
            &["20.0.0.3"],
        );
    }
}

on_both_backends! {
    fn a_revoked_vote_leaves_the_source_filter(db) {
        let mut lib = seeded(&db);
        let mut withdrawn = ip("20.0.0.5", "feed-b", 5, 9);
        withdrawn.revoked = true;
        lib.merge_at(&[withdrawn, ip("20.0.0.5", "feed-a", 4, 9)], day(10))
            .unwrap();
        let mut c = Collection::new("b");
        c.sources = vec!["feed-b".into()];
        assert!(
            values(&lib, &c).is_empty(),
            "feed-b withdrew its only active indicator"
        );
        c.sources = vec!["feed-a".into()];
        assert!(values(&lib, &c).contains(&"20.0.0.5".to_owned()));
    }
}

on_both_backends! {
    fn expiry_is_judged_at_query_time(db) {
        let mut lib = db.open();
        let mut s = ip("20.0.0.9", "feed-a", 5, 1);
        s.valid_until = Some(day(3));
        lib.merge_at(&[s], day(2)).unwrap();
        let mut expired = Collection::new("x");
        expired.status = vec![Status::Expired];
        let active = Collection::new("y");
        assert!(lib.members(&expired, day(2), None).unwrap().is_empty());
        assert_eq!(lib.members(&active, day(2), None).unwrap().len(), 1);
        // No refresh_status in between: the stored status is still `active`.
        assert_eq!(lib.members(&expired, day(4), None).unwrap().len(), 1);
        assert!(lib.members(&active, day(4), None).unwrap().is_empty());
    }
}

on_both_backends! {
    fn scan_streams_limits_and_stops_early(db) {
        let lib = seeded(&db);
        let c = Collection::new("all");
        assert_eq!(lib.members(&c, day(10), Some(2)).unwrap().len(), 2);
        let mut seen = Vec::new();
        let visited = lib
            .scan(&c, day(10), None, &mut |r| {
                seen.push(r.value);
                if seen.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!(visited, 3);
        assert_eq!(seen, ["20.0.0.6", "evil.example", "20.0.0.5"]);
    }
}

on_both_backends! {
    fn definitions_are_saved_listed_replaced_and_removed(db) {
        let mut lib = db.open();
        let mut high = Collection::new("high");
        high.min_score = Some(8);
        high.seen_within = Some("30d".parse().unwrap());
        lib.save_collection(&high, false).unwrap();
        lib.save_collection(&Collection::new("all"), false).unwrap();
        assert!(matches!(
            lib.save_collection(&Collection::new("high"), false),
            Err(Error::CollectionExists(name)) if name == "high"
        ));
        let mut bad = Collection::new("bad");
        bad.min_score = Some(12);
        let err = lib.save_collection(&bad, false).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCollection { name, .. } if name == "bad"),
            "{err}"
        );

        let names: Vec<_> = lib
            .collections()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["all", "high"]);
        high.min_score = Some(9);
        lib.save_collection(&high, true).unwrap();

        // The definitions survive closing and reopening the file.
        drop(lib);
        let mut lib = db.open();
        assert_eq!(lib.collection("high").unwrap(), Some(high));
        assert!(lib.remove_collection("high").unwrap());
        assert!(!lib.remove_collection("high").unwrap());
        assert_eq!(lib.collection("high").unwrap(), None);
    }
}

mod exclusions {
    //! `Collection::exclusions` (what `iocsync why` explains with) agrees with the library's
    //! query on random libraries and collections: a record is a member exactly when no filter
    //! excludes it.

    use super::common::{Db, day, sighting};
    use indicator::Kind;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use store::{Class, Collection, SeenWithin, Sighting, Status};

    const TAGS: [&str; 3] = ["c2", "phish", "ok"];
    const SOURCES: [&str; 3] = ["feodo", "misp", "manual"];

    fn some_of(pool: &'static [&'static str; 3]) -> impl Strategy<Value = Vec<String>> {
        proptest::sample::subsequence(pool.as_slice(), 0..=2)
            .prop_map(|v| v.into_iter().map(str::to_owned).collect())
    }

    /// A filter list that is usually empty, so most collections filter on one or two things and
    /// membership goes both ways.
    fn rarely(pool: &'static [&'static str; 3]) -> impl Strategy<Value = Vec<String>> {
        prop::option::weighted(0.25, some_of(pool)).prop_map(Option::unwrap_or_default)
    }

    prop_compose! {
        fn sightings()(
            n in 1usize..6,
            scores in prop::collection::vec(prop::option::of(0u8..=10), 12),
            tags in prop::collection::vec(some_of(&TAGS), 12),
            sources in prop::collection::vec(0usize..3, 12),
            revoked in prop::collection::vec(any::<bool>(), 12),
            seen in prop::collection::vec(1u32..20, 12),
            asset in prop::collection::vec(any::<bool>(), 12),
        ) -> Vec<Sighting> {
            (0..12).map(|i| Sighting {
                score: scores[i],
                tags: tags[i].clone(),
                revoked: revoked[i],
                reported_at: None,
                seen_at: day(seen[i]),
                class: if asset[i] { Class::Asset } else { Class::Indicator },
                ..sighting(
                    if i % 4 == 3 { Kind::Domain } else { Kind::Ipv4 },
                    &if i % 4 == 3 { format!("d{}.example.com", i % n) } else { format!("45.0.0.{}", i % n) },
                    SOURCES[sources[i]],
                )
            }).collect()
        }
    }

    prop_compose! {
        fn collections()(
            min_score in prop::option::weighted(0.6, 0u8..=10),
            tags_any in rarely(&TAGS),
            tags_all in rarely(&TAGS),
            tags_none in rarely(&TAGS),
            sources in rarely(&SOURCES),
            domains_only in prop::bool::weighted(0.2),
            assets in prop::option::weighted(0.2, any::<bool>()),
            revoked_too in any::<bool>(),
            within in prop::option::weighted(0.3, 1u64..20),
        ) -> Collection {
            Collection {
                min_score,
                tags_any,
                tags_all,
                tags_none,
                sources,
                kinds: if domains_only { vec![Kind::Domain] } else { vec![] },
                class: assets.map(|a| if a { Class::Asset } else { Class::Indicator }),
                status: if revoked_too { vec![Status::Active, Status::Revoked] } else { vec![Status::Active] },
                seen_within: within.map(|d| SeenWithin(std::time::Duration::from_secs(d * 86_400))),
                ..Collection::new("c")
            }
        }
    }

    fn check(
        db: &Db,
        sightings: &[Sighting],
        collection: &Collection,
    ) -> Result<(), TestCaseError> {
        let mut lib = db.open();
        lib.merge_at(sightings, day(20)).unwrap();
        let now = day(21);
        let members: Vec<(Kind, String)> = lib
            .members(collection, now, None)
            .unwrap()
            .into_iter()
            .map(|r| (r.kind, r.value))
            .collect();
        let all = lib
            .members(
                &Collection {
                    status: vec![
                        Status::Active,
                        Status::Revoked,
                        Status::Expired,
                        Status::Disabled,
                    ],
                    ..Collection::new("all")
                },
                now,
                None,
            )
            .unwrap();
        for record in all {
            let votes = lib.votes(record.kind, &record.value).unwrap();
            let why = collection.exclusions(&record, &votes, now);
            let member = members.contains(&(record.kind, record.value.clone()));
            prop_assert_eq!(
                why.is_empty(),
                member,
                "{} {:?}: {:?}",
                record.value,
                record.status,
                why
            );
        }
        Ok(())
    }

    proptest_on_both_backends! {
        config = ProptestConfig::with_cases(128), postgres_config = ProptestConfig::with_cases(128);
        fn exclusions_agree_with_the_query(db; sightings in sightings(), collection in collections()) {
            check(&db, &sightings, &collection)?;
        }
    }
}
