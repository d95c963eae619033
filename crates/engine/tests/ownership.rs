//! Ownership against the emulator over real HTTP: claims shared by workflows, one-off blocks and
//! triggers (in every order of arrival and departure), objects iocsync did not create, the
//! removal brake, orphans of a lost ledger, drift repaired by `--verify`, foreign Deep
//! Security lists, and one capacity budget per Vision One list. Each test asks what happens to
//! a colleague's object next to ours.

#[allow(unused)]
mod common;

use std::sync::Mutex;

use chrono::Duration;
use common::{Harness, console_add, console_delete, ips, object, revoke, sighting};
use emulator::EmulatorConfig;
use emulator::config::{Limits, TaskSettings};
use engine::oneoff::{self, Mode};
use engine::trigger::{ArmedTrigger, Outcome, map_alert};
use indicator::Kind;
use serde_json::json;
use store::{Library, RunStatus, Sighting};
use testkit::ConfigBuilder;

const TOKEN: &str = "ownership-trigger-token";

/// Two workflows on one Vision One target: `a` (log, low) takes scores ≥ 7, `b` (block, high)
/// takes every score; trigger `siem` blocks on the same list with a one-hour TTL.
fn config(token_file: &std::path::Path) -> String {
    format!(
        r#"
[[collections]]
name = "high"
min_score = 7

[[workflows]]
name = "a"
collection = "high"
target = "v1"
action = "blocklist"
parameters = {{ scan_action = "log", risk_level = "low" }}

[[collections]]
name = "not-off"
tags_none = ["b-off"]

[[workflows]]
name = "b"
collection = "not-off"
target = "v1"
action = "blocklist"
parameters = {{ scan_action = "block", risk_level = "high" }}

[[triggers]]
name = "siem"
target = "v1"
action = "blocklist"
token = "file:{token}"
ttl = "1h"
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "alert.ip"
"#,
        token = token_file.display()
    )
}

async fn harness() -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let settings = EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    };
    let h = Harness::with_emulator(settings, &config(&token)).await;
    (dir, h)
}

/// The emulator's object for `value`, if any.
fn action(h: &Harness, value: &str) -> Option<String> {
    object(h, value).map(|o| {
        serde_json::to_value(o.scan_action)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    })
}

fn scored(value: &str, score: u8, h: &Harness) -> Sighting {
    sighting(Kind::Ipv4, value, score, h.now)
}

#[tokio::test]
async fn two_workflows_on_one_target_keep_each_others_objects() {
    let (_dir, mut h) = harness().await;
    let all: Vec<Sighting> = (0..20)
        .map(|i| scored(&format!("45.10.0.{i}"), 8, &h))
        .collect();
    h.merge(&all);
    let a = h.run("a").await;
    assert_eq!(a.added, 20);
    assert_eq!(action(&h, "45.10.0.0").as_deref(), Some("log"));
    // b wants the same objects, stronger: it writes them (block) but adds none.
    let b = h.run("b").await;
    assert_eq!((b.added, b.updated), (0, 20), "{:?}", b.plan);
    assert_eq!(action(&h, "45.10.0.0").as_deref(), Some("block"));
    assert_eq!(h.suspicious().len(), 20);

    // a's collection shrinks by five: they stay on the target for b, untouched.
    let lowered: Vec<Sighting> = all[..5]
        .iter()
        .map(|s| Sighting {
            score: Some(3),
            ..s.clone()
        })
        .collect();
    h.merge(&lowered);
    let writes = h.writes();
    let shrunk = h.run("a").await;
    assert_eq!(
        (shrunk.removed, shrunk.released),
        (0, 5),
        "{:?}",
        shrunk.plan
    );
    assert_eq!(h.writes(), writes, "a released its claims without a write");
    assert_eq!(h.suspicious().len(), 20);
    assert_eq!(action(&h, "45.10.0.0").as_deref(), Some("block"));
    // b's plan is empty: its ledger and the target agree.
    let b_plan = h.run("b").await;
    assert_eq!(b_plan.plan.changes(), 0, "{:?}", b_plan.plan);

    // b leaves five values a still wants: the objects fall back to a's attributes (log, low).
    let off: Vec<Sighting> = all[15..]
        .iter()
        .map(|s| Sighting {
            tags: vec!["b-off".into()],
            ..s.clone()
        })
        .collect();
    h.merge(&off);
    let b_leaves = h.run("b").await;
    assert_eq!((b_leaves.removed, b_leaves.released), (0, 5));
    assert_eq!(action(&h, "45.10.0.15").as_deref(), Some("log"));
    assert_eq!(h.suspicious().len(), 20);
    assert_eq!(
        h.run("a").await.plan.changes(),
        0,
        "a's ledger still matches"
    );

    // The first five leave every collection: b holds the last claim and removes them.
    h.merge(&revoke(&all[..5], h.now));
    assert_eq!(
        h.run("a").await.plan.changes(),
        0,
        "a released them already"
    );
    let gone = h.run("b").await;
    assert_eq!(gone.removed, 5);
    for i in 0..5 {
        assert!(object(&h, &format!("45.10.0.{i}")).is_none());
    }
    assert_eq!(h.suspicious().len(), 15);
}

