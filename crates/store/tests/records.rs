//! The ledger, runs, cursors and guard drops the library keeps for the engine.

#[macro_use]
mod common;

use common::day;
use indicator::Kind;
use serde_json::json;
use store::{GuardDrop, LedgerEntry, RunItem, RunStatus};

fn entry(key: &str, value: &str, score: u8) -> LedgerEntry {
    LedgerEntry {
        key: key.into(),
        space: format!("{key}#space"),
        kind: Kind::Domain,
        value: value.into(),
        attributes: json!({ "riskLevel": "high", "score": score }),
        remote_id: None,
        pushed_at: day(1),
    }
}

on_both_backends! {
    fn ledger_upserts_removes_and_lists_by_target(db) {
        let mut lib = db.open();
        let mut with_id = entry("v1", "b.example", 9);
        with_id.remote_id = Some("42".into());
        lib.ledger_upsert(&[
            entry("v1", "a.example", 5),
            with_id,
            entry("ds", "a.example", 5),
        ])
        .unwrap();

        // Re-pushing replaces attributes and time but keeps a remote id it was not given again.
        let mut again = entry("v1", "b.example", 10);
        again.pushed_at = day(2);
        lib.ledger_upsert(&[again]).unwrap();
        let v1 = lib.ledger("v1").unwrap();
        assert_eq!(v1.len(), 2);
        assert_eq!(v1[1].value, "b.example");
        assert_eq!(v1[1].attributes["score"], 10);
        assert_eq!(v1[1].remote_id.as_deref(), Some("42"));
        assert_eq!(v1[1].pushed_at, day(2));

        let removed = lib
            .ledger_remove(
                "v1",
                &[
                    (Kind::Domain, "a.example".into()),
                    (Kind::Domain, "zzz".into()),
                ],
            )
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(lib.ledger("v1").unwrap().len(), 1);
        assert_eq!(
            lib.ledger("ds").unwrap().len(),
            1,
            "other targets untouched"
        );
        assert!(lib.ledger("nowhere").unwrap().is_empty());
    }
}

fn ledger_values(lib: &store::Library, target: &str) -> Vec<String> {
    let entries = lib.ledger(target).unwrap();
    entries.into_iter().map(|e| e.value).collect()
}

on_both_backends! {
    fn ledger_apply_records_a_batch_whole_or_not_at_all(db) {
        let mut lib = db.open();
        lib.ledger_upsert(&[
            entry("v1", "old.example", 5),
            entry("v1", "boom.example", 5),
        ])
        .unwrap();
        let removed = lib
            .ledger_apply(
                "v1",
                &[entry("v1", "new.example", 7)],
                &[(Kind::Domain, "old.example".into())],
            )
            .unwrap();
        assert_eq!(removed, 1);
        let values = ledger_values(&lib, "v1");
        assert_eq!(values, ["boom.example", "new.example"]);

        // A removal that fails after the upserts ran takes the upserts back with it.
        if db.is_postgres() {
            db.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                         $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
                     CREATE TRIGGER refuse BEFORE DELETE ON ledger FOR EACH ROW
                         WHEN (old.value = 'boom.example') EXECUTE FUNCTION refuse();",
            );
        } else {
            db.execute(
                "CREATE TRIGGER refuse BEFORE DELETE ON ledger WHEN old.value = 'boom.example'
                     BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            );
        }
        let failed = lib.ledger_apply(
            "v1",
            &[entry("v1", "later.example", 7)],
            &[(Kind::Domain, "boom.example".into())],
        );
        assert!(failed.is_err());
        let values = ledger_values(&lib, "v1");
        assert_eq!(
            values,
            ["boom.example", "new.example"],
            "nothing of the batch"
        );
    }
}

