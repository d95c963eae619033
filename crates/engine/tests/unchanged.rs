//! Unchanged runs over real HTTP against the emulator: a second run of a workflow whose inputs
//! did not change reads no collection, sends no request and is recorded as succeeded with
//! `unchanged: 1`; a merge, an expiry or renewal falling due, another claimant's write on the
//! list or a config edit makes the next run a full one.

#[allow(unused)] // the compliance suite is not instantiated here
mod common;

use chrono::Duration;
use common::{Harness, ips, sighting};
use config::Config;
use engine::keys::WorkflowKeys;
use indicator::Kind;
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
}

impl Unreadable {
    fn new(h: &Harness, value: &'static str) -> Unreadable {
        let conn = rusqlite::Connection::open(&h.config.library).unwrap();
        let n = conn
            .execute(
                "UPDATE indicators SET kind = 'bogus' WHERE value = ?1",
                [value],
            )
            .unwrap();
        assert_eq!(n, 1);
        Unreadable { conn, value }
    }
}

impl Drop for Unreadable {
    fn drop(&mut self) {
        self.conn
            .execute(
                "UPDATE indicators SET kind = 'ipv4' WHERE value = ?1",
                [self.value],
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