/// A claimant in the every-order test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    /// Workflow `a` (log, low): source `feed-a` scores the value 8 (collection `high`).
    Workflow,
    /// Workflow `b` (block, high): source `feed-b` scores it 3 (collection `not-off`).
    Other,
    /// `iocsync block` (block, high).
    Manual,
    /// Trigger `siem` (block, high, TTL).
    Trigger,
}

/// Every order of three claimants.
fn orders(everyone: [Who; 3]) -> Vec<[Who; 3]> {
    let mut out = Vec::new();
    for a in everyone {
        for b in everyone {
            for c in everyone {
                if a != b && b != c && a != c {
                    out.push([a, b, c]);
                }
            }
        }
    }
    out
}

fn vote(h: &Harness, value: &str, source: &str, score: u8) -> Sighting {
    Sighting {
        source: source.into(),
        ..scored(value, score, h)
    }
}

struct Actors {
    shared: Mutex<Library>,
    trigger: ArmedTrigger,
}

async fn arrive(h: &mut Harness, actors: &Actors, who: Who, value: &str) {
    match who {
        Who::Workflow | Who::Other => {
            let (flow, sighting) = match who {
                Who::Workflow => ("a", vote(h, value, "feed-a", 8)),
                _ => ("b", vote(h, value, "feed-b", 3)),
            };
            h.merge(&[sighting]);
            let report = h.run(flow).await;
            assert!(
                report.failed.is_empty() && report.halted.is_none(),
                "{report:?}"
            );
        }
        Who::Manual => {
            let report = oneoff::block(
                &h.config,
                &actors.shared,
                "v1",
                false,
                &[value.to_owned()],
                Mode::Block,
                h.now,
            )
            .await
            .unwrap();
            assert_eq!(report.applied, [value], "{report:?}");
        }
        Who::Trigger => {
            let alert = json!({ "alert": { "ip": value } });
            let mapped = map_alert(&actors.trigger.trigger, &alert);
            let report = actors
                .trigger
                .fire(&actors.shared, &mapped, h.now)
                .await
                .unwrap();
            assert!(
                matches!(report.values[0].outcome, Outcome::Blocked { .. }),
                "{report:?}"
            );
        }
    }
}

