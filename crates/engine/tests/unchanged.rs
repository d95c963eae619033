//! Unchanged runs over real HTTP against the emulator: a second run of a workflow whose inputs
//! did not change reads no collection, sends no request and is recorded as succeeded with
//! `unchanged: 1`; a merge, an expiry or renewal falling due, another claimant's write on the
//! list or a config edit makes the next run a full one. And for random histories, a run
//! recorded unchanged is one whose full plan would have changed nothing.

#[allow(unused)] // the compliance suite is not instantiated here
mod common;

use chrono::Duration;
use common::{Harness, ips, revoke, sighting};
use config::Config;
use engine::keys::WorkflowKeys;
use indicator::Kind;
use proptest::prelude::*;
use store::{LedgerEntry, RunStatus};

const FLOW: &str = r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
parameters = { expiry = 30, renew_within_days = 3, cap_per_type = 10000 }
"#;

/// Makes one member unreadable behind the library's back (no change counted): a run that
/// reads the collection fails on it. Returns a guard that puts it right when dropped.
struct Unreadable {
    conn: rusqlite::Connection,
    value: &'static str,
    first_seen: i64,
}

impl Unreadable {
    fn new(h: &Harness, value: &'static str) -> Unreadable {
        let conn = rusqlite::Connection::open(h.config.library.file().unwrap()).unwrap();
        let first_seen = conn
            .query_row(
                "SELECT first_seen FROM indicators WHERE value = ?1",
                [value],
                |row| row.get(0),
            )
            .unwrap();
        // Text where a time should be: reading the row fails, whichever query reads it.
        let n = conn
            .execute(
                "UPDATE indicators SET first_seen = 'unreadable' WHERE value = ?1",
                [value],
            )
            .unwrap();
        assert_eq!(n, 1);
        Unreadable {
            conn,
            value,
            first_seen,
        }
    }
}

impl Drop for Unreadable {
    fn drop(&mut self) {
        self.conn
            .execute(
                "UPDATE indicators SET first_seen = ?2 WHERE value = ?1",
                rusqlite::params![self.value, self.first_seen],
            )
            .unwrap();
    }
}

async fn assert_unchanged(h: &mut Harness) {
    let requests = h.requests();
    let report = {
        let _unreadable = Unreadable::new(h, "11.0.0.0");
        h.run("block").await
    };
    assert_eq!(report.unchanged, 1, "{:?}", report.plan.notes);
    assert_eq!(report.plan.changes(), 0);
    assert_eq!(h.requests(), requests, "an unchanged run sends nothing");
    let run = &h.library.runs(1).unwrap()[0];
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.counts["unchanged"], 1);
    assert_eq!(run.counts["api_calls"], 0);
}

async fn assert_full(h: &mut Harness) -> engine::RunReport {
    let report = h.run("block").await;
    assert_eq!(report.unchanged, 0);
    assert!(
        h.library.runs(1).unwrap()[0]
            .counts
            .get("unchanged")
            .is_none()
    );
    report
}

#[tokio::test]
async fn a_second_run_with_nothing_changed_reads_and_sends_nothing() {
    let mut h = Harness::new(FLOW).await;
    let now = h.now;
    h.merge(&ips(3, 8, now));
    assert_eq!(assert_full(&mut h).await.added, 3);
    assert_unchanged(&mut h).await;
    assert_unchanged(&mut h).await;
    // Without the fast path the unreadable member is an error: the check above is real.
    let _unreadable = Unreadable::new(&h, "11.0.0.0");
    let options = engine::RunOptions {
        now: h.now,
        manual: false,
        dry_run: false,
        verify: true,
        allow_removals: false,
        all_skips: false,
    };
    let verify = engine::run_workflow(
        &h.config,
        &mut *h.library,
        "block",
        options,
        &engine::NoProgress,
    )
    .await;
    assert!(verify.is_err(), "a verify run reads the collection");
}

#[tokio::test]
async fn a_merge_in_between_makes_the_run_full() {
    let mut h = Harness::new(FLOW).await;
    let now = h.now;
    h.merge(&ips(3, 8, now));
    assert_full(&mut h).await;
    assert_unchanged(&mut h).await;
    h.merge(&[sighting(Kind::Domain, "new.example.com", 7, now)]);
    let requests = h.requests();
    assert_eq!(assert_full(&mut h).await.added, 1);
    assert!(h.requests() > requests);
    assert_unchanged(&mut h).await;
    // A merge that only repeats what the library holds is still counted: a full run, which
    // finds nothing to send.
    h.merge(&ips(3, 8, now));
    assert_eq!(assert_full(&mut h).await.plan.changes(), 0);
    assert_unchanged(&mut h).await;
}

#[tokio::test]
async fn an_expiry_falling_due_makes_the_run_full() {
    let mut h = Harness::new(FLOW).await;
    let now = h.now;
    let mut brief = sighting(Kind::Domain, "brief.example.com", 7, now);
    brief.valid_until = Some(now + Duration::hours(1));
    let mut sightings = ips(3, 8, now);
    sightings.push(brief);
    h.merge(&sightings);
    assert_eq!(assert_full(&mut h).await.added, 4);
    assert_unchanged(&mut h).await;
    // Nothing was written when the validity ended: only the time says so.
    h.advance(Duration::hours(2));
    let counter = h.library.change_counter().unwrap();
    let expired = assert_full(&mut h).await;
    assert_eq!(h.library.change_counter().unwrap(), counter);
    assert_eq!(expired.removed, 1);
    assert_unchanged(&mut h).await;
}

