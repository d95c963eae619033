//! Compliance of the Vision One v3 response block-list workflow ("Add to block list")
//! against the emulator: values blocked as tasks (many per request), tasks followed to a final
//! status by one poller, restore on removal, task ids in the ledger; every task outcome; and
//! the objects it blocks shared with blocklist workflows on the same suspicious-object list.

mod common;

use common::suite::{Spec, compliance, ip_or_domain};
use common::{Harness, console_add, console_delete, object, revoke, sighting};
use emulator::EmulatorConfig;
use emulator::config::TaskSettings;
use emulator::faults::FaultSettings;
use emulator::tasks::Outcome;
use indicator::Kind;
use serde_json::json;

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    }
}

const SPEC: Spec = Spec {
    target: "v1",
    action: "response-block",
    // Windows of 8, so a stop request lands between them.
    parameters: "task_timeout_secs = 20, in_flight = 8",
    value: ip_or_domain,
    held: Harness::suspicious,
    undoes: true,
    // One block request per window of 8, and one restore request for a window holding
    // removals: at most one more than the windows.
    writes_for: |adds, removals| (adds + removals).div_ceil(8) + 1,
    stop_after: 10,
    shared: true,
    emulator,
    moves_target_clock: true,
};

compliance!(SPEC);

const FLOW: &str = r#"
[[workflows]]
name = "respond"
collection = "all"
target = "v1"
action = "response-block"
parameters = { task_timeout_secs = 3 }
"#;

#[tokio::test]
async fn task_ids_are_kept_and_many_values_go_in_one_request() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    let sightings: Vec<_> = (0..150)
        .map(|i| {
            sighting(
                Kind::Ipv4,
                &format!("45.8.{}.{}", i / 200, i % 200 + 1),
                9,
                now,
            )
        })
        .chain([sighting(Kind::Md5, &"c".repeat(32), 9, now)])
        .collect();
    h.merge(&sightings);
    let first = h.run("respond").await;
    assert_eq!(first.added, 150, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(first.skipped, 1, "Vision One takes no MD5");
    assert_eq!(h.suspicious().len(), 150);
    let stats = h.emulator.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects", "207"),
        2,
        "150 values in requests of at most 100"
    );
    let ledger = h.library.ledger("v1/respond").unwrap();
    assert!(
        ledger.iter().all(|e| e.remote_id.is_some()),
        "task ids are kept"
    );
}

#[tokio::test]
async fn failed_rejected_canceled_and_unapproved_tasks_are_failed_items_with_their_status() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    let ends = [
        (
            "45.9.0.1",
            Outcome::Failed,
            "`failed`: An internal error has occurred.",
        ),
        ("45.9.0.2", Outcome::Rejected, "`rejected`"),
        ("45.9.0.3", Outcome::Canceled, "`canceled`"),
        ("45.9.0.4", Outcome::PendingApproval, "waits for approval"),
    ];
    h.emulator.emulator().set_faults(FaultSettings {
        response_task_outcomes: ends.iter().map(|(v, o, _)| ((*v).to_owned(), *o)).collect(),
        ..FaultSettings::default()
    });
    let mut sightings: Vec<_> = ends
        .iter()
        .map(|(value, _, _)| sighting(Kind::Ipv4, value, 9, now))
        .collect();
    sightings.push(sighting(Kind::Ipv4, "45.9.0.5", 9, now));
    h.merge(&sightings);

    let first = h.run("respond").await;
    assert_eq!(first.added, 1, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(first.failed.len(), 4, "{:?}", first.failed);
    for (value, _, words) in ends {
        let failure = first
            .failed
            .iter()
            .find(|f| f.value == value)
            .unwrap_or_else(|| panic!("{value} is not a failed item: {:?}", first.failed));
        assert!(
            failure.message.contains(words),
            "{value}: {}",
            failure.message
        );
    }
    assert_eq!(h.suspicious(), ["45.9.0.5"]);
    assert_eq!(
        h.ledger_values("respond"),
        ["45.9.0.5"],
        "only the success is recorded"
    );

    // Once tasks succeed, the next run blocks the failed ones again.
    h.emulator.emulator().set_faults(FaultSettings::default());
    let second = h.run("respond").await;
    assert_eq!(second.added, 3, "{:?}", second.failed);
    assert_eq!(
        second.failed.len(),
        1,
        "the unapproved task is still open: {:?}",
        second.failed
    );
    assert!(second.failed[0].message.contains("waits for approval"));
}

