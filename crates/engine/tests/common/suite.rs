//! The one compliance suite every target passes against the emulator. A target file describes
//! its target in a [`Spec`] and instantiates the suite with [`compliance!`]; each check is one
//! `#[tokio::test]`, kept small so the whole suite stays fast:
//! first sync and an unchanged re-run (zero writes); 1% churn (writes bounded by what the
//! changed objects need); removals and expiry; `objects_per_run` in priority order; per-item
//! failures (only the failures are sent again); a 429 storm; 500s; a run stopped between
//! batches by its progress hook; two workflows sharing objects (the last claim removes them);
//! a mass removal held by the brake until released. The killed-process check drives the real binary and lives in
//! `crates/iocsync/tests/sync.rs` (`killed_then_rerun`).

use std::cell::Cell;

use chrono::{DateTime, Duration, Utc};
use emulator::EmulatorConfig;
use emulator::faults::FaultSettings;
use engine::{Progress, RunReport};
use indicator::Kind;
use store::{RunStatus, Sighting};
use testkit::ConfigBuilder;

use super::{Backend, Harness, revoke, sighting};

/// The workflow every check runs.
pub const FLOW: &str = "flow";

/// How one target takes part in the suite.
pub struct Spec {
    /// The configured target (see the harness config).
    pub target: &'static str,
    pub action: &'static str,
    /// Workflow parameters every check uses (inline-table entries).
    pub parameters: &'static str,
    /// The `i`-th distinct value this target takes.
    pub value: fn(u32) -> (Kind, String),
    /// What the target holds now, sorted.
    pub held: fn(&Harness) -> Vec<String>,
    /// Whether a removal is undone on the target (a webhook has no undo: it only forgets).
    pub undoes: bool,
    /// At most how many write requests `adds` new and `removals` gone values take.
    pub writes_for: fn(adds: u64, removals: u64) -> u64,
    /// Steps (items, or parts for Deep Security) after which the stop check asks to stop.
    pub stop_after: u64,
    /// Whether two workflows may claim objects on one list (Deep Security lists are written
    /// whole, so each belongs to one workflow).
    pub shared: bool,
    pub emulator: fn() -> EmulatorConfig,
    /// Whether the emulator's clock moves with the engine's when days pass. Apex Central
    /// refuses a token whose `iat` is off its clock, and the client signs with the wall clock,
    /// so its server keeps the wall clock (its objects expire by the engine's clock anyway).
    pub moves_target_clock: bool,
}

impl Spec {
    fn workflow(&self, extra: &str) -> String {
        let parameters: Vec<&str> = [self.parameters, extra]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        format!(
            "[[workflows]]\nname = \"{FLOW}\"\ncollection = \"all\"\ntarget = \"{}\"\naction = \"{}\"\nparameters = {{ {} }}\n",
            self.target,
            self.action,
            parameters.join(", ")
        )
    }

    async fn harness(&self, backend: Backend, extra: &str) -> Harness {
        Harness::on(backend, (self.emulator)(), &self.workflow(extra)).await
    }

    /// `n` sightings of this target's values, the `i`-th scored `score(i)`.
    fn sightings(&self, n: u32, score: impl Fn(u32) -> u8, now: DateTime<Utc>) -> Vec<Sighting> {
        (0..n)
            .map(|i| {
                let (kind, value) = (self.value)(i);
                sighting(kind, &value, score(i), now)
            })
            .collect()
    }
}

fn sorted(sightings: &[Sighting]) -> Vec<String> {
    let mut values: Vec<String> = sightings.iter().map(|s| s.value.clone()).collect();
    values.sort();
    values
}

fn clean(report: &RunReport) {
    assert!(
        report.failed.is_empty() && report.errors.is_empty() && report.halted.is_none(),
        "{:?} {:?} {:?}",
        report.failed,
        report.errors,
        report.halted
    );
}

/// The target and the ledger both hold exactly `expected`.
fn converged(spec: &Spec, h: &Harness, expected: &[String]) {
    assert_eq!(h.ledger_values(FLOW), expected, "ledger");
    if spec.undoes {
        assert_eq!((spec.held)(h), expected, "target");
    }
}

pub async fn first_sync_then_unchanged_rerun(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(30, |_| 8, h.now);
    h.merge(&all);
    let first = h.run(FLOW).await;
    clean(&first);
    assert_eq!(first.added, 30);
    assert_eq!(first.status(), RunStatus::Succeeded);
    assert_eq!((spec.held)(&h), sorted(&all));
    converged(spec, &h, &sorted(&all));
    assert_eq!(
        first.api_calls,
        first.calls.iter().map(|c| c.count).sum::<u64>()
    );

    let writes = h.writes();
    let again = h.run(FLOW).await;
    assert_eq!(again.plan.changes(), 0);
    assert!(again.plan.parts.is_empty());
    assert_eq!(h.writes(), writes, "an unchanged re-run writes nothing");
}

