//! What only the PostgreSQL backend has: migrations under an advisory lock (processes starting
//! together migrate once), a schema from a newer iocsync refused, passwords kept out of every
//! error, second handles (new connections) that are not blocked by the first's transaction, every
//! call working from inside a Tokio runtime, reconnection, TLS per `sslmode`; and merges and pulls checked against SQLite's on random inputs.

#[macro_use]
mod common;

use std::error::Error as _;
use std::ops::ControlFlow;
use std::sync::Barrier;
use std::thread;

use common::{day, ip};
use indicator::Kind;
use secrecy::SecretString;
use store::{
    Collection, Error, FeedMode, Finish, LeaseHolder, Library, LibraryBackend,
    POSTGRES_SCHEMA_VERSION, PostgresLibrary, PostgresOptions, SslMode, Validators,
};
use testkit::postgres::TestDatabase;

fn database() -> Option<TestDatabase> {
    testkit::postgres::database()
}

fn raw(db: &TestDatabase) -> postgres::Client {
    postgres::Client::connect(db.url(), postgres::NoTls).unwrap()
}

/// `url` (URL or key-value form) with one more parameter.
fn with_param(url: &str, key: &str, value: &str) -> String {
    if url.starts_with("postgres") {
        let glue = if url.contains('?') { '&' } else { '?' };
        format!("{url}{glue}{key}={value}")
    } else {
        format!("{url} {key}={value}")
    }
}