async fn depart(h: &mut Harness, actors: &Actors, who: Who, value: &str) {
    match who {
        Who::Workflow | Who::Other => {
            let (flow, sightings) = match who {
                // feed-a withdraws its vote: the value leaves `high`.
                Who::Workflow => ("a", revoke(&[vote(h, value, "feed-a", 8)], h.now)),
                // feed-b tags it `b-off`: the value leaves `not-off`.
                _ => (
                    "b",
                    vec![Sighting {
                        tags: vec!["b-off".into()],
                        ..vote(h, value, "feed-b", 3)
                    }],
                ),
            };
            h.merge(&sightings);
            let report = h.run(flow).await;
            assert!(
                report.failed.is_empty() && report.halted.is_none(),
                "{report:?}"
            );
        }
        Who::Manual => {
            let report = oneoff::block(
                &h.config,
                &actors.shared,
                "v1",
                false,
                &[value.to_owned()],
                Mode::Unblock,
                h.now,
            )
            .await
            .unwrap();
            assert_eq!(report.applied, [value], "{report:?}");
        }
        Who::Trigger => {
            // The TTL passes: the daemon's lift.
            let report = actors
                .trigger
                .lift_due(&actors.shared, h.now + Duration::hours(2))
                .await
                .unwrap()
                .expect("the trigger's block is due");
            assert!(
                report.values.iter().all(|v| v.outcome == Outcome::Lifted),
                "{report:?}"
            );
        }
    }
}

/// What the target must hold for `value` when `holding` claim it: nothing without a claim;
/// block as soon as a blocking claim holds it, the workflow's log otherwise.
fn check(h: &Harness, value: &str, holding: &[Who], step: &str) {
    let found = action(h, value);
    match holding {
        [] => assert_eq!(
            found, None,
            "{step}: no claim left, the object must be gone"
        ),
        [Who::Workflow] => assert_eq!(found.as_deref(), Some("log"), "{step}"),
        _ => assert_eq!(found.as_deref(), Some("block"), "{step}"),
    }
    let description = object(h, value).and_then(|o| o.description);
    if let Some(description) = description {
        assert!(
            description.starts_with("[iocsync:"),
            "{step}: {description}"
        );
    }
}

#[tokio::test]
async fn two_workflows_and_a_trigger_share_one_value_in_every_order() {
    every_order([Who::Workflow, Who::Other, Who::Trigger], 21).await;
}

#[tokio::test]
async fn a_workflow_a_block_and_a_trigger_share_one_value_in_every_order() {
    every_order([Who::Workflow, Who::Manual, Who::Trigger], 22).await;
}

/// Every order of arrival and departure of `everyone` on one value each (36 sequences).
async fn every_order(everyone: [Who; 3], net: u8) {
    let (_dir, mut h) = harness().await;
    let actors = Actors {
        shared: Mutex::new(h.config.library.open().unwrap()),
        trigger: ArmedTrigger::new(&h.config, h.config.trigger("siem").unwrap()).unwrap(),
    };
    for (n, (arrivals, departures)) in orders(everyone)
        .into_iter()
        .flat_map(|a| orders(everyone).into_iter().map(move |d| (a, d)))
        .enumerate()
    {
        let value = format!("45.{net}.{}.{}", n / 250, n % 250 + 1);
        let mut holding = Vec::new();
        for who in arrivals {
            arrive(&mut h, &actors, who, &value).await;
            holding.push(who);
            check(
                &h,
                &value,
                &holding,
                &format!("{arrivals:?} arrive, after {who:?}"),
            );
        }
        for who in departures {
            depart(&mut h, &actors, who, &value).await;
            holding.retain(|w| *w != who);
            check(
                &h,
                &value,
                &holding,
                &format!("{arrivals:?} then {departures:?} depart, after {who:?}"),
            );
        }
        let claims = h.library.space_claims("v1#suspicious").unwrap();
        assert!(
            claims.iter().all(|c| c.value != value),
            "no claim is left behind: {claims:?}"
        );
    }
}

