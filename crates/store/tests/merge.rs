//! Merge semantics, field by field, on both backends.

#[macro_use]
mod common;

use chrono::Duration;
use common::{day, ip, sighting};
use indicator::Kind;
use store::{Class, Status};

on_both_backends! {
    fn first_sighting_creates_the_indicator_with_every_field(db) {
        let mut lib = db.open();
        let mut s = sighting(Kind::Domain, "xn--bcher-kva.example", "misp");
        s.display = Some("bücher.example".into());
        s.score = Some(7);
        s.tags = vec!["phishing".into(), " c2 ".into(), "".into(), "c2".into()];
        s.description = Some("fake bookshop".into());
        s.valid_until = Some(day(30));
        let report = lib.merge_at(&[s], day(2)).unwrap();
        assert_eq!((report.received, report.created, report.updated), (1, 1, 0));
        assert!(report.rejected.is_empty());

        let rec = lib
            .indicator(Kind::Domain, "xn--bcher-kva.example", day(2))
            .unwrap()
            .unwrap();
        assert_eq!(rec.display.as_deref(), Some("bücher.example"));
        assert_eq!(rec.score, Some(7));
        assert_eq!(rec.class, Class::Indicator);
        assert_eq!(rec.status, Status::Active);
        assert_eq!(rec.tags, ["c2", "phishing"]);
        assert_eq!(rec.sources, ["misp"]);
        assert_eq!(rec.description.as_deref(), Some("fake bookshop"));
        assert_eq!((rec.first_seen, rec.last_seen), (day(1), day(1)));
        assert_eq!(rec.valid_until, Some(day(30)));
        assert_eq!(rec.sightings, 1);
        assert!(
            lib.indicator(Kind::Ipv4, "xn--bcher-kva.example", day(2))
                .unwrap()
                .is_none()
        );
    }
}

on_both_backends! {
    fn score_is_the_highest_current_vote_per_source(db) {
        let mut lib = db.open();
        lib.merge(&[ip("8.8.4.4", "a", 3, 1), ip("8.8.4.4", "b", 9, 1)])
            .unwrap();
        let get = |lib: &store::Library| {
            lib.indicator(Kind::Ipv4, "8.8.4.4", day(5))
                .unwrap()
                .unwrap()
        };
        assert_eq!(get(&lib).score, Some(9));

        // b's newer sighting replaces b's vote: the max falls to a's 3... then a raises it.
        lib.merge(&[ip("8.8.4.4", "b", 2, 2)]).unwrap();
        assert_eq!(get(&lib).score, Some(3));
        lib.merge(&[ip("8.8.4.4", "a", 6, 3)]).unwrap();
        assert_eq!(get(&lib).score, Some(6));

        // An older sighting does not overwrite a newer vote; one without a score keeps the vote.
        lib.merge(&[ip("8.8.4.4", "a", 10, 1)]).unwrap();
        let mut unscored = ip("8.8.4.4", "a", 0, 4);
        unscored.score = None;
        lib.merge(&[unscored]).unwrap();
        assert_eq!(get(&lib).score, Some(6));
        let votes = lib.votes(Kind::Ipv4, "8.8.4.4").unwrap();
        assert_eq!(votes.len(), 2);
        assert_eq!((votes[0].source.as_str(), votes[0].score), ("a", Some(6)));
        assert_eq!((votes[0].first_seen, votes[0].last_seen), (day(1), day(4)));
        assert_eq!((votes[1].source.as_str(), votes[1].score), ("b", Some(2)));
        assert_eq!(get(&lib).sightings, 6);
    }
}

on_both_backends! {
    fn tags_sources_and_times_are_unioned(db) {
        let mut lib = db.open();
        let mut a = ip("1.1.1.1", "feed-a", 5, 10);
        a.tags = vec!["x".into(), "y".into()];
        a.valid_until = Some(day(20));
        a.description = Some("first".into());
        let mut b = ip("1.1.1.1", "feed-b", 5, 3);
        b.tags = vec!["y".into(), "z".into()];
        b.valid_until = None;
        let mut c = ip("1.1.1.1", "feed-a", 5, 15);
        c.valid_until = Some(day(12));
        c.description = Some("second".into());
        let report = lib.merge_at(&[a, b, c], day(1)).unwrap();
        assert_eq!((report.created, report.updated), (1, 2));

        let rec = lib
            .indicator(Kind::Ipv4, "1.1.1.1", day(1))
            .unwrap()
            .unwrap();
        assert_eq!(rec.tags, ["x", "y", "z"]);
        assert_eq!(rec.sources, ["feed-a", "feed-b"]);
        assert_eq!((rec.first_seen, rec.last_seen), (day(3), day(15)));
        assert_eq!(
            rec.valid_until,
            Some(day(20)),
            "latest given end wins; none given is no vote"
        );
        assert_eq!(rec.description.as_deref(), Some("second"));
    }
}

