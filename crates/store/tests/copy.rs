//! `store::copy`: a library with rows in every table it keeps, copied SQLite → PostgreSQL →
//! SQLite, reads back the same in every table (cell for cell), answers the same through the
//! library's own calls, and keeps its id (the marker on what it pushed); a copy into a library
//! that holds anything is refused and writes nothing; the copied PostgreSQL library goes on
//! numbering runs after the copied ones. Skipped, saying why, without PostgreSQL.

mod common;

use std::ops::ControlFlow;

use chrono::Duration;
use common::{Db, day, ip};
use indicator::Kind;
use store::copy::{self, TABLES};
use store::taxii::Published;
use store::{
    Collection, Error, FeedMode, GuardDrop, LedgerEntry, LibraryBackend, Outcome, RunItem,
    RunStatus, Unread, WorkflowState,
};

/// Rows in every table a copy moves (a few pages' worth of indicators).
fn fill(library: &mut dyn LibraryBackend) {
    let sightings: Vec<_> = (0..12_000u32)
        .map(|i| {
            let mut s = ip(
                &format!("198.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256),
                if i % 3 == 0 { "feodo" } else { "urlhaus" },
                (i % 11) as u8,
                1 + i % 20,
            );
            s.tags = vec![format!("t{}", i % 4)];
            s.revoked = i % 97 == 0;
            s
        })
        .collect();
    library.merge_at(&sightings, day(21)).unwrap();
    library
        .save_collection(&Collection::new("all"), false)
        .unwrap();
    let entries: Vec<LedgerEntry> = (0..50)
        .map(|i| LedgerEntry {
            key: "v1/block".into(),
            space: "v1#blocklist".into(),
            kind: Kind::Ipv4,
            value: format!("198.0.0.{i}"),
            attributes: serde_json::json!({"risk": "high", "i": i}),
            remote_id: (i % 2 == 0).then(|| format!("r{i}")),
            pushed_at: day(21),
        })
        .collect();
    library.ledger_upsert(&entries).unwrap();
    let run = library.start_run("block", day(21)).unwrap();
    let items = [RunItem {
        outcome: "added".into(),
        kind: Some(Kind::Ipv4),
        value: "198.0.0.1".into(),
        detail: Some("ok".into()),
        until: Some(day(22)),
    }];
    library
        .record_run_items(run, Some("alert-1"), &items)
        .unwrap();
    let counts = serde_json::json!({"added": 50});
    library
        .finish_run(
            run,
            RunStatus::Succeeded,
            &counts,
            &["none".into()],
            day(21),
        )
        .unwrap();
    library.start_run("other", day(22)).unwrap();
    library.set_cursor("misp", "1700000000", day(21)).unwrap();
    let drop = GuardDrop {
        kind: Kind::Ipv4,
        value: "10.0.0.1".into(),
        target: Some("v1".into()),
        rule: "builtin:private".into(),
        reason: "private".into(),
        at: day(21),
    };
    library.record_drops(&[drop]).unwrap();
    let hash = [7u8; 32];
    library
        .remember_signature("siem", &hash, day(21), day(21) + Duration::days(400))
        .unwrap();
    let state = WorkflowState {
        counter: 3,
        digest: "abc".into(),
        next_due: Some(day(25)),
        completed_at: day(21),
    };
    library.set_workflow_state("block", &state).unwrap();
    let unread = Unread {
        outcome: Outcome::Failed,
        reason: Some("timed out".into()),
        mode: FeedMode::Snapshot,
        expire_after: None,
    };
    library.record_pull("feodo", unread, day(21)).unwrap();
    let published = Published {
        kind: Kind::Ipv4,
        value: "198.0.0.1".into(),
        generation: 0,
        digest: "d".into(),
        revoked: false,
        seq: 0,
        added: day(21),
        object: "{}".into(),
    };
    library.publish("taxii", &[published], day(21)).unwrap();
}

/// Every table of `library`, cell for cell.
fn everything(library: &dyn LibraryBackend) -> Vec<Vec<Vec<copy::Cell>>> {
    TABLES
        .iter()
        .map(|table| copy::dump(library, table).unwrap())
        .collect()
}

/// What the library's own calls answer.
fn answers(library: &dyn LibraryBackend) -> String {
    let mut members = 0;
    library
        .scan(&Collection::new("all"), day(21), None, &mut |_| {
            members += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    format!(
        "{} {} {:?} {:?} {:?} {:?} {:?} {}",
        library.count().unwrap(),
        members,
        library.ledger("v1/block").unwrap(),
        library.runs(10).unwrap(),
        library.feed_states().unwrap(),
        library.workflow_state("block").unwrap(),
        library.published("taxii").unwrap(),
        library.library_id().unwrap(),
    )
}

#[test]
fn a_library_copied_to_postgres_and_back_is_the_same_in_every_table() {
    let Some(pg) = Db::postgres() else {
        return;
    };
    let original = Db::sqlite();
    let mut source = original.open();
    fill(&mut *source);

    let mut middle = pg.open();
    let report = copy::copy(&*source, &mut *middle).unwrap();
    let rows: std::collections::BTreeMap<_, _> = report.tables.iter().cloned().collect();
    assert_eq!(rows["indicators"], 12_000, "{report:?}");
    for table in TABLES {
        assert!(
            rows[table.name] > 0,
            "{} is empty in the fixture",
            table.name
        );
    }
    let back_db = Db::sqlite();
    let mut back = back_db.open();
    copy::copy(&*middle, &mut *back).unwrap();

    let expected = everything(&*source);
    assert_eq!(everything(&*middle), expected, "SQLite → PostgreSQL");
    assert_eq!(everything(&*back), expected, "→ SQLite again");
    assert_eq!(answers(&*middle), answers(&*source));
    assert_eq!(answers(&*back), answers(&*source));

    // The copy goes on as the original would: new runs after the copied ones.
    let next = middle.start_run("block", day(23)).unwrap();
    assert!(next > source.runs(10).unwrap()[0].id, "{next}");
}

#[test]
fn a_copy_into_a_library_that_holds_anything_is_refused_and_writes_nothing() {
    for destination in [Some(Db::sqlite()), Db::postgres()].into_iter().flatten() {
        let original = Db::sqlite();
        let mut source = original.open();
        fill(&mut *source);
        let mut target = destination.open();
        target
            .save_collection(&Collection::new("mine"), false)
            .unwrap();
        let id = target.library_id().unwrap();
        let before = everything(&*target);
        match copy::copy(&*source, &mut *target) {
            Err(Error::NotEmpty { table }) => assert_eq!(table, "collections"),
            other => panic!("{other:?}"),
        }
        assert_eq!(everything(&*target), before);
        assert_eq!(target.library_id().unwrap(), id);
    }
}