#[tokio::test]
async fn an_analysts_object_survives_add_shrink_and_verify_untouched() {
    let (_dir, mut h) = harness().await;
    // An analyst's permanent block, with her own description and a log action.
    console_add(
        &h,
        json!([{ "ip": "45.30.0.1", "description": "Ann: keep, case 4711", "scanAction": "log",
                 "riskLevel": "low", "daysToExpiration": -1 }]),
    )
    .await;
    let analysts = |h: &Harness| object(h, "45.30.0.1").unwrap();
    let before = analysts(&h);
    let ours = [scored("45.30.0.1", 9, &h), scored("45.30.0.2", 9, &h)];
    h.merge(&ours);
    let first = h.run("b").await;
    assert_eq!(first.added, 1, "{:?}", first.plan);
    let skip = first
        .plan
        .skips
        .iter()
        .find(|s| s.value == "45.30.0.1")
        .unwrap();
    assert!(
        skip.reason.contains("not created by iocsync"),
        "{}",
        skip.reason
    );
    let after_add = h.emulator.emulator().snapshot();
    let same = |o: &emulator::vision_one::model::SuspiciousObject| {
        (
            o.description.clone(),
            o.scan_action,
            o.risk_level,
            o.expires,
            o.last_modified,
        )
    };
    let untouched = after_add
        .suspicious_objects
        .iter()
        .find(|o| o.value == "45.30.0.1")
        .unwrap();
    assert_eq!(same(untouched), same(&before), "never rewritten");
    assert_eq!(untouched.expires, None, "still permanent");
    // The collection drops both: only ours goes.
    h.merge(&revoke(&ours, h.now));
    let shrink = h.run("b").await;
    assert_eq!(shrink.removed, 1);
    assert_eq!(same(&analysts(&h)), same(&before));
    // A verify sees it, notes it, and leaves it alone.
    let verify = h.run_with("b", false, true).await;
    assert_eq!(verify.plan.changes(), 0, "{:?}", verify.plan);
    assert!(
        verify
            .notes
            .iter()
            .any(|n| n.contains("not iocsync") && n.contains("left alone")),
        "{:?}",
        verify.notes
    );
    assert_eq!(same(&analysts(&h)), same(&before));
    assert!(object(&h, "45.30.0.2").is_none());
}

#[tokio::test]
async fn adopt_existing_takes_an_object_over_and_later_removes_it() {
    let flow = r#"
[[workflows]]
name = "take"
collection = "all"
target = "v1"
action = "blocklist"
adopt_existing = true
"#;
    let mut h = Harness::new(flow).await;
    console_add(
        &h,
        json!([{ "ip": "45.31.0.1", "description": "old tool", "daysToExpiration": -1 }]),
    )
    .await;
    h.merge(&[scored("45.31.0.1", 9, &h)]);
    let run = h.run("take").await;
    assert_eq!((run.added, run.updated), (0, 1), "{:?}", run.plan);
    let taken = object(&h, "45.31.0.1").unwrap();
    assert!(taken.description.unwrap().starts_with("[iocsync:"));
    let ledger = h.library.ledger("v1/take").unwrap();
    assert_eq!(ledger[0].attributes["adopted"], true);
    h.merge(&revoke(&[scored("45.31.0.1", 9, &h)], h.now));
    assert_eq!(h.run("take").await.removed, 1);
    assert!(object(&h, "45.31.0.1").is_none());
}

#[tokio::test]
async fn a_mass_removal_is_held_then_released_on_purpose() {
    let (_dir, mut h) = harness().await;
    let all = ips(300, 8, h.now);
    h.merge(&all);
    assert_eq!(h.run("b").await.added, 300);
    // A typo in a collection, a feed that aged out: 200 of 300 leave at once.
    h.merge(&revoke(&all[..200], h.now));
    h.merge(&[scored("45.40.0.1", 9, &h)]);
    let held = h.run("b").await;
    assert_eq!(held.status(), RunStatus::Held);
    assert_eq!((held.added, held.removed, held.held), (1, 0, 200));
    assert!(held.plan.brake.as_deref().unwrap().contains("max_removals"));
    assert_eq!(h.suspicious().len(), 301, "nothing removed, the add went");
    let run = &h.library.runs(1).unwrap()[0];
    assert_eq!(run.status, RunStatus::Held);
    assert_eq!(run.counts["held"], 200);
    assert!(
        run.errors.iter().any(|e| e.contains("held 200 removals")),
        "{:?}",
        run.errors
    );
    // The daemon's next run holds them again (it never releases by itself).
    assert_eq!(h.run("b").await.held, 200);
    // A person looked at the plan and releases them once.
    h.allow_removals = true;
    let released = h.run("b").await;
    assert_eq!(
        (released.status(), released.removed),
        (RunStatus::Succeeded, 200)
    );
    assert_eq!(h.suspicious().len(), 101);
}