pub async fn one_percent_churn_writes_only_the_change(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let now = h.now;
    let all = spec.sightings(201, |_| 8, now);
    h.merge(&all[..200]);
    let full = h.run(FLOW).await;
    clean(&full);
    let full_writes = h.writes();

    // 1%: one value leaves, one arrives.
    h.merge(&revoke(&all[..1], now));
    h.merge(&all[200..]);
    let churn = h.run(FLOW).await;
    clean(&churn);
    assert_eq!((churn.added, churn.updated, churn.removed), (1, 0, 1));
    let writes = h.writes() - full_writes;
    assert!(
        writes <= (spec.writes_for)(1, 1),
        "{writes} writes for 1% churn (full sync: {full_writes})"
    );
    converged(spec, &h, &sorted(&all[1..]));
}

pub async fn removals_and_expiry(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let now = h.now;
    let mut all = spec.sightings(20, |_| 8, now);
    for s in &mut all[15..] {
        s.valid_until = Some(now + Duration::days(1));
    }
    h.merge(&all);
    clean(&h.run(FLOW).await);

    h.merge(&revoke(&all[..3], now));
    let revoked = h.run(FLOW).await;
    clean(&revoked);
    assert_eq!(revoked.removed, 3);
    converged(spec, &h, &sorted(&all[3..]));

    if spec.moves_target_clock {
        h.advance(Duration::days(2));
    } else {
        h.now += Duration::days(2);
    }
    let expired = h.run(FLOW).await;
    clean(&expired);
    assert_eq!(expired.removed, 5, "expired values leave the target");
    converged(spec, &h, &sorted(&all[3..15]));
}

pub async fn objects_per_run_go_in_priority_order(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "objects_per_run = 5").await;
    // The high scores come last in value (address) order.
    let all = spec.sightings(12, |i| if i < 6 { 3 } else { 9 }, h.now);
    h.merge(&all);
    let first = h.run(FLOW).await;
    clean(&first);
    assert_eq!((first.added, first.deferred), (5, 7));
    let high = sorted(&all[6..]);
    let ledger = h.ledger_values(FLOW);
    assert!(
        ledger.iter().all(|v| high.contains(v)),
        "highest scores first: {ledger:?}"
    );
    assert_eq!(h.run(FLOW).await.added, 5);
    assert!(high.iter().all(|v| h.ledger_values(FLOW).contains(v)));
    let last = h.run(FLOW).await;
    assert_eq!((last.added, last.deferred), (2, 0));
    converged(spec, &h, &sorted(&all));
}

pub async fn per_item_failures_are_retried_alone(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(40, |_| 8, h.now);
    h.merge(&all);
    let values: Vec<String> = all.iter().map(|s| s.value.clone()).collect();
    h.emulator.emulator().set_faults(reject_two(&values));
    let first = h.run(FLOW).await;
    assert_eq!(first.status(), RunStatus::Partial, "{:?}", first.halted);
    assert!(
        first.added > 0 && first.added < 40,
        "{} of 40 added",
        first.added
    );
    // Every value not added is a failed item with the target's answer (a Deep Security part
    // written whole fails each value in it).
    assert_eq!(first.added + first.failed.len(), 40, "{:?}", first.failed);
    assert!(first.failed.iter().all(|f| !f.message.is_empty()));
    assert_eq!(h.ledger_values(FLOW).len(), first.added);

    h.emulator.emulator().set_faults(FaultSettings::default());
    let writes = h.writes();
    let rerun = h.run(FLOW).await;
    clean(&rerun);
    let missing = 40 - first.added;
    assert_eq!(rerun.added, missing, "only the failures are sent again");
    assert!(h.writes() - writes <= (spec.writes_for)(missing as u64, 0));
    converged(spec, &h, &sorted(&all));
}

pub async fn rate_limit_storms_pause_and_converge(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(12, |_| 8, h.now);
    h.merge(&all);
    h.emulator.emulator().set_faults(FaultSettings {
        burst_429: 2,
        retry_after_seconds: 0,
        ..FaultSettings::default()
    });
    let stormy = h.run(FLOW).await;
    clean(&stormy);
    assert_eq!(stormy.added, 12);
    assert!(stormy.rate_limit_pauses >= 1, "{stormy:?}");
    let refused: u64 = stormy
        .calls
        .iter()
        .filter(|c| c.status == Some(429))
        .map(|c| c.count)
        .sum();
    assert_eq!(refused, 2);
    converged(spec, &h, &sorted(&all));
}