#[tokio::test]
async fn a_renewal_falling_due_makes_the_run_full() {
    let flow = FLOW.replace("expiry = 30", "expiry = 7");
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    h.merge(&ips(3, 8, now));
    assert_full(&mut h).await;
    h.advance(Duration::days(2));
    assert_unchanged(&mut h).await;
    // Five days in, two are left: inside the three-day renewal window.
    h.advance(Duration::days(3));
    assert_eq!(assert_full(&mut h).await.updated, 3);
    assert_unchanged(&mut h).await;
}

#[tokio::test]
async fn another_claimant_on_the_list_makes_the_run_full() {
    let mut h = Harness::new(FLOW).await;
    let now = h.now;
    h.merge(&ips(3, 8, now));
    assert_full(&mut h).await;
    assert_unchanged(&mut h).await;
    let space = h.config.workflow("block").unwrap().space();
    h.library
        .ledger_upsert(&[LedgerEntry {
            key: "someone-else".into(),
            space,
            kind: Kind::Domain,
            value: "other.example.com".into(),
            attributes: serde_json::json!({ "key": "domain", "description": "" }),
            remote_id: None,
            pushed_at: now,
        }])
        .unwrap();
    assert_full(&mut h).await;
    assert_unchanged(&mut h).await;
}

#[tokio::test]
async fn a_config_edit_makes_the_run_full() {
    let mut h = Harness::new(FLOW).await;
    let now = h.now;
    h.merge(&ips(3, 8, now));
    assert_full(&mut h).await;
    assert_unchanged(&mut h).await;
    let path = h.dir.path().join("iocsync.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("expiry = 30", "expiry = 15")).unwrap();
    h.config = Config::load(&path).unwrap();
    assert_eq!(assert_full(&mut h).await.updated, 3);
    assert_unchanged(&mut h).await;
}

/// One step of a random history between runs.
#[derive(Debug, Clone)]
enum Step {
    /// A new domain, valid for `Some(hours)` or for ever.
    Merge(u8, Option<u8>),
    /// The first `n` addresses seen again, unchanged.
    Resight(u8),
    /// The source withdraws address `n`.
    Revoke(u8),
    /// A person disables address `n`.
    Disable(u8),
    /// Both clocks move on.
    Advance(u16),
    /// Another claimant claims a value on the workflow's list.
    OtherClaim(u8),
    Run,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..6, prop::option::of(1u8..48)).prop_map(|(n, h)| Step::Merge(n, h)),
        (1u8..4).prop_map(Step::Resight),
        (0u8..4).prop_map(Step::Revoke),
        (0u8..4).prop_map(Step::Disable),
        (1u16..24 * 6).prop_map(Step::Advance),
        (0u8..3).prop_map(Step::OtherClaim),
        Just(Step::Run),
        Just(Step::Run),
        Just(Step::Run),
    ]
}

async fn replay(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let flow = FLOW.replace("expiry = 30", "expiry = 7");
    let mut h = Harness::new(&flow).await;
    let start = h.now;
    let base = ips(4, 8, start);
    h.merge(&base);
    h.run("block").await;
    for step in steps {
        let now = h.now;
        match step {
            Step::Merge(n, hours) => {
                let mut s = sighting(Kind::Domain, &format!("d{n}.example.com"), 6, now);
                s.valid_until = hours.map(|h| now + Duration::hours(i64::from(h)));
                h.merge(&[s]);
            }
            Step::Resight(n) => h.merge(&base[..usize::from(n)]),
            Step::Revoke(n) => {
                h.merge(&revoke(&base[usize::from(n)..=usize::from(n)], now));
            }
            Step::Disable(n) => {
                let value = base[usize::from(n)].value.clone();
                h.library
                    .set_disabled(Kind::Ipv4, &value, true, now)
                    .unwrap();
            }
            Step::Advance(hours) => h.advance(Duration::hours(i64::from(hours))),
            Step::OtherClaim(n) => {
                let space = h.config.workflow("block").unwrap().space();
                h.library
                    .ledger_upsert(&[LedgerEntry {
                        key: "someone-else".into(),
                        space,
                        kind: Kind::Domain,
                        value: format!("other{n}.example.com"),
                        attributes: serde_json::json!({ "key": "domain", "description": "" }),
                        remote_id: None,
                        pushed_at: now,
                    }])
                    .unwrap();
            }
            Step::Run => {
                let report = h.run("block").await;
                if report.unchanged == 1 {
                    // What a full run would have planned at that moment: nothing.
                    let options = engine::RunOptions {
                        now: h.now,
                        manual: false,
                        dry_run: true,
                        verify: false,
                        allow_removals: false,
                        all_skips: false,
                    };
                    let plan = engine::plan_workflow(&h.config, &*h.library, "block", options)
                        .await
                        .unwrap();
                    prop_assert_eq!(
                        plan.changes(),
                        0,
                        "skipped a run whose plan was {:?} / {:?} / {:?}",
                        plan.adds,
                        plan.updates,
                        plan.removals
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_run_recorded_unchanged_would_have_changed_nothing(
        steps in prop::collection::vec(step(), 1..14)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(replay(steps))?;
    }
}