#[tokio::test]
async fn removing_every_object_is_held_even_under_the_limit() {
    let (_dir, mut h) = harness().await;
    let all = ips(20, 8, h.now);
    h.merge(&all);
    h.run("b").await;
    h.merge(&revoke(&all, h.now));
    let held = h.run("b").await;
    assert_eq!(
        (held.status(), held.held, held.removed),
        (RunStatus::Held, 20, 0)
    );
    assert!(held.plan.brake.unwrap().contains("every one of the 20"));
    assert_eq!(h.suspicious().len(), 20);
}

#[tokio::test]
async fn verify_repairs_expiry_drift_and_restores_deleted_objects() {
    let (_dir, mut h) = harness().await;
    h.merge(&ips(3, 8, h.now));
    h.run("b").await;
    let value = "11.0.0.0";
    let pushed = object(&h, value).unwrap();
    // A console user shortens one object's expiry to a day, deletes another.
    console_add(
        &h,
        json!([{ "ip": value, "description": pushed.description.clone().unwrap(),
                 "scanAction": "block", "riskLevel": "high", "daysToExpiration": 1 }]),
    )
    .await;
    console_delete(&h, "11.0.0.3").await;
    assert!(object(&h, value).unwrap().expires < pushed.expires);
    // A plain run trusts its ledger; a verify reads the list and repairs both.
    assert_eq!(h.run("b").await.plan.changes(), 0);
    let verify = h.run_with("b", false, true).await;
    assert_eq!((verify.added, verify.updated), (1, 1), "{:?}", verify.plan);
    let repaired = object(&h, value).unwrap().expires.unwrap();
    assert!(
        (repaired - pushed.expires.unwrap()).abs() <= 60,
        "the 30 days asked for, again (give or take the seconds since)"
    );
    assert!(object(&h, "11.0.0.3").is_some());
    assert_eq!(h.run_with("b", false, true).await.plan.changes(), 0);
}

#[tokio::test]
async fn orphans_of_a_lost_ledger_are_found_taken_back_or_removed_by_verify() {
    let (_dir, mut h) = harness().await;
    let all = ips(40, 8, h.now);
    h.merge(&all);
    h.run("b").await;
    // The ledger loses 20 rows (a backup restored from before they were pushed).
    let lost: Vec<(Kind, String)> = all[..20]
        .iter()
        .map(|s| (Kind::Ipv4, s.value.clone()))
        .collect();
    h.library.ledger_remove("v1/b", &lost).unwrap();
    // Ten of them are still wanted, ten have left the collection since.
    h.merge(&revoke(&all[10..20], h.now));
    // Without a read-back the ten unwanted orphans stay on the target for ever...
    let plain = h.run("b").await;
    assert_eq!(plain.removed, 0);
    // ...but the ten wanted ones were looked up before being added, found with this
    // library's marker and taken back without a write.
    assert_eq!((plain.added, plain.joined), (0, 10), "{:?}", plain.plan);
    assert_eq!(h.suspicious().len(), 40);
    // A verify finds the ten unwanted orphans and removes them (within the brake).
    let verify = h.run_with("b", false, true).await;
    assert_eq!(verify.removed, 10, "{:?}", verify.plan);
    assert!(
        verify
            .plan
            .removals
            .iter()
            .all(|c| c.reason.contains("orphan"))
    );
    assert_eq!(h.suspicious().len(), 30);
    assert_eq!(h.ledger_values("b").len(), 30);
    // An analyst's object on the same list is not an orphan.
    console_add(&h, json!([{ "ip": "45.50.0.1", "description": "Ann" }])).await;
    assert_eq!(h.run_with("b", false, true).await.removed, 0);
    assert!(object(&h, "45.50.0.1").is_some());
}