on_both_backends! {
    fn revocation_withdraws_one_source_vote_at_a_time(db) {
        let mut lib = db.open();
        let now = day(10);
        lib.merge_at(&[ip("9.9.9.9", "a", 8, 1), ip("9.9.9.9", "b", 4, 1)], now)
            .unwrap();
        let status = |lib: &store::Library| {
            let r = lib.indicator(Kind::Ipv4, "9.9.9.9", now).unwrap().unwrap();
            (r.status, r.score)
        };

        let mut revoke_a = ip("9.9.9.9", "a", 8, 2);
        revoke_a.revoked = true;
        lib.merge_at(&[revoke_a], now).unwrap();
        assert_eq!(
            status(&lib),
            (Status::Active, Some(4)),
            "b still stands behind it"
        );

        let mut revoke_b = ip("9.9.9.9", "b", 4, 2);
        revoke_b.revoked = true;
        lib.merge_at(&[revoke_b], now).unwrap();
        assert_eq!(
            status(&lib),
            (Status::Revoked, Some(8)),
            "no vote left: revoked"
        );

        // An older un-revoked sighting from a does not undo a's later revocation ...
        lib.merge_at(&[ip("9.9.9.9", "a", 8, 1)], now).unwrap();
        assert_eq!(status(&lib).0, Status::Revoked);
        // ... a newer one does.
        lib.merge_at(&[ip("9.9.9.9", "a", 5, 3)], now).unwrap();
        assert_eq!(status(&lib), (Status::Active, Some(5)));
        let votes = lib.votes(Kind::Ipv4, "9.9.9.9").unwrap();
        assert_eq!(
            votes
                .iter()
                .map(|v| (v.source.as_str(), v.revoked))
                .collect::<Vec<_>>(),
            [("a", false), ("b", true)]
        );
    }
}

on_both_backends! {
    fn a_first_sighting_can_already_be_revoked(db) {
        let mut lib = db.open();
        let mut s = ip("4.4.4.4", "stix", 6, 1);
        s.revoked = true;
        lib.merge(&[s]).unwrap();
        let rec = lib
            .indicator(Kind::Ipv4, "4.4.4.4", day(2))
            .unwrap()
            .unwrap();
        assert_eq!(rec.status, Status::Revoked);
    }
}

on_both_backends! {
    fn expiry_follows_valid_until_and_refresh(db) {
        let mut lib = db.open();
        let mut s = ip("5.5.5.5", "a", 5, 1);
        s.valid_until = Some(day(10));
        let mut old = ip("6.6.6.6", "a", 5, 1);
        old.valid_until = Some(day(2));
        lib.merge_at(&[s, old], day(5)).unwrap();
        let status = |lib: &store::Library, v: &str, now| {
            lib.indicator(Kind::Ipv4, v, now).unwrap().unwrap().status
        };
        assert_eq!(status(&lib, "5.5.5.5", day(5)), Status::Active);
        assert_eq!(status(&lib, "6.6.6.6", day(5)), Status::Expired);

        // Reads are as of `now` even before the stored status is refreshed.
        assert_eq!(status(&lib, "5.5.5.5", day(11)), Status::Expired);
        assert_eq!(lib.refresh_status(day(11)).unwrap(), 1);
        assert_eq!(
            lib.refresh_status(day(11)).unwrap(),
            0,
            "nothing left to change"
        );
        assert_eq!(
            status(&lib, "5.5.5.5", day(5)),
            Status::Expired,
            "stored now"
        );

        // A new sighting that extends validity brings it back.
        let mut again = ip("5.5.5.5", "b", 5, 11);
        again.valid_until = Some(day(11) + Duration::days(30));
        lib.merge_at(&[again], day(11)).unwrap();
        assert_eq!(status(&lib, "5.5.5.5", day(11)), Status::Active);
    }
}