/// The error and every source under it, as a person would read them.
fn chain(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[test]
fn processes_migrating_a_fresh_database_at_once_migrate_it_once() {
    let Some(db) = database() else { return };
    let barrier = Barrier::new(4);
    let ids: Vec<String> = thread::scope(|scope| {
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (db, barrier) = (&db, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let lib = PostgresLibrary::connect(db.url()).unwrap();
                    assert_eq!(lib.schema_version().unwrap(), POSTGRES_SCHEMA_VERSION);
                    lib.library_id().unwrap()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let mut conn = raw(&db);
    let versions: i64 = conn
        .query_one("SELECT count(*) FROM iocsync_schema", &[])
        .unwrap()
        .get(0);
    let identities: i64 = conn
        .query_one("SELECT count(*) FROM library_meta", &[])
        .unwrap()
        .get(0);
    assert_eq!((versions, identities), (POSTGRES_SCHEMA_VERSION, 1));
}

#[test]
fn a_library_from_a_newer_iocsync_is_refused() {
    let Some(db) = database() else { return };
    PostgresLibrary::connect(db.url()).unwrap();
    raw(&db)
        .batch_execute("INSERT INTO iocsync_schema (version, name) VALUES (99, '099_future')")
        .unwrap();
    let err = PostgresLibrary::connect(db.url()).err().unwrap();
    assert!(
        matches!(
            err,
            Error::TooNewSchema {
                found: 99,
                known: POSTGRES_SCHEMA_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn connect_existing_refuses_a_database_without_a_library_and_creates_nothing() {
    let Some(db) = database() else { return };
    let options = PostgresOptions::new(db.url());
    let err = Library::connect_existing(&options).err().unwrap();
    assert!(matches!(err, Error::NoLibrary { .. }), "{err:?}");
    assert!(err.to_string().contains("--init-library"), "{err}");
    let made: bool = raw(&db)
        .query_one("SELECT to_regclass('iocsync_schema') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!made, "nothing was created");
    Library::connect(db.url()).unwrap();
    assert!(Library::connect_existing(&options).is_ok());
}

#[test]
fn a_handle_whose_connection_the_server_ended_reconnects() {
    let Some(db) = database() else { return };
    let mut lib = PostgresLibrary::connect(db.url()).unwrap();
    lib.merge_at(&[ip("198.51.100.1", "a", 5, 1)], day(2))
        .unwrap();
    let end_it = || {
        raw(&db)
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'iocsync'",
                &[&db.name()],
            )
            .unwrap()
    };
    assert_eq!(end_it(), 1);
    // The call that meets the ended connection fails; the next one reconnects.
    let _ = lib.count();
    assert_eq!(lib.count().unwrap(), 1);
    assert_eq!(end_it(), 1);
    let _ = lib.merge_at(&[ip("198.51.100.2", "a", 5, 1)], day(2));
    lib.merge_at(&[ip("198.51.100.2", "a", 5, 1)], day(2))
        .unwrap();
    assert_eq!(lib.count().unwrap(), 2);
}

#[test]
fn no_error_shows_a_password() {
    let Some(db) = database() else { return };
    let secret = "hunter2-not-shown";
    let mut errors = vec![
        // Nobody listens there.
        PostgresLibrary::connect(&format!(
            "postgres://ioc:{secret}@127.0.0.1:1/lib?connect_timeout=5"
        ))
        .err()
        .unwrap(),
        // The server answers, and refuses.
        PostgresLibrary::connect(&with_param(
            &db.url_of("no_such_database_here"),
            "password",
            secret,
        ))
        .err()
        .unwrap(),
        // A password given apart, and a setting that is wrong.
        PostgresLibrary::connect_with(&PostgresOptions {
            password: Some(SecretString::from(secret)),
            ..PostgresOptions::new(db.url_of("no_such_database_here"))
        })
        .err()
        .unwrap(),
        PostgresLibrary::connect(&format!(
            "postgresql://ioc:{secret}@db.example/lib?sslmode=sometimes"
        ))
        .err()
        .unwrap(),
    ];
    errors.push(
        PostgresLibrary::connect(&format!("host=db.example password='{secret}' port=x"))
            .err()
            .unwrap(),
    );
    for err in &errors {
        let text = chain(err);
        assert!(!text.contains(secret), "{text}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
    assert!(
        chain(&errors[0]).contains("postgres://ioc:***@127.0.0.1:1/lib"),
        "{}",
        chain(&errors[0])
    );
    assert!(
        matches!(errors[1], Error::Connect { .. }),
        "{:?}",
        errors[1]
    );
    assert!(
        chain(&errors[1]).contains("no_such_database_here"),
        "{}",
        chain(&errors[1])
    );
    assert!(
        matches!(errors[3], Error::Settings { .. }),
        "{:?}",
        errors[3]
    );
}

#[test]
fn a_second_handle_is_not_held_up_by_the_first_ones_pull() {
    let Some(db) = database() else { return };
    let mut lib = PostgresLibrary::connect(db.url()).unwrap();
    let mut second = lib.second_handle().unwrap().unwrap();
    let holder = LeaseHolder {
        holder: "iocsync serve".into(),
        host: "here".into(),
        pid: 7,
        started: None,
    };
    {
        let mut pull = lib.begin_pull("feed", day(2)).unwrap();
        pull.merge(&[ip("198.51.100.1", "feed", 5, 2)]).unwrap();
        // The pull holds its transaction (and the indicators' lock); the second handle
        // renews a lease and reads, seeing the library as before the pull.
        assert_eq!(
            second
                .take_lease("workflow:w", &holder, day(2), day(3), &|_| false)
                .unwrap(),
            None
        );
        assert_eq!(second.count().unwrap(), 0);
        pull.finish(Finish {
            mode: FeedMode::Snapshot,
            checks: None,
            records: 1,
            invalid: 0,
            validators: Validators::default(),
            cursor: None,
            expire_after: None,
        })
        .unwrap();
    }
    assert_eq!(second.count().unwrap(), 1);
    assert_eq!(second.change_counter().unwrap(), 1);
}

/// The engine calls the library from async code (inside `block_on`, on a runtime's worker):
/// the synchronous client's own runtime must not be started from there, for any call, a
/// pull's writer, a second handle or a drop.
#[test]
fn every_call_works_from_inside_a_tokio_runtime() {
    let Some(db) = database() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut lib = PostgresLibrary::connect(db.url()).unwrap();
        let report = lib
            .merge_at(
                &[ip("198.51.100.1", "a", 5, 1), ip("198.51.100.2", "a", 7, 1)],
                day(2),
            )
            .unwrap();
        assert_eq!(report.created, 2);
        let mut seen = Vec::new();
        let visited = lib
            .scan_kind(
                &Collection::new("all"),
                Kind::Ipv4,
                day(2),
                None,
                &mut |record| {
                    seen.push(record.value);
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert_eq!(visited, 2);
        assert_eq!(seen, ["198.51.100.2", "198.51.100.1"]);
        let holder = LeaseHolder {
            holder: "iocsync serve".into(),
            host: "here".into(),
            pid: 7,
            started: None,
        };
        // Taken (`None`); then refused to another holder, `may_take` asked on the way.
        assert_eq!(
            lib.take_lease("workflow:w", &holder, day(2), day(3), &|_| false)
                .unwrap(),
            None
        );
        let other = LeaseHolder {
            pid: 8,
            ..holder.clone()
        };
        let asked = std::sync::atomic::AtomicBool::new(false);
        let held = lib
            .take_lease("workflow:w", &other, day(2), day(3), &|_| {
                asked.store(true, std::sync::atomic::Ordering::Relaxed);
                false
            })
            .unwrap();
        assert_eq!(held.map(|lease| lease.holder.pid), Some(7));
        assert!(asked.into_inner());
        {
            let mut pull = lib.begin_pull("feed", day(3)).unwrap();
            pull.merge(&[ip("198.51.100.3", "feed", 5, 3)]).unwrap();
            let report = pull
                .finish(Finish {
                    mode: FeedMode::Snapshot,
                    checks: None,
                    records: 1,
                    invalid: 0,
                    validators: Validators::default(),
                    cursor: None,
                    expire_after: None,
                })
                .unwrap();
            assert_eq!(report.new, 1);
        }
        {
            // A pull dropped unfinished rolls back, here too.
            let mut pull = lib.begin_pull("feed", day(4)).unwrap();
            pull.merge(&[ip("198.51.100.4", "feed", 5, 4)]).unwrap();
        }
        assert_eq!(lib.count().unwrap(), 3);
        let second = lib.second_handle().unwrap().unwrap();
        assert_eq!(second.count().unwrap(), 3);
        drop(second);
        drop(lib);
        // Through `Library`, as the CLI opens it.
        let lib = Library::connect(db.url()).unwrap();
        assert_eq!(lib.count().unwrap(), 3);
    });
}

on_both_backends! {
    fn a_library_reached_through_library_connect_is_the_same_library(db) {
        let mut lib = db.open();
        lib.merge_at(&[ip("198.51.100.1", "a", 5, 1)], day(2))
            .unwrap();
        let id = lib.library_id().unwrap();
        assert_eq!(db.open().library_id().unwrap(), id);
        assert_eq!(id.len(), 8, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}

/// Whether the connections to `db` of application `name` use TLS, as the server sees them.
fn connections_use_tls(db: &TestDatabase, name: &str) -> Vec<bool> {
    raw(db)
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $2 AND a.datname = $1",
            &[&db.name(), &name],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn tls_is_used_as_sslmode_asks_and_verified_against_the_ca_file() {
    let Some(db) = database() else { return };
    let Some((url, ca_file)) = db.tls("localhost") else {
        eprintln!("skipped: the test server offers no TLS (openssl missing, or a given URL)");
        return;
    };
    let ca = ca_file.display();
    for (mode, tls) in [
        ("disable", false),
        ("prefer", true),
        ("require", true),
        ("verify-ca", true),
        ("verify-full", true),
    ] {
        let lib = PostgresLibrary::connect(&format!(
            "{url} sslmode={mode} sslrootcert={ca} application_name=tls-{mode}"
        ))
        .unwrap_or_else(|e| panic!("{mode}: {}", chain(&e)));
        assert_eq!(lib.count().unwrap(), 0);
        assert_eq!(
            connections_use_tls(&db, &format!("tls-{mode}")),
            [tls],
            "{mode}"
        );
    }
    // The CA file given apart, as the config will give it; a URL form too.
    let lib = PostgresLibrary::connect_with(&PostgresOptions {
        ssl_mode: Some(SslMode::VerifyFull),
        ca_file: Some(ca_file.clone()),
        ..PostgresOptions::new(url.clone())
    })
    .unwrap();
    assert_eq!(connections_use_tls(&db, "iocsync"), [true]);
    drop(lib);
    let (ip_url, _) = db.tls("127.0.0.1").unwrap();
    let port = ip_url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .unwrap();
    PostgresLibrary::connect(&format!(
        "postgres://postgres@localhost:{port}/{}?sslmode=verify-full&sslrootcert={ca}",
        db.name()
    ))
    .unwrap();

    // Not signed by a CA it trusts: refused (the system's roots do not know the test CA).
    for mode in ["verify-ca", "verify-full"] {
        let err = PostgresLibrary::connect(&format!("{url} sslmode={mode}"))
            .err()
            .unwrap();
        assert!(matches!(err, Error::Connect { .. }), "{mode}: {err:?}");
        let text = chain(&err);
        assert!(text.contains("certificate"), "{mode}: {text}");
    }
}

mod same_as_sqlite {
    //! The set-based merge against SQLite's sighting-by-sighting one: random batches (few
    //! values, several sources, times out of order and tied, scores missing, revocations,
    //! bad sightings) merged into both backends leave the same records, votes and reports.
    //! And pulls: random sequences of snapshot and incremental pulls (checked or accepted,
    //! held, dropped half-way, with `expire_after`) and unread ones leave the same reports,
    //! records, votes, feed states and change counter.

    use chrono::Duration;
    use indicator::Kind;
    use proptest::prelude::*;
    use store::{
        Checks, Class, FeedMode, Finish, IndicatorRecord, Library, MergeReport, Outcome,
        PullReport, Sighting, SourceVote, Unread, Validators,
    };

    use super::common::{Db, day, sighting};

    const VALUES: [&str; 3] = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    const SOURCES: [&str; 3] = ["a", "b", " a "];

    fn one() -> impl Strategy<Value = Sighting> {
        (
            (0..VALUES.len(), 0..SOURCES.len(), 1u32..5),
            (
                prop::option::weighted(0.7, 0u8..=11),
                prop::bool::weighted(0.25),
            ),
            (prop::option::of(1u32..9), prop::bool::weighted(0.2)),
            (prop::option::of("[xy]"), prop::option::of("[pq]")),
            (
                prop::collection::vec("[st ]", 0..3),
                prop::option::of(1u32..4),
            ),
        )
            .prop_map(
                |(
                    (v, source, seen),
                    (score, revoked),
                    (until, asset),
                    (display, about),
                    (tags, reported),
                )| {
                    Sighting {
                        score,
                        revoked,
                        seen_at: day(seen),
                        valid_until: until.map(day),
                        class: if asset {
                            Class::Asset
                        } else {
                            Class::Indicator
                        },
                        display,
                        description: about,
                        tags,
                        reported_at: reported.map(|d| day(d) - Duration::days(30)),
                        ..sighting(Kind::Ipv4, VALUES[v], SOURCES[source])
                    }
                },
            )
    }

    fn state(lib: &Library) -> State {
        VALUES
            .iter()
            .filter_map(|v| {
                let record = lib.indicator(Kind::Ipv4, v, day(6)).unwrap()?;
                Some((record, lib.votes(Kind::Ipv4, v).unwrap()))
            })
            .collect()
    }

    fn merged(lib: &mut Library, batches: &[Vec<Sighting>]) -> Vec<MergeReport> {
        batches
            .iter()
            .map(|batch| lib.merge_at(batch, day(5)).unwrap())
            .collect()
    }

    type State = Vec<(IndicatorRecord, Vec<SourceVote>)>;

    /// Merges `batches` into a new SQLite library and into `pg` (emptied first): the same
    /// reports, `state` and change counter. Returns the PostgreSQL handle, still open.
    fn same_merges(
        pg: &Db,
        batches: &[Vec<Sighting>],
        state: fn(&Library) -> State,
    ) -> Result<Library, TestCaseError> {
        pg.reset();
        let sqlite = Db::sqlite();
        let (mut a, mut b) = (sqlite.open(), pg.open());
        prop_assert_eq!(merged(&mut a, batches), merged(&mut b, batches));
        prop_assert_eq!(state(&a), state(&b));
        prop_assert_eq!(a.change_counter().unwrap(), b.change_counter().unwrap());
        Ok(b)
    }

    #[test]
    fn the_set_based_merge_leaves_what_sqlite_leaves() {
        let Some(pg) = Db::postgres() else { return };
        drop(pg.open());
        proptest!(
            ProptestConfig::with_cases(128),
            |(batches in prop::collection::vec(prop::collection::vec(one(), 0..10), 1..4))| {
                same_merges(&pg, &batches, state)?;
            }
        );
    }

    /// Over 2,000 sightings on 300 values: enough that PostgreSQL merges each chunk in two
    /// halves on two connections.
    fn many() -> impl Strategy<Value = Vec<Sighting>> {
        prop::collection::vec((one(), 0..300u32), 2_000..2_600).prop_map(|rows| {
            rows.into_iter()
                .map(|(s, n)| Sighting {
                    value: format!("203.0.{}.{}", n / 256, n % 256),
                    ..s
                })
                .collect()
        })
    }

    fn every_state(lib: &Library) -> State {
        (0..300u32)
            .filter_map(|n| {
                let value = format!("203.0.{}.{}", n / 256, n % 256);
                let record = lib.indicator(Kind::Ipv4, &value, day(6)).unwrap()?;
                Some((record, lib.votes(Kind::Ipv4, &value).unwrap()))
            })
            .collect()
    }

    #[test]
    fn a_merge_split_over_two_connections_leaves_what_sqlite_leaves() {
        let Some(pg) = Db::postgres() else { return };
        drop(pg.open());
        proptest!(
            ProptestConfig::with_cases(6),
            |(batches in prop::collection::vec(many(), 1..3))| {
                let _open = same_merges(&pg, &batches, every_state)?;
                // It was split: the handle holds a second connection.
                let connections = pg.number(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE application_name = 'iocsync' AND datname = current_database()",
                );
                prop_assert_eq!(connections, 2);
            }
        );
    }

    /// One step of a feed's life: a pull (applied, held, or dropped half-way) or a pull that
    /// did not read the feed.
    #[derive(Debug, Clone)]
    enum Step {
        Pull {
            listed: Vec<(usize, Option<u8>, bool)>,
            incremental: bool,
            checked: bool,
            expire_after: Option<i64>,
            dropped: bool,
        },
        Unread {
            unchanged: bool,
            incremental: bool,
            expire_after: Option<i64>,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        let expire = prop::option::weighted(0.4, 1i64..4);
        prop_oneof![
            4 => (
                prop::collection::vec(
                    (0..VALUES.len(), prop::option::of(0u8..=10), prop::bool::weighted(0.15)),
                    0..5,
                ),
                any::<bool>(),
                any::<bool>(),
                expire.clone(),
                prop::bool::weighted(0.1),
            )
                .prop_map(|(listed, incremental, checked, expire_after, dropped)| Step::Pull {
                    listed,
                    incremental,
                    checked,
                    expire_after,
                    dropped,
                }),
            1 => (any::<bool>(), any::<bool>(), expire).prop_map(
                |(unchanged, incremental, expire_after)| Step::Unread {
                    unchanged,
                    incremental,
                    expire_after,
                }
            ),
        ]
    }

    /// Applies `steps` (a day apart) to `lib`, returning every report.
    fn pulled(lib: &mut Library, steps: &[Step]) -> Vec<Option<PullReport>> {
        const FEED: &str = "feed";
        let mode = |incremental: bool| {
            if incremental {
                FeedMode::Incremental
            } else {
                FeedMode::Snapshot
            }
        };
        steps
            .iter()
            .enumerate()
            .map(|(n, step)| {
                let at = day(2 + n as u32);
                match step {
                    Step::Pull {
                        listed,
                        incremental,
                        checked,
                        expire_after,
                        dropped,
                    } => {
                        let sightings: Vec<Sighting> = listed
                            .iter()
                            .map(|(v, score, revoked)| Sighting {
                                score: *score,
                                revoked: *revoked,
                                seen_at: at,
                                ..sighting(Kind::Ipv4, VALUES[*v], FEED)
                            })
                            .collect();
                        let mut writer = lib.begin_pull(FEED, at).unwrap();
                        writer.merge(&sightings).unwrap();
                        if *dropped {
                            return None;
                        }
                        Some(
                            writer
                                .finish(Finish {
                                    mode: mode(*incremental),
                                    checks: checked.then(Checks::default),
                                    records: sightings.len() as u64,
                                    invalid: 0,
                                    validators: Validators {
                                        content_hash: Some(format!("hash-{n}")),
                                        ..Validators::default()
                                    },
                                    cursor: incremental.then(|| format!("cursor-{n}")),
                                    expire_after: expire_after.map(Duration::days),
                                })
                                .unwrap(),
                        )
                    }
                    Step::Unread {
                        unchanged,
                        incremental,
                        expire_after,
                    } => Some(
                        lib.record_pull(
                            FEED,
                            Unread {
                                outcome: if *unchanged {
                                    Outcome::Unchanged
                                } else {
                                    Outcome::Failed
                                },
                                reason: (!unchanged).then(|| "HTTP 503".to_owned()),
                                mode: mode(*incremental),
                                expire_after: expire_after.map(Duration::days),
                            },
                            at,
                        )
                        .unwrap(),
                    ),
                }
            })
            .collect()
    }

    #[test]
    fn pulls_leave_what_they_leave_on_sqlite() {
        let Some(pg) = Db::postgres() else { return };
        drop(pg.open());
        proptest!(
            ProptestConfig::with_cases(96),
            |(before in prop::collection::vec(one(), 0..6),
              steps in prop::collection::vec(step(), 1..6))| {
                pg.reset();
                let sqlite = Db::sqlite();
                let (mut a, mut b) = (sqlite.open(), pg.open());
                // Another source's votes too, so withdrawals meet indicators others stand behind.
                merged(&mut a, std::slice::from_ref(&before));
                merged(&mut b, std::slice::from_ref(&before));
                prop_assert_eq!(pulled(&mut a, &steps), pulled(&mut b, &steps));
                prop_assert_eq!(state(&a), state(&b));
                prop_assert_eq!(a.feed_states().unwrap(), b.feed_states().unwrap());
                prop_assert_eq!(a.change_counter().unwrap(), b.change_counter().unwrap());
            }
        );
    }
}