#[tokio::test]
async fn a_new_library_leaves_the_old_ones_objects_until_adopted() {
    let (_dir, mut h) = harness().await;
    let all = ips(30, 8, h.now);
    h.merge(&all);
    h.run("b").await;
    let old_id = h.library.library_id().unwrap();
    // The library file is lost; a new one (another id) is made with --init-library.
    drop(std::mem::replace(
        &mut h.library,
        Library::open(h.dir.path().join("new.db")).unwrap(),
    ));
    h.config.library = config::LibraryLocation::File(h.dir.path().join("new.db"));
    h.merge(&all[..20]);
    // The new library sees the old one's objects as another iocsync's: left alone.
    let verify = h.run_with("b", false, true).await;
    assert_eq!((verify.added, verify.removed), (0, 0), "{:?}", verify.plan);
    assert!(
        verify
            .notes
            .iter()
            .any(|n| n.contains(&old_id) && n.contains("iocsync adopt b")),
        "{:?}",
        verify.notes
    );
    assert!(
        verify
            .plan
            .skips
            .iter()
            .all(|s| s.reason.contains("another iocsync library"))
    );
    // `adopt --from-library` rebuilds the ledger; the next run keeps what it wants (rewritten
    // with the new marker) and removes the rest.
    let adopted =
        engine::adopt::adopt(&h.config, &mut *h.library, "b", Some(&old_id), false, h.now)
            .await
            .unwrap();
    assert_eq!(adopted.adopted, 30);
    let next = h.run("b").await;
    assert_eq!((next.updated, next.removed), (20, 10), "{:?}", next.plan);
    let new_id = h.library.library_id().unwrap();
    assert!(
        object(&h, &all[0].value)
            .unwrap()
            .description
            .unwrap()
            .starts_with(&format!("[iocsync:{new_id}]"))
    );
    assert_eq!(h.suspicious().len(), 20);
}

/// A Vision One list of 30 objects per type (the emulator evicts past it, as Vision One does),
/// a workflow `w` and a trigger `t` (TTL one hour) on it, 5 kept free for one-off blocks.
async fn small_list(when_full: &str) -> (tempfile::TempDir, Harness) {
    small_list_in_batches(when_full, 1000).await
}

/// [`small_list`] written `batch` objects per request, two requests at once.
async fn small_list_in_batches(when_full: &str, batch: i64) -> (tempfile::TempDir, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let text = ConfigBuilder::fragment()
        .vision_one("small", "@V1@", "file:@KEY@")
        .set("batch_size", batch)
        .set("max_concurrency", 2)
        .set("capacity_per_type", 30)
        .set("reserve_per_type", 5)
        .set("when_full", when_full)
        .workflow("w", "small", "blocklist")
        .trigger("t", "small", "blocklist")
        .set("token", testkit::file_ref(&token))
        .set("ttl", "1h")
        .set("values", vec!["$SrcIP"])
        .field("SrcIP", "alert.ip")
        .toml();
    let settings = EmulatorConfig {
        limits: Limits {
            suspicious_objects_per_type: 30,
            ..Limits::default()
        },
        ..EmulatorConfig::default()
    };
    (dir, Harness::with_emulator(settings, &text).await)
}

async fn fire(
    h: &Harness,
    shared: &Mutex<Library>,
    trigger: &ArmedTrigger,
    value: &str,
) -> Outcome {
    let mapped = map_alert(&trigger.trigger, &json!({ "alert": { "ip": value } }));
    let report = trigger.fire(shared, &mapped, h.now).await.unwrap();
    report.values[0].outcome.clone()
}