on_both_backends! {
    fn runs_start_finish_and_list_newest_first(db) {
        let mut lib = db.open();
        let first = lib.start_run("daily", day(1)).unwrap();
        let second = lib.start_run("hourly", day(2)).unwrap();
        assert!(
            lib.finish_run(
                first,
                RunStatus::Partial,
                &json!({"added": 3, "failed": 1}),
                &["x: 500".into()],
                day(1)
            )
            .unwrap()
        );
        assert!(
            !lib.finish_run(999, RunStatus::Failed, &json!({}), &[], day(3))
                .unwrap()
        );
        let runs = lib.runs(10).unwrap();
        assert_eq!(
            runs.iter().map(|r| r.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(runs[0].status, RunStatus::Running);
        assert_eq!(runs[0].finished_at, None);
        assert_eq!(runs[1].status, RunStatus::Partial);
        assert_eq!(runs[1].counts["added"], 3);
        assert_eq!(runs[1].errors, ["x: 500"]);
        assert_eq!(lib.runs(1).unwrap().len(), 1);
    }
}

fn item(outcome: &str, value: &str) -> RunItem {
    RunItem {
        outcome: outcome.into(),
        kind: Some(Kind::Ipv4),
        value: value.into(),
        detail: None,
        until: None,
    }
}

on_both_backends! {
    fn a_run_keeps_its_items_in_order_and_its_subject(db) {
        let mut lib = db.open();
        let call = lib.start_run("hook:siem", day(1)).unwrap();
        let other = lib.start_run("daily", day(2)).unwrap();
        let mut blocked = item("blocked", "203.0.113.5");
        blocked.until = Some(day(3));
        blocked.detail = Some("task 42".into());
        let unreadable = RunItem {
            kind: None,
            ..item("refused", "not an ip")
        };
        lib.record_run_items(
            call,
            Some("alert-7"),
            &[blocked.clone(), unreadable.clone()],
        )
        .unwrap();
        // A second call appends after the first.
        lib.record_run_items(call, None, &[item("lifted", "203.0.113.5")])
            .unwrap();
        lib.record_run_items(other, None, &[item("added", "198.51.100.1")])
            .unwrap();

        let items = lib.run_items(call, 10).unwrap();
        assert_eq!(items, [blocked, unreadable, item("lifted", "203.0.113.5")]);
        assert_eq!(lib.run_items(call, 1).unwrap().len(), 1);
        assert_eq!(lib.run_items(999, 10).unwrap(), []);

        let run = lib.run(call).unwrap().expect("the call is recorded");
        assert_eq!(run.subject.as_deref(), Some("alert-7"));
        assert_eq!(lib.run(other).unwrap().unwrap().subject, None);
        assert_eq!(lib.run(999).unwrap(), None);
        let named = lib.runs_named("daily", 10).unwrap();
        assert_eq!(named.iter().map(|r| r.id).collect::<Vec<_>>(), [other]);
    }
}

on_both_backends! {
    fn cursors_are_kept_per_feed(db) {
        let mut lib = db.open();
        assert_eq!(lib.cursor("taxii-a").unwrap(), None);
        lib.set_cursor("taxii-a", "one", day(1)).unwrap();
        lib.set_cursor("taxii-a", "two", day(2)).unwrap();
        lib.set_cursor("taxii-b", "other", day(2)).unwrap();
        assert_eq!(lib.cursor("taxii-a").unwrap().as_deref(), Some("two"));
        assert_eq!(lib.cursor("taxii-b").unwrap().as_deref(), Some("other"));
    }
}

on_both_backends! {
    fn guard_drops_are_recorded_with_their_rule(db) {
        let mut lib = db.open();
        let drop = |value: &str, rule: &str, at| GuardDrop {
            kind: Kind::Ipv4,
            value: value.into(),
            target: Some("v1".into()),
            rule: rule.into(),
            reason: format!("{value} stopped"),
            at,
        };
        lib.record_drops(&[drop("10.0.0.1", "builtin:special-range", day(1))])
            .unwrap();
        lib.record_drops(&[drop("8.8.8.8", "allowlist:cidr:8.8.8.0/24", day(2))])
            .unwrap();
        let drops = lib.drops(10).unwrap();
        assert_eq!(drops.len(), 2);
        assert_eq!(drops[0].rule, "allowlist:cidr:8.8.8.0/24");
        assert_eq!(drops[1], drop("10.0.0.1", "builtin:special-range", day(1)));
    }
}
