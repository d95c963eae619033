//! The change counter: every committed change that can alter a collection's members bumps it,
//! in the same transaction; reads and ledger, run, lease and cursor writes do not. And each
//! workflow's memory of its last complete run.

#[macro_use]
mod common;

use chrono::Duration;
use common::{day, ip};
use indicator::Kind;
use store::{
    Checks, Collection, FeedMode, Finish, GuardDrop, LedgerEntry, Library, Outcome, RunStatus,
    Sighting, Unread, Validators, WorkflowState,
};

/// Runs `change` and returns by how much it moved the counter.
fn bumps(lib: &mut Library, change: impl FnOnce(&mut Library)) -> u64 {
    let before = lib.change_counter().unwrap();
    change(lib);
    lib.change_counter().unwrap() - before
}

fn finish(records: u64) -> Finish {
    Finish {
        mode: FeedMode::Snapshot,
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

fn pull(lib: &mut Library, values: &[&str], at: chrono::DateTime<chrono::Utc>) -> Outcome {
    let listing: Vec<Sighting> = values
        .iter()
        .map(|v| Sighting {
            seen_at: at,
            ..ip(v, "feed", 8, 1)
        })
        .collect();
    let mut writer = lib.begin_pull("feed", at).unwrap();
    writer.merge(&listing).unwrap();
    writer.finish(finish(values.len() as u64)).unwrap().outcome
}

on_both_backends! {
    fn a_new_library_starts_at_zero(db) {
        let lib = db.open();
        assert_eq!(lib.change_counter().unwrap(), 0);
    }
}

on_both_backends! {
    fn merges_bump_once_per_chunk_that_merged_something(db) {
        let mut lib = db.open();
        let one = ip("192.0.2.1", "a", 5, 1);
        assert_eq!(
            bumps(&mut lib, |l| drop(
                l.merge_at(std::slice::from_ref(&one), day(2)).unwrap()
            )),
            1
        );
        // The same sighting again still moves last seen and the sightings count: counted.
        assert_eq!(
            bumps(&mut lib, |l| drop(
                l.merge_at(std::slice::from_ref(&one), day(2)).unwrap()
            )),
            1
        );
        // Nothing given, or everything refused: nothing merged, nothing counted.
        assert_eq!(
            bumps(&mut lib, |l| drop(l.merge_at(&[], day(2)).unwrap())),
            0
        );
        let refused = Sighting {
            score: Some(11),
            ..one
        };
        let report = lib
            .merge_at(std::slice::from_ref(&refused), day(2))
            .unwrap();
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(
            bumps(&mut lib, |l| drop(l.merge_at(&[refused], day(2)).unwrap())),
            0
        );
    }
}

on_both_backends! {
    fn a_merge_of_several_chunks_bumps_per_chunk(db) {
        let mut lib = db.open();
        let many: Vec<Sighting> = (0..store::MERGE_CHUNK + 1)
            .map(|n| {
                ip(
                    &format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
                    "a",
                    5,
                    1,
                )
            })
            .collect();
        assert_eq!(
            bumps(&mut lib, |l| drop(l.merge_at(&many, day(2)).unwrap())),
            2
        );
    }
}

on_both_backends! {
    fn pulls_bump_when_they_merge_or_withdraw(db) {
        let mut lib = db.open();
        assert_eq!(
            bumps(&mut lib, |l| assert_eq!(
                pull(l, &["198.51.100.1", "198.51.100.2"], day(2)),
                Outcome::Applied
            )),
            1
        );
        // A snapshot that drops a value withdraws it: one bump for the pull as a whole.
        assert_eq!(
            bumps(&mut lib, |l| assert_eq!(
                pull(l, &["198.51.100.1"], day(3)),
                Outcome::Applied
            )),
            1
        );
        // A held pull is rolled back: the library is as before, so is the counter.
        assert_eq!(
            bumps(&mut lib, |l| assert_eq!(
                pull(l, &[], day(4)),
                Outcome::Held
            )),
            0
        );
    }
}

on_both_backends! {
    fn a_pull_dropped_midway_leaves_the_counter_as_it_was(db) {
        let mut lib = db.open();
        let moved = bumps(&mut lib, |l| {
            let mut writer = l.begin_pull("feed", day(2)).unwrap();
            writer.merge(&[ip("198.51.100.1", "feed", 8, 2)]).unwrap();
            drop(writer);
        });
        assert_eq!(moved, 0);
        assert_eq!(lib.count().unwrap(), 0);
    }
}

on_both_backends! {
    fn unread_pulls_bump_only_when_expiry_withdraws(db) {
        let mut lib = db.open();
        pull(&mut lib, &["198.51.100.1"], day(2));
        let unread = |at_most: i64| Unread {
            outcome: Outcome::Failed,
            reason: Some("HTTP 503".into()),
            mode: FeedMode::Snapshot,
            expire_after: Some(Duration::days(at_most)),
        };
        // Not confirmed for 1 day of 7: nothing expires, nothing counted.
        assert_eq!(
            bumps(&mut lib, |l| {
                let report = l.record_pull("feed", unread(7), day(3)).unwrap();
                assert_eq!(report.withdrawn, 0);
            }),
            0
        );
        // Not confirmed for 10 days of 7: the snapshot's votes are withdrawn.
        assert_eq!(
            bumps(&mut lib, |l| {
                let report = l.record_pull("feed", unread(7), day(12)).unwrap();
                assert_eq!(report.withdrawn, 1);
            }),
            1
        );
    }
}

on_both_backends! {
    fn status_refresh_and_disabling_bump_when_they_touch_a_row(db) {
        let mut lib = db.open();
        let mut expiring = ip("192.0.2.1", "a", 5, 1);
        expiring.valid_until = Some(day(5));
        lib.merge_at(&[expiring], day(2)).unwrap();

        assert_eq!(
            bumps(&mut lib, |l| assert_eq!(
                l.refresh_status(day(3)).unwrap(),
                0
            )),
            0
        );
        assert_eq!(
            bumps(&mut lib, |l| assert_eq!(
                l.refresh_status(day(6)).unwrap(),
                1
            )),
            1
        );

        assert_eq!(
            bumps(&mut lib, |l| assert!(
                l.set_disabled(Kind::Ipv4, "192.0.2.1", true, day(6))
                    .unwrap()
            )),
            1
        );
        assert_eq!(
            bumps(&mut lib, |l| assert!(
                !l.set_disabled(Kind::Ipv4, "192.0.2.9", true, day(6))
                    .unwrap()
            )),
            0
        );
    }
}

on_both_backends! {
    fn collection_edits_bump(db) {
        let mut lib = db.open();
        let mut high = Collection::new("high");
        assert_eq!(
            bumps(&mut lib, |l| l.save_collection(&high, false).unwrap()),
            1
        );
        // Refused (exists): nothing written, nothing counted.
        assert_eq!(
            bumps(&mut lib, |l| assert!(
                l.save_collection(&high, false).is_err()
            )),
            0
        );
        high.min_score = Some(7);
        assert_eq!(
            bumps(&mut lib, |l| l.save_collection(&high, true).unwrap()),
            1
        );
        assert_eq!(
            bumps(&mut lib, |l| assert!(l.remove_collection("high").unwrap())),
            1
        );
        assert_eq!(
            bumps(&mut lib, |l| assert!(!l.remove_collection("high").unwrap())),
            0
        );
    }
}

on_both_backends! {
    fn reads_and_engine_writes_do_not_bump(db) {
        let mut lib = db.open();
        lib.merge_at(&[ip("192.0.2.1", "a", 5, 1)], day(2)).unwrap();
        lib.save_collection(&Collection::new("all"), false).unwrap();
        let entry = LedgerEntry {
            key: "wf".into(),
            space: "wf#space".into(),
            kind: Kind::Ipv4,
            value: "192.0.2.1".into(),
            attributes: serde_json::json!({}),
            remote_id: None,
            pushed_at: day(2),
        };
        let moved = bumps(&mut lib, |l| {
            let all = l.collection("all").unwrap().unwrap();
            assert_eq!(l.members(&all, day(3), None).unwrap().len(), 1);
            l.scan_per_kind(&all, day(3), Some(1), &mut |_| {
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
            l.indicator(Kind::Ipv4, "192.0.2.1", day(3)).unwrap();
            l.ledger_apply("wf", std::slice::from_ref(&entry), &[])
                .unwrap();
            l.set_claim_space("wf", "other").unwrap();
            l.ledger_remove("wf", &[(Kind::Ipv4, "192.0.2.1".into())])
                .unwrap();
            let run = l.start_run("wf", day(3)).unwrap();
            l.finish_run(
                run,
                RunStatus::Succeeded,
                &serde_json::json!({}),
                &[],
                day(3),
            )
            .unwrap();
            l.set_cursor("taxii", "cursor", day(3)).unwrap();
            l.record_drops(&[GuardDrop {
                kind: Kind::Ipv4,
                value: "192.0.2.1".into(),
                target: None,
                rule: "rule".into(),
                reason: "why".into(),
                at: day(3),
            }])
            .unwrap();
            l.set_workflow_state("wf", &state(0)).unwrap();
        });
        assert_eq!(moved, 0);
    }
}

fn state(counter: u64) -> WorkflowState {
    WorkflowState {
        counter,
        digest: "sha256:abc".into(),
        next_due: Some(day(9)),
        completed_at: day(3),
    }
}

on_both_backends! {
    fn workflow_state_is_remembered_replaced_and_forgotten(db) {
        let mut lib = db.open();
        assert_eq!(lib.workflow_state("wf").unwrap(), None);
        lib.set_workflow_state("wf", &state(4)).unwrap();
        let replaced = WorkflowState {
            next_due: None,
            ..state(7)
        };
        lib.set_workflow_state("wf", &replaced).unwrap();
        lib.set_workflow_state("other", &state(1)).unwrap();
        drop(lib);

        let mut lib = db.open();
        assert_eq!(lib.workflow_state("wf").unwrap(), Some(replaced));
        assert!(lib.forget_workflow_state("wf").unwrap());
        assert!(!lib.forget_workflow_state("wf").unwrap());
        assert_eq!(lib.workflow_state("wf").unwrap(), None);
        assert_eq!(lib.workflow_state("other").unwrap(), Some(state(1)));
    }
}

on_both_backends! {
    fn the_counter_survives_reopening_and_is_shared_by_handles(db) {
        let mut lib = db.open();
        lib.merge_at(&[ip("192.0.2.1", "a", 5, 1)], day(2)).unwrap();
        let second = lib.second_handle().unwrap().unwrap();
        lib.merge_at(&[ip("192.0.2.2", "a", 5, 1)], day(2)).unwrap();
        assert_eq!(second.change_counter().unwrap(), 2);
        drop(lib);
        let lib = db.open();
        assert_eq!(lib.change_counter().unwrap(), 2);
    }
}

fn claim(key: &str, space: &str, value: &str) -> LedgerEntry {
    LedgerEntry {
        key: key.into(),
        space: space.into(),
        kind: Kind::Domain,
        value: value.into(),
        attributes: serde_json::json!({}),
        remote_id: None,
        pushed_at: day(2),
    }
}

on_both_backends! {
    fn ledger_writes_count_per_space_and_claimant(db) {
        let mut lib = db.open();
        assert!(lib.ledger_changes("list").unwrap().is_empty());
        lib.ledger_apply(
            "wf",
            &[
                claim("wf", "list", "a.example"),
                claim("wf", "list", "b.example"),
            ],
            &[],
        )
        .unwrap();
        lib.ledger_apply("block", &[claim("block", "list", "a.example")], &[])
            .unwrap();
        // One call, one bump per (space, claimant), however many rows.
        assert_eq!(
            lib.ledger_changes("list").unwrap(),
            [("block".to_owned(), 1), ("wf".to_owned(), 1)]
        );
        // A removal counts in the space of the row removed; removing nothing counts nothing.
        lib.ledger_remove("wf", &[(Kind::Domain, "a.example".into())])
            .unwrap();
        lib.ledger_remove("wf", &[(Kind::Domain, "zzz.example".into())])
            .unwrap();
        assert_eq!(
            lib.ledger_changes("list").unwrap(),
            [("block".to_owned(), 1), ("wf".to_owned(), 2)]
        );
        // Moving claims to another space changes both.
        assert_eq!(lib.set_claim_space("wf", "other").unwrap(), 1);
        assert_eq!(lib.set_claim_space("wf", "other").unwrap(), 0);
        assert_eq!(lib.ledger_changes("other").unwrap(), [("wf".to_owned(), 1)]);
        assert_eq!(
            lib.ledger_changes("list").unwrap(),
            [("block".to_owned(), 1), ("wf".to_owned(), 3)]
        );
        lib.ledger_upsert(&[claim("block", "other", "a.example")])
            .unwrap();
        assert_eq!(
            lib.ledger_changes("list").unwrap()[0],
            ("block".to_owned(), 2)
        );
        assert_eq!(
            lib.ledger_changes("other").unwrap()[0],
            ("block".to_owned(), 1)
        );
        // None of this is a library change.
        assert_eq!(lib.change_counter().unwrap(), 0);
    }
}
