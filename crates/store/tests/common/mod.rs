//! Helpers shared by the store's integration tests: a library on either backend (a SQLite
//! file in a temporary directory, or a fresh database on a throwaway PostgreSQL cluster, see
//! `testkit::postgres`), the `on_both_backends!` macro that runs a test body on each, and
//! sightings with sensible defaults.

#![allow(dead_code)]

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use indicator::Kind;
use store::{Class, Library, Sighting};
use tempfile::TempDir;
use testkit::postgres::TestDatabase;

/// Runs each test body twice, as `<name>::sqlite` and `<name>::postgres`, with `$db` a
/// [`Db`] of that backend. The PostgreSQL half passes after saying it was skipped when no
/// PostgreSQL is at hand (fails instead with `IOCSYNC_REQUIRE_POSTGRES=1`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($( $(#[$meta:meta])* fn $name:ident($db:ident) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                $(#[$meta])*
                #[test]
                fn sqlite() {
                    let $db = crate::common::Db::sqlite();
                    $body
                }

                $(#[$meta])*
                #[test]
                fn postgres() {
                    let Some($db) = crate::common::Db::postgres() else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

/// A property test run on each backend, as `<name>::sqlite` and `<name>::postgres`: `$db`
/// (one or more) are [`Db`]s. SQLite gets fresh files per case; PostgreSQL gets databases
/// made once and emptied between cases ([`Db::reset`]), which keeps it fast enough to run
/// `$pg_config`'s cases.
#[allow(unused_macros)]
macro_rules! proptest_on_both_backends {
    (
        config = $config:expr, postgres_config = $pg_config:expr;
        fn $name:ident($($db:ident),+; $($arg:pat in $strategy:expr),+ $(,)?) $body:block
    ) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            proptest::proptest! {
                #![proptest_config($config)]
                #[test]
                fn sqlite($($arg in $strategy),+) {
                    $(let $db = crate::common::Db::sqlite();)+
                    $body
                }
            }

            #[test]
            fn postgres() {
                $(let Some($db) = crate::common::Db::postgres() else {
                    return;
                };
                // Migrated once; each case empties it.
                drop($db.open());)+
                proptest::proptest!($pg_config, |($($arg in $strategy),+)| {
                    $($db.reset();)+
                    $body
                });
            }
        }
    };
}

/// One library, on one backend, that tests open handles on (and reopen).
pub enum Db {
    Sqlite(TempDir),
    Postgres(Box<Pg>),
}

/// A PostgreSQL test database, and a connection of the tests' own ([`Db::execute`]), made on
/// first use.
pub struct Pg {
    db: TestDatabase,
    conn: Mutex<Option<postgres::Client>>,
}

impl Db {
    pub fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh PostgreSQL database, or `None` (said on stderr) when there is no PostgreSQL.
    pub fn postgres() -> Option<Db> {
        testkit::postgres::database().map(|db| {
            Db::Postgres(Box::new(Pg {
                db,
                conn: Mutex::new(None),
            }))
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(..))
    }

    /// A new handle on the library (creating it the first time): a reopened file, a new
    /// connection.
    pub fn open(&self) -> Library {
        match self {
            Db::Sqlite(dir) => Library::open(dir.path().join("lib.db")).unwrap(),
            Db::Postgres(pg) => Library::connect(pg.db.url()).unwrap(),
        }
    }

    /// Runs `sql` on the library's database outside the store (to break things on purpose).
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("lib.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Db::Postgres(pg) => {
                let mut conn = pg.conn.lock().unwrap();
                conn.get_or_insert_with(|| {
                    postgres::Client::connect(pg.db.url(), postgres::NoTls).unwrap()
                })
                .batch_execute(sql)
                .unwrap();
            }
        }
    }
}

impl Db {
    /// The first column of the first row of `sql` as a number, on the PostgreSQL database.
    pub fn number(&self, sql: &str) -> i64 {
        let Db::Postgres(pg) = self else {
            panic!("a query of the database is for PostgreSQL")
        };
        let mut conn = pg.conn.lock().unwrap();
        conn.get_or_insert_with(|| postgres::Client::connect(pg.db.url(), postgres::NoTls).unwrap())
            .query_one(sql, &[])
            .unwrap()
            .get(0)
    }
}

/// A SQLite library in its own temporary directory (for tests of SQLite alone).
pub fn library() -> (Db, Library) {
    let db = Db::sqlite();
    let lib = db.open();
    (db, lib)
}

/// Midnight UTC on the given day of January 2026.
pub fn day(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, n, 0, 0, 0).unwrap()
}

pub fn sighting(kind: Kind, value: &str, source: &str) -> Sighting {
    Sighting {
        kind,
        value: value.to_owned(),
        display: None,
        source: source.to_owned(),
        score: None,
        class: Class::Indicator,
        tags: Vec::new(),
        description: None,
        seen_at: day(1),
        valid_until: None,
        revoked: false,
        reported_at: None,
    }
}

pub fn ip(value: &str, source: &str, score: u8, seen: u32) -> Sighting {
    Sighting {
        score: Some(score),
        seen_at: day(seen),
        ..sighting(Kind::Ipv4, value, source)
    }
}

impl Db {
    /// Empties a PostgreSQL library between the cases of a property test (as a fresh one,
    /// its identity kept), which is much cheaper than a database per case. A SQLite `Db` is
    /// made per case instead.
    pub fn reset(&self) {
        if self.is_postgres() {
            // DELETE, not TRUNCATE: on a few rows it is several times faster (no new files).
            // Run items go with their runs (ON DELETE CASCADE); votes and tags have no key to
            // indicators (migration 002), so they are deleted by name.
            self.execute(
                "DELETE FROM indicator_sources; DELETE FROM indicator_tags;
                 DELETE FROM indicators; DELETE FROM collections; DELETE FROM ledger;
                 DELETE FROM runs; DELETE FROM cursors; DELETE FROM guard_drops;
                 DELETE FROM hook_signatures; DELETE FROM leases; DELETE FROM feeds;
                 DELETE FROM workflow_state; DELETE FROM ledger_changes;
                 DELETE FROM taxii_objects; UPDATE library_changes SET counter = 0;",
            );
        }
    }
}
