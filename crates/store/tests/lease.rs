//! Webhook replay memory and workflow leases on both backends, including two handles (as two
//! processes would hold) racing for the same row.

#[macro_use]
mod common;

use std::sync::Barrier;
use std::thread;

use chrono::{DateTime, Duration, TimeZone, Utc};
use store::{Lease, LeaseHolder};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

fn holder(pid: u32) -> LeaseHolder {
    LeaseHolder {
        holder: "iocsync run".into(),
        host: "host-a".into(),
        pid,
        started: Some(format!("boot:{pid}")),
    }
}

on_both_backends! {
    fn a_signature_is_let_in_once_until_its_window_ends(db) {
        let mut lib = db.open();
        let sig = [7u8; 32];
        assert!(
            lib.remember_signature("siem", &sig, at(0), at(300))
                .unwrap()
        );
        assert!(
            !lib.remember_signature("siem", &sig, at(10), at(310))
                .unwrap()
        );
        // Per trigger: another trigger may see the same bytes.
        assert!(
            lib.remember_signature("other", &sig, at(10), at(310))
                .unwrap()
        );
        drop(lib);
        // A reopened library (a restart) still knows it.
        let mut lib = db.open();
        assert!(
            !lib.remember_signature("siem", &sig, at(200), at(500))
                .unwrap()
        );
        // Once the window has passed it is forgotten (and the stamp would be stale anyway).
        assert!(
            lib.remember_signature("siem", &sig, at(301), at(600))
                .unwrap()
        );
    }
}

on_both_backends! {
    fn of_two_handles_racing_with_one_signature_exactly_one_passes(db) {
        db.open();
        for round in 0..20u8 {
            let barrier = Barrier::new(2);
            let passed = thread::scope(|scope| {
                let racers: Vec<_> = (0..2)
                    .map(|_| {
                        let (db, barrier) = (&db, &barrier);
                        scope.spawn(move || {
                            let mut lib = db.open();
                            barrier.wait();
                            lib.remember_signature("siem", &[round; 32], at(0), at(300))
                                .unwrap()
                        })
                    })
                    .collect();
                racers
                    .into_iter()
                    .map(|r| r.join().unwrap())
                    .filter(|fresh| *fresh)
                    .count()
            });
            assert_eq!(passed, 1, "round {round}");
        }
    }
}

on_both_backends! {
    fn a_lease_is_refused_to_others_until_released_expired_or_given_up(db) {
        let mut lib = db.open();
        let never = |_: &Lease| false;
        let expired = |lease: &Lease| lease.expires_at <= at(100);
        assert_eq!(
            lib.take_lease("workflow:w", &holder(1), at(0), at(60), &never)
                .unwrap(),
            None
        );

        let held = lib
            .take_lease("workflow:w", &holder(2), at(1), at(61), &never)
            .unwrap()
            .unwrap();
        assert_eq!((held.holder, held.taken_at), (holder(1), at(0)));
        // The same process renews its own lease.
        assert_eq!(
            lib.take_lease("workflow:w", &holder(1), at(2), at(62), &never)
                .unwrap(),
            None
        );
        // Another workflow is free.
        assert_eq!(
            lib.take_lease("workflow:x", &holder(2), at(2), at(62), &never)
                .unwrap(),
            None
        );

        // Only the holder can release it.
        assert!(!lib.release_lease("workflow:w", &holder(2)).unwrap());
        assert!(lib.release_lease("workflow:w", &holder(1)).unwrap());
        assert_eq!(
            lib.take_lease("workflow:w", &holder(2), at(3), at(63), &never)
                .unwrap(),
            None
        );

        // A holder that vanished: taken over once the caller's rule says so.
        let other = LeaseHolder {
            host: "host-b".into(),
            ..holder(3)
        };
        assert!(
            lib.take_lease("workflow:w", &other, at(4), at(64), &never)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            lib.take_lease("workflow:w", &other, at(100), at(200), &expired)
                .unwrap(),
            None
        );
        let now_held = lib
            .take_lease("workflow:w", &holder(2), at(101), at(201), &never)
            .unwrap()
            .unwrap();
        assert_eq!(now_held.holder, other);
        assert_eq!(
            now_held.expires_at - now_held.taken_at,
            Duration::seconds(100)
        );
    }
}

on_both_backends! {
    fn of_two_handles_racing_for_a_lease_exactly_one_gets_it(db) {
        db.open();
        let barrier = Barrier::new(2);
        let winners = thread::scope(|scope| {
            let racers: Vec<_> = (1..=2)
                .map(|pid| {
                    let (db, barrier) = (&db, &barrier);
                    scope.spawn(move || {
                        let mut lib = db.open();
                        barrier.wait();
                        lib.take_lease("workflow:w", &holder(pid), at(0), at(60), &|_| false)
                            .unwrap()
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().unwrap())
                .filter(Option::is_none)
                .count()
        });
        assert_eq!(winners, 1);
    }
}