pub async fn server_errors_are_retried_and_converge(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(8, |_| 8, h.now);
    h.merge(&all);
    h.emulator.emulator().set_faults(FaultSettings {
        burst_500: 2,
        ..FaultSettings::default()
    });
    let flaky = h.run(FLOW).await;
    clean(&flaky);
    assert_eq!(flaky.added, 8);
    assert_eq!(h.answered("500"), 2);
    assert_eq!(flaky.retries, 2);
    converged(spec, &h, &sorted(&all));
}

/// Two workflows on one list: `FLOW` takes values not tagged `flow-off`, `OTHER` every value.
fn two_workflows(spec: &Spec) -> String {
    let one = spec
        .workflow("")
        .replace("collection = \"all\"", "collection = \"high\"");
    let other = spec.workflow("").replace(
        &format!("name = \"{FLOW}\""),
        &format!("name = \"{OTHER}\""),
    );
    format!("[[collections]]\nname = \"high\"\ntags_none = [\"flow-off\"]\n{one}{other}")
}

/// The second workflow of the claims check.
pub const OTHER: &str = "other";

pub async fn shared_objects_stay_until_their_last_claim_goes(spec: &Spec, backend: Backend) {
    if !spec.shared {
        let text = ConfigBuilder::new("l.db")
            .deep_security(spec.target, "http://127.0.0.1:1/api", "env:K")
            .raw(&two_workflows(spec))
            .toml();
        let error = config::Config::from_toml(&text).unwrap_err().to_string();
        assert!(error.contains("already written by workflow"), "{error}");
        return;
    }
    let mut h = Harness::on(backend, (spec.emulator)(), &two_workflows(spec)).await;
    let all = spec.sightings(20, |_| 8, h.now);
    h.merge(&all);
    clean(&h.run(FLOW).await);
    let writes = h.writes();
    let joined = h.run(OTHER).await;
    clean(&joined);
    assert_eq!((joined.added, joined.joined), (0, 20), "{:?}", joined.plan);
    assert_eq!(h.writes(), writes, "the second claimant writes nothing");
    // FLOW's collection shrinks by five: it lets go of them without a write.
    let lowered: Vec<Sighting> = all[..5]
        .iter()
        .map(|s| Sighting {
            tags: vec!["flow-off".into()],
            ..s.clone()
        })
        .collect();
    h.merge(&lowered);
    let released = h.run(FLOW).await;
    clean(&released);
    assert_eq!(
        (released.removed, released.released),
        (0, 5),
        "{:?}",
        released.plan
    );
    assert_eq!(h.writes(), writes);
    assert_eq!((spec.held)(&h), sorted(&all), "kept for the other workflow");
    assert_eq!(
        h.run(OTHER).await.plan.changes(),
        0,
        "its ledger still matches"
    );
    // They leave OTHER's collection too: the last claim goes, the objects go.
    h.merge(&revoke(&all[..5], h.now));
    let gone = h.run(OTHER).await;
    clean(&gone);
    assert_eq!(gone.removed, 5);
    if spec.undoes {
        assert_eq!((spec.held)(&h), sorted(&all[5..]));
    }
    assert_eq!(h.ledger_values(OTHER), sorted(&all[5..]));
}

pub async fn a_mass_removal_is_held_until_released(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(120, |_| 8, h.now);
    h.merge(&all);
    clean(&h.run(FLOW).await);
    let writes = h.writes();
    h.merge(&revoke(&all[..110], h.now));
    let held = h.run(FLOW).await;
    assert_eq!(held.status(), RunStatus::Held);
    assert_eq!((held.held, held.removed), (110, 0));
    assert_eq!(h.writes(), writes, "nothing sent");
    converged(spec, &h, &sorted(&all));
    h.allow_removals = true;
    let released = h.run(FLOW).await;
    clean(&released);
    assert_eq!(released.removed, 110);
    converged(spec, &h, &sorted(&all[110..]));
}

/// Asks the run to stop once `after` steps are done.
struct StopAfter {
    done: Cell<u64>,
    after: u64,
}

impl Progress for StopAfter {
    fn start(&self, _total: u64) {}
    fn advance(&self, steps: u64) {
        self.done.set(self.done.get() + steps);
    }
    fn cancelled(&self) -> bool {
        self.done.get() >= self.after
    }
}