#[tokio::test]
async fn trigger_blocks_make_room_deliberately_and_workflow_objects_come_back() {
    let (_dir, mut h) = small_list("displace").await;
    let all = ips(40, 8, h.now);
    h.merge(&all);
    let first = h.run("w").await;
    assert_eq!(first.added, 25, "30 per type, 5 kept free");
    let cut = first
        .plan
        .skips
        .iter()
        .filter(|s| s.reason.contains("no room"))
        .count();
    assert_eq!(cut, 15);
    let shared = Mutex::new(h.config.library.open().unwrap());
    let trigger = ArmedTrigger::new(&h.config, h.config.trigger("t").unwrap()).unwrap();
    // Five trigger blocks fit the reserve.
    for i in 0..5 {
        let outcome = fire(&h, &shared, &trigger, &format!("45.60.0.{i}")).await;
        assert!(matches!(outcome, Outcome::Blocked { .. }), "{outcome:?}");
    }
    assert_eq!(h.suspicious().len(), 30);
    // The sixth makes room: the workflow's lowest-ranked object goes, deliberately.
    let last_ranked = first
        .plan
        .adds
        .iter()
        .find(|c| c.attributes.object().unwrap().rank == Some(24))
        .unwrap()
        .value
        .clone();
    assert!(h.suspicious().contains(&last_ranked));
    let outcome = fire(&h, &shared, &trigger, "45.60.0.5").await;
    assert!(matches!(outcome, Outcome::Blocked { .. }), "{outcome:?}");
    let held = h.suspicious();
    assert_eq!(
        held.len(),
        30,
        "never past the capacity: the product evicts nothing"
    );
    assert!(held.contains(&"45.60.0.5".to_owned()));
    assert!(
        !held.contains(&last_ranked),
        "the lowest-ranked workflow object made room"
    );
    assert!(!h.ledger_values("w").contains(&last_ranked));
    // Every block reported is on the list.
    for i in 0..6 {
        assert!(held.contains(&format!("45.60.0.{i}")));
    }
    // The workflow does not push it back while the trigger holds the room...
    let meanwhile = h.run("w").await;
    assert_eq!(meanwhile.added, 0, "{:?}", meanwhile.plan);
    assert_eq!(h.suspicious().len(), 30);
    // ...and does once the trigger's blocks are lifted.
    let lifted = trigger
        .lift_due(&shared, h.now + Duration::hours(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lifted.values.len(), 6);
    let back = h.run("w").await;
    assert_eq!(back.added, 1);
    assert!(h.suspicious().contains(&last_ranked));
    assert_eq!(h.suspicious().len(), 25);
}

#[tokio::test]
async fn when_full_refuse_answers_capacity_reached() {
    let (_dir, mut h) = small_list("refuse").await;
    h.merge(&ips(40, 8, h.now));
    h.run("w").await;
    let shared = Mutex::new(h.config.library.open().unwrap());
    let trigger = ArmedTrigger::new(&h.config, h.config.trigger("t").unwrap()).unwrap();
    for i in 0..5 {
        fire(&h, &shared, &trigger, &format!("45.61.0.{i}")).await;
    }
    let outcome = fire(&h, &shared, &trigger, "45.61.0.9").await;
    let Outcome::Refused { reason, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("capacity"), "{reason}");
    assert_eq!(h.suspicious().len(), 30);
    assert!(!h.suspicious().contains(&"45.61.0.9".to_owned()));
    assert_eq!(
        h.ledger_values("w").len(),
        25,
        "no workflow object was removed"
    );
}

/// A workflow at its budget while a trigger fires faster than the reserve, with workflow runs
/// and TTL lifts going on at the same time, on two library handles (as in the daemon): no block
/// that was reported is missing from the list, and the list never goes past its capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_a_workflow_at_its_budget_and_a_busy_trigger() {
    soak_at_budget(small_list("displace").await).await;
}

