//! The SQLite file itself: migrations on existing files, refusing files it cannot read; and on
//! both backends, reopening and several handles writing at once.

#[macro_use]
mod common;

use std::thread;

use common::{day, ip};
use indicator::Kind;
use rusqlite::Connection;
use store::{Error, Library, SqliteLibrary};

#[test]
fn a_new_file_gets_every_migration_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let lib = SqliteLibrary::open(&path).unwrap();
    assert_eq!(lib.schema_version().unwrap(), 10);
    assert_eq!(lib.path(), path);
    drop(lib);
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn an_older_file_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A library as the first release wrote it: only migration 001.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/001_library.sql"))
            .unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO indicators (kind, value, score, class, status, first_seen, last_seen, updated_at)
             VALUES ('ipv4', '8.8.8.8', 4, 'indicator', 'active', 0, 0, 0);
             INSERT INTO indicator_sources (indicator_id, source, score, first_seen, last_seen)
             VALUES (1, 'old-feed', 4, 0, 0);",
        )
        .unwrap();
    }
    let mut lib = Library::open(&path).unwrap();
    let rec = lib
        .indicator(Kind::Ipv4, "8.8.8.8", day(1))
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.score, rec.sources.as_slice()),
        (Some(4), ["old-feed".to_owned()].as_slice())
    );
    // Migration 010 counted what the file held: the count a capped plan reports.
    let all = store::Collection::new("all");
    assert_eq!(lib.count_kind(&all, Kind::Ipv4, day(1)).unwrap(), 1);
    assert_eq!(lib.count_kind(&all, Kind::Domain, day(1)).unwrap(), 0);
    // The tables of migration 002 exist now.
    lib.set_cursor("taxii", "2026-01-01T00:00:00Z", day(1))
        .unwrap();
    assert_eq!(
        lib.cursor("taxii").unwrap().as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    drop(lib);
    assert_eq!(
        SqliteLibrary::open(&path)
            .unwrap()
            .schema_version()
            .unwrap(),
        10
    );
}

#[test]
fn a_version_3_library_keeps_its_ledger_and_runs_and_gets_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in [
            include_str!("../migrations/001_library.sql"),
            include_str!("../migrations/002_engine.sql"),
            include_str!("../migrations/003_hooks_leases.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO ledger (target, kind, value, attributes, pushed_at)
             VALUES ('v1/flow', 'ipv4', '45.0.0.1', '{}', 5);
             INSERT INTO runs (workflow, started_at, finished_at, status, counts, errors)
             VALUES ('flow', 1, 2, 'succeeded', '{\"added\":1}', '[]');
             INSERT INTO runs (workflow, started_at, status) VALUES ('flow', 3, 'running');",
        )
        .unwrap();
    }
    let mut lib = Library::open(&path).unwrap();
    let id = lib.library_id().unwrap();
    assert_eq!(id.len(), 8, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    let ledger = lib.ledger("v1/flow").unwrap();
    assert_eq!((ledger.len(), ledger[0].space.as_str()), (1, ""));
    assert_eq!(lib.set_claim_space("v1/flow", "v1#suspicious").unwrap(), 1);
    assert_eq!(lib.space_claims("v1#suspicious").unwrap().len(), 1);
    let runs = lib.runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].counts["added"], 1);
    // The new statuses are accepted, and a dead process's run can be marked interrupted.
    assert_eq!(lib.interrupt_runs("flow", day(1)).unwrap(), 1);
    assert_eq!(
        lib.runs(1).unwrap()[0].status,
        store::RunStatus::Interrupted
    );
    drop(lib);
    assert_eq!(
        Library::open(&path).unwrap().library_id().unwrap(),
        id,
        "stable"
    );
    let other = Library::open(dir.path().join("other.db")).unwrap();
    assert_ne!(other.library_id().unwrap(), id, "each library has its own");
}

#[test]
fn a_missing_or_empty_library_is_not_created_by_open_existing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lost.db");
    let err = Library::open_existing(&path).err().unwrap();
    assert!(matches!(err, Error::Missing { empty: false, .. }), "{err}");
    assert!(err.to_string().contains("--init-library"), "{err}");
    assert!(!path.exists(), "nothing was created");
    std::fs::write(&path, b"").unwrap();
    let err = Library::open_existing(&path).err().unwrap();
    assert!(matches!(err, Error::Missing { empty: true, .. }), "{err}");
    Library::open(&path).unwrap();
    assert!(Library::open_existing(&path).is_ok());
}

#[test]
fn a_file_from_a_newer_iocsync_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = Library::open(&path).err().unwrap();
    assert!(
        matches!(
            err,
            Error::TooNew {
                found: 99,
                known: 10,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("future.db"), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not a database, just some text that is long enough\n".repeat(50),
    )
    .unwrap();
    let err = Library::open(&path).err().unwrap();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("not a database"), "{source}");
}

on_both_backends! {
    fn data_survives_reopening(db) {
        db.open().merge(&[ip("1.2.3.4", "a", 6, 1)]).unwrap();
        let mut lib = db.open();
        assert_eq!(lib.count().unwrap(), 1);
        let report = lib.merge(&[ip("1.2.3.4", "b", 7, 2)]).unwrap();
        assert_eq!((report.created, report.updated), (0, 1));
        let rec = lib
            .indicator(Kind::Ipv4, "1.2.3.4", day(3))
            .unwrap()
            .unwrap();
        assert_eq!((rec.score, rec.sightings), (Some(7), 2));
    }
}

on_both_backends! {
    fn concurrent_handles_all_get_their_writes_in(db) {
        db.open();
        thread::scope(|scope| {
            let writers: Vec<_> = (0..4u32)
                .map(|w| {
                    let db = &db;
                    scope.spawn(move || {
                        let mut lib = db.open();
                        for round in 0..10u32 {
                            // Every writer also touches a shared indicator, so they contend.
                            let mut batch: Vec<_> = (0..500u32)
                                .map(|n| {
                                    let addr = std::net::Ipv4Addr::from(
                                        0x0C00_0000 + w * 100_000 + round * 1_000 + n,
                                    );
                                    ip(&addr.to_string(), &format!("writer-{w}"), 5, 1)
                                })
                                .collect();
                            batch.push(ip("12.255.255.255", &format!("writer-{w}"), 5, 1));
                            lib.merge(&batch).unwrap();
                            // Readers run alongside the writers.
                            assert!(lib.count().unwrap() >= 500);
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.join().unwrap();
            }
        });
        let lib = db.open();
        assert_eq!(lib.count().unwrap(), 4 * 10 * 500 + 1);
        let shared = lib
            .indicator(Kind::Ipv4, "12.255.255.255", day(2))
            .unwrap()
            .unwrap();
        assert_eq!(shared.sightings, 40);
        assert_eq!(shared.sources.len(), 4);
    }
}