pub async fn a_stop_request_ends_the_run_between_batches(spec: &Spec, backend: Backend) {
    let mut h = spec.harness(backend, "").await;
    let all = spec.sightings(30, |_| 8, h.now);
    h.merge(&all);
    let stop = StopAfter {
        done: Cell::new(0),
        after: spec.stop_after,
    };
    let stopped = h.run_watched(FLOW, false, false, &stop).await;
    assert_eq!(stopped.halted.as_deref(), Some(engine::STOPPED));
    assert_eq!(stopped.status(), RunStatus::Failed);
    assert!(stopped.added > 0 && stopped.added < 30, "{}", stopped.added);
    // What was confirmed is recorded: the ledger and the target agree.
    let ledger = h.ledger_values(FLOW);
    assert_eq!(ledger.len(), stopped.added);
    assert_eq!((spec.held)(&h), ledger);
    let run = &h.library.runs(1).unwrap()[0];
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.errors.iter().any(|e| e.contains(engine::STOPPED)));

    let rest = h.run(FLOW).await;
    clean(&rest);
    assert_eq!(rest.added, 30 - stopped.added);
    converged(spec, &h, &sorted(&all));
}

/// Instantiates the suite for one target, once per backend: `compliance!(SPEC);` makes the
/// modules `sqlite` and `postgres` (skipped, saying why, where PostgreSQL is absent and not
/// required).
macro_rules! compliance {
    ($spec:expr) => {
        mod sqlite {
            use super::*;
            common::suite::checks!($spec, Some(common::Backend::Sqlite));
        }
        mod postgres {
            use super::*;
            common::suite::checks!($spec, common::Backend::postgres());
        }
    };
}

/// Every check of the suite for `$spec` on the backend `$backend` (an `Option<Backend>`).
macro_rules! checks {
    ($spec:expr, $backend:expr) => {
        #[tokio::test]
        async fn first_sync_then_unchanged_rerun() {
            let Some(backend) = $backend else { return };
            common::suite::first_sync_then_unchanged_rerun(&$spec, backend).await;
        }
        #[tokio::test]
        async fn one_percent_churn_writes_only_the_change() {
            let Some(backend) = $backend else { return };
            common::suite::one_percent_churn_writes_only_the_change(&$spec, backend).await;
        }
        #[tokio::test]
        async fn removals_and_expiry() {
            let Some(backend) = $backend else { return };
            common::suite::removals_and_expiry(&$spec, backend).await;
        }
        #[tokio::test]
        async fn objects_per_run_go_in_priority_order() {
            let Some(backend) = $backend else { return };
            common::suite::objects_per_run_go_in_priority_order(&$spec, backend).await;
        }
        #[tokio::test]
        async fn per_item_failures_are_retried_alone() {
            let Some(backend) = $backend else { return };
            common::suite::per_item_failures_are_retried_alone(&$spec, backend).await;
        }
        #[tokio::test]
        async fn rate_limit_storms_pause_and_converge() {
            let Some(backend) = $backend else { return };
            common::suite::rate_limit_storms_pause_and_converge(&$spec, backend).await;
        }
        #[tokio::test]
        async fn server_errors_are_retried_and_converge() {
            let Some(backend) = $backend else { return };
            common::suite::server_errors_are_retried_and_converge(&$spec, backend).await;
        }
        #[tokio::test]
        async fn a_stop_request_ends_the_run_between_batches() {
            let Some(backend) = $backend else { return };
            common::suite::a_stop_request_ends_the_run_between_batches(&$spec, backend).await;
        }
        #[tokio::test]
        async fn shared_objects_stay_until_their_last_claim_goes() {
            let Some(backend) = $backend else { return };
            common::suite::shared_objects_stay_until_their_last_claim_goes(&$spec, backend).await;
        }
        #[tokio::test]
        async fn a_mass_removal_is_held_until_released() {
            let Some(backend) = $backend else { return };
            common::suite::a_mass_removal_is_held_until_released(&$spec, backend).await;
        }
    };
}
pub(crate) use checks;
pub(crate) use compliance;

/// The `i`-th public IPv4 address, spaced so that no two aggregate.
pub fn ip(i: u32) -> (Kind, String) {
    let addr = std::net::Ipv4Addr::from(0x2D00_0000 + i * 3);
    (Kind::Ipv4, addr.to_string())
}

/// IPv4 addresses and domains, alternately.
pub fn ip_or_domain(i: u32) -> (Kind, String) {
    if i % 2 == 0 {
        ip(i)
    } else {
        (Kind::Domain, format!("d{i:04}.example.com"))
    }
}

/// Faults refusing two of `values` on every call that carries them (quoted, so `45.0.0.3`
/// does not also refuse `45.0.0.30`): one XDR or webhook call each, the Vision One batch or
/// the Deep Security part holding them.
fn reject_two(values: &[String]) -> FaultSettings {
    FaultSettings {
        reject_values: [&values[1], &values[6]]
            .map(|v| format!("\"{v}\""))
            .to_vec(),
        ..FaultSettings::default()
    }
}