/// The same with one object per request: a run's 25 objects go in 13 windows of two, decided
/// while the one before is on the wire, under four leases the trigger slips in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_at_budget_one_object_per_request_across_leases() {
    soak_at_budget(small_list_in_batches("displace", 1).await).await;
}

async fn soak_at_budget((_dir, mut h): (tempfile::TempDir, Harness)) {
    h.merge(&ips(40, 8, h.now));
    assert_eq!(h.run("w").await.added, 25);
    let shared = std::sync::Arc::new(Mutex::new(h.config.library.open().unwrap()));
    let trigger =
        std::sync::Arc::new(ArmedTrigger::new(&h.config, h.config.trigger("t").unwrap()).unwrap());
    let now = h.now;
    let firing = {
        let (shared, trigger) = (shared.clone(), trigger.clone());
        tokio::spawn(async move {
            let mut reported = Vec::new();
            for i in 0..60u32 {
                // Each alert at its own minute: TTL lifts an hour later free them in order.
                let at = now + Duration::minutes(i64::from(i));
                let value = format!("45.62.{}.{}", i / 200, i % 200 + 1);
                let mapped = map_alert(&trigger.trigger, &json!({ "alert": { "ip": value } }));
                let report = trigger.fire(&shared, &mapped, at).await.unwrap();
                if matches!(report.values[0].outcome, Outcome::Blocked { .. }) {
                    reported.push((value, at));
                }
                if i % 10 == 9 {
                    // The daemon's lift, as if the TTL were ten minutes: blocks older go.
                    trigger
                        .lift_due(&shared, at + Duration::minutes(50))
                        .await
                        .unwrap();
                }
            }
            reported
        })
    };
    for _ in 0..15 {
        let run = h.run("w").await;
        assert!(run.failed.is_empty() && run.halted.is_none(), "{run:?}");
        assert!(h.suspicious().len() <= 30, "past the capacity");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let reported = firing.await.unwrap();
    assert_eq!(
        reported.len(),
        60,
        "every alert was blocked (room made when needed)"
    );
    let held = h.suspicious();
    assert!(held.len() <= 30);
    let claimed = h.library.ledger("small/hook:t").unwrap();
    for entry in &claimed {
        assert!(
            held.contains(&entry.value),
            "{} reported blocked, not on the list",
            entry.value
        );
    }
    // The ledger's claims and the list agree exactly: nothing evicted behind iocsync's back.
    let mut all_claims: Vec<String> = h
        .library
        .space_claims("small#suspicious")
        .unwrap()
        .into_iter()
        .map(|c| c.value)
        .collect();
    all_claims.sort();
    all_claims.dedup();
    assert_eq!(all_claims, held);
}

#[tokio::test]
async fn two_workflows_share_one_budget_per_list() {
    let (_dir, mut h) = small_list("displace").await;
    let extra = r#"
[[collections]]
name = "second"
tags_any = ["second"]

[[workflows]]
name = "w2"
collection = "second"
target = "small"
action = "blocklist"
"#;
    let text = std::fs::read_to_string(h.dir.path().join("iocsync.toml")).unwrap() + extra;
    std::fs::write(h.dir.path().join("iocsync.toml"), text).unwrap();
    h.config = config::Config::load(&h.dir.path().join("iocsync.toml")).unwrap();
    h.merge(&ips(20, 8, h.now));
    let second: Vec<Sighting> = (0..20)
        .map(|i| Sighting {
            tags: vec!["second".into()],
            ..scored(&format!("45.70.0.{i}"), 8, &h)
        })
        .collect();
    h.merge(&second);
    // `w` (collection "all") takes 25 of the 40; `w2` shares the 25 and has room for none new.
    assert_eq!(h.run("w").await.added, 25);
    let w2 = h.run("w2").await;
    assert_eq!(w2.added, 0, "{:?}", w2.plan);
    assert!(w2.plan.skips.iter().all(|s| s.reason.contains("no room")));
    assert_eq!(h.suspicious().len(), 25);
}