on_both_backends! {
    fn disabled_survives_new_sightings(db) {
        let mut lib = db.open();
        lib.merge_at(&[ip("7.7.7.7", "a", 5, 1)], day(1)).unwrap();
        assert!(
            lib.set_disabled(Kind::Ipv4, "7.7.7.7", true, day(2))
                .unwrap()
        );
        assert!(
            !lib.set_disabled(Kind::Ipv4, "7.7.7.8", true, day(2))
                .unwrap()
        );
        lib.merge_at(&[ip("7.7.7.7", "b", 9, 3)], day(3)).unwrap();
        let rec = lib
            .indicator(Kind::Ipv4, "7.7.7.7", day(3))
            .unwrap()
            .unwrap();
        assert_eq!((rec.status, rec.score), (Status::Disabled, Some(9)));
        lib.set_disabled(Kind::Ipv4, "7.7.7.7", false, day(4))
            .unwrap();
        let rec = lib
            .indicator(Kind::Ipv4, "7.7.7.7", day(4))
            .unwrap()
            .unwrap();
        assert_eq!(rec.status, Status::Active);
    }
}

on_both_backends! {
    fn asset_class_sticks(db) {
        let mut lib = db.open();
        let mut asset = ip("3.3.3.3", "cmdb", 0, 1);
        asset.class = Class::Asset;
        lib.merge(&[
            ip("3.3.3.3", "feed", 9, 1),
            asset,
            ip("3.3.3.3", "feed", 9, 2),
        ])
        .unwrap();
        let rec = lib
            .indicator(Kind::Ipv4, "3.3.3.3", day(3))
            .unwrap()
            .unwrap();
        assert_eq!(rec.class, Class::Asset);
    }
}

on_both_backends! {
    fn bad_sightings_are_listed_and_the_rest_merged(db) {
        let mut lib = db.open();
        // More than one chunk, so indexes are checked across chunk boundaries.
        let total = store::MERGE_CHUNK + 5_000;
        let mut batch: Vec<_> = (0..total as u32)
            .map(|n| {
                ip(
                    &std::net::Ipv4Addr::from(0x0B00_0000 + n).to_string(),
                    "bulk",
                    5,
                    1,
                )
            })
            .collect();
        let boundary = store::MERGE_CHUNK + 1;
        batch[3].score = Some(11);
        batch[boundary].value = " ".into();
        batch[total - 1].source = String::new();
        let report = lib.merge(&batch).unwrap();
        assert_eq!(report.received, total);
        assert_eq!(report.created, total - 3);
        let rejected: Vec<_> = report
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (3, "score 11 is above the maximum 10"),
                (boundary, "empty value"),
                (total - 1, "empty source name")
            ]
        );
        assert_eq!(lib.count().unwrap(), (total - 3) as u64);

        // Merging the same batch again only updates.
        let again = lib.merge(&batch).unwrap();
        assert_eq!((again.created, again.updated), (0, total - 3));
        assert_eq!(lib.count().unwrap(), (total - 3) as u64);
    }
}

on_both_backends! {
    fn mixed_batches_count_new_and_known_indicators(db) {
        let mut lib = db.open();
        lib.merge(&[
            ip("2.2.2.1", "a", 1, 1),
            ip("2.2.2.2", "a", 1, 1),
            ip("2.2.2.3", "a", 1, 1),
        ])
        .unwrap();
        // Mostly known: the library looks each one up before inserting.
        let report = lib
            .merge(&[
                ip("2.2.2.1", "a", 2, 2),
                ip("2.2.2.9", "a", 2, 2),
                ip("2.2.2.2", "a", 2, 2),
                ip("2.2.2.3", "a", 2, 2),
            ])
            .unwrap();
        assert_eq!((report.created, report.updated), (1, 3));
        // Mostly new, with a repeat inside the batch: it inserts first and falls back to a lookup.
        let report = lib
            .merge(&[
                ip("2.2.3.1", "a", 2, 2),
                ip("2.2.3.2", "a", 2, 2),
                ip("2.2.3.1", "b", 7, 3),
                ip("2.2.2.1", "b", 5, 3),
            ])
            .unwrap();
        assert_eq!((report.created, report.updated), (2, 2));
        let rec = lib
            .indicator(Kind::Ipv4, "2.2.3.1", day(4))
            .unwrap()
            .unwrap();
        assert_eq!(
            (rec.score, rec.sightings, rec.sources.len()),
            (Some(7), 2, 2)
        );
        assert_eq!(lib.count().unwrap(), 6);
    }
}