#[tokio::test]
async fn a_value_blocked_by_a_blocklist_workflow_too_stays_until_both_let_go() {
    let flows = format!(
        "{FLOW}\n[[workflows]]\nname = \"block\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\n"
    );
    let mut h = Harness::with_emulator(emulator(), &flows).await;
    let now = h.now;
    let shared = [sighting(Kind::Domain, "shared.example.com", 9, now)];
    h.merge(&shared);
    assert_eq!(h.run("respond").await.added, 1);
    // The blocklist workflow's claim sets the object's scan action, risk and expiry.
    let block = h.run("block").await;
    assert_eq!((block.added, block.updated), (0, 1), "{block:?}");
    assert_eq!(h.suspicious(), ["shared.example.com"]);

    // The indicator leaves the collection: the first workflow to run releases its claim and
    // leaves the object to the other; the last one removes it.
    h.merge(&revoke(&shared, now));
    let released = h.run("respond").await;
    assert_eq!(
        (released.removed, released.released),
        (0, 1),
        "{released:?}"
    );
    assert_eq!(
        h.suspicious(),
        ["shared.example.com"],
        "kept for the blocklist workflow"
    );
    let removed = h.run("block").await;
    assert_eq!(removed.removed, 1, "{removed:?}");
    assert!(h.suspicious().is_empty());
}

#[tokio::test]
async fn an_analysts_object_is_looked_up_and_left_as_it_is() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    // An analyst's own block of a value the feed also lists: her description, a log action.
    console_add(
        &h,
        json!([{ "ip": "45.11.0.1", "description": "Ann: watch only", "scanAction": "log" }]),
    )
    .await;
    let before = object(&h, "45.11.0.1").unwrap();
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "45.11.0.1", 9, now),
        sighting(Kind::Ipv4, "45.11.0.2", 9, now),
    ]);
    let first = h.run("respond").await;
    assert_eq!(first.added, 1, "{:?}", first.plan);
    let skip = first.plan.skips.iter().find(|s| s.value == "45.11.0.1");
    assert!(
        skip.is_some_and(|s| s.reason.contains("not created by iocsync")),
        "{:?}",
        first.plan.skips
    );
    let stats = h.emulator.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects", "207"),
        1,
        "one block request, for the other value"
    );
    let after = object(&h, "45.11.0.1").unwrap();
    assert_eq!(
        (after.description, after.scan_action, after.last_modified),
        (before.description, before.scan_action, before.last_modified),
        "never blocked over"
    );
    assert_eq!(h.ledger_values("respond"), ["45.11.0.2"]);
}

#[tokio::test]
async fn verify_blocks_again_what_was_removed_behind_its_back() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    let values = ["45.12.0.1", "45.12.0.2", "45.12.0.3"];
    h.merge(&values.map(|v| sighting(Kind::Ipv4, v, 9, now)));
    assert_eq!(h.run("respond").await.added, 3);
    // A console user deletes one; an analyst adds her own object next to ours.
    console_delete(&h, "45.12.0.2").await;
    console_add(&h, json!([{ "ip": "45.12.0.9", "description": "Ann" }])).await;
    // A plain run trusts its ledger; a verify reads the list and blocks the value again.
    assert_eq!(h.run("respond").await.plan.changes(), 0);
    let verify = h.run_with("respond", false, true).await;
    assert_eq!(
        (verify.added, verify.updated, verify.removed),
        (1, 0, 0),
        "{:?}",
        verify.plan
    );
    assert_eq!(
        h.suspicious(),
        ["45.12.0.1", "45.12.0.2", "45.12.0.3", "45.12.0.9"]
    );
    // The tenant's scan action and risk level on our objects are not drift.
    let again = h.run_with("respond", false, true).await;
    assert_eq!(again.plan.changes(), 0, "{:?}", again.plan);
}

#[tokio::test]
async fn adopt_rebuilds_a_lost_ledger_of_response_blocks() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    let all: Vec<_> = (1..=6)
        .map(|i| sighting(Kind::Ipv4, &format!("45.13.0.{i}"), 9, now))
        .collect();
    h.merge(&all);
    assert_eq!(h.run("respond").await.added, 6);
    console_add(&h, json!([{ "ip": "45.13.0.99", "description": "Ann" }])).await;
    // The ledger is lost, and two values leave the collection meanwhile.
    let lost: Vec<(Kind, String)> = all.iter().map(|s| (s.kind, s.value.clone())).collect();
    h.library.ledger_remove("v1/respond", &lost).unwrap();
    h.merge(&revoke(&all[4..], now));
    let adopted = engine::adopt::adopt(&h.config, &mut *h.library, "respond", None, false, now)
        .await
        .unwrap();
    assert_eq!((adopted.adopted, adopted.left_alone), (6, 1), "{adopted:?}");
    assert_eq!(h.ledger_values("respond").len(), 6);
    // The next run keeps the four still wanted (no block again) and restores the two others;
    // the analyst's object stays.
    h.allow_removals = true;
    let next = h.run("respond").await;
    assert_eq!((next.added, next.removed), (0, 2), "{:?}", next.plan);
    assert_eq!(
        h.suspicious(),
        [
            "45.13.0.1",
            "45.13.0.2",
            "45.13.0.3",
            "45.13.0.4",
            "45.13.0.99"
        ]
    );
}
