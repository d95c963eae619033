//! Compliance of the XDR v2 block workflow against the emulator: one value at a time, tasks
//! followed to a final status, restore-block on removal, action IDs in the ledger.

mod common;

use common::suite::{Spec, compliance, ip_or_domain};
use common::{Harness, sighting};
use emulator::EmulatorConfig;
use emulator::config::TaskSettings;
use emulator::faults::FaultSettings;
use emulator::tasks::Outcome;
use indicator::Kind;

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    }
}

const SPEC: Spec = Spec {
    target: "xdr",
    action: "xdr-block",
    // Batches of 8, so a stop request lands between them.
    parameters: r#"product_id = "compliance", task_timeout_secs = 20, in_flight = 8"#,
    value: ip_or_domain,
    held: Harness::xdr_blocked,
    undoes: true,
    // One block or restore-block per value.
    writes_for: |adds, removals| adds + removals,
    stop_after: 10,
    shared: true,
    emulator,
    moves_target_clock: true,
};

compliance!(SPEC);

#[tokio::test]
async fn action_ids_are_kept_and_unmapped_kinds_skipped() {
    let flow = r#"
[[workflows]]
name = "xdr"
collection = "all"
target = "xdr"
action = "xdr-block"
parameters = { product_id = "compliance", task_timeout_secs = 20 }
"#;
    let mut h = Harness::with_emulator(emulator(), flow).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "45.3.3.3", 9, now),
        sighting(Kind::Sha1, &"a".repeat(40), 9, now),
        sighting(Kind::Sha256, &"b".repeat(64), 9, now),
    ]);
    let first = h.run("xdr").await;
    assert_eq!(first.added, 2, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(first.skipped, 1, "sha256 has no XDR v2 value type");
    assert_eq!(h.xdr_blocked(), ["45.3.3.3", &"a".repeat(40)]);
    let ledger = h.library.ledger("xdr/xdr").unwrap();
    assert!(
        ledger.iter().all(|e| e.remote_id.is_some()),
        "action ids are kept"
    );
}

#[tokio::test]
async fn failed_timed_out_and_skipped_tasks_are_failed_items_with_their_status() {
    let flow = r#"
[[workflows]]
name = "xdr"
collection = "all"
target = "xdr"
action = "xdr-block"
parameters = { product_id = "compliance", task_timeout_secs = 20 }
"#;
    let mut h = Harness::with_emulator(emulator(), flow).await;
    let now = h.now;
    let ends = [
        ("45.7.0.1", Outcome::Failed, "failed"),
        ("45.7.0.2", Outcome::Timeout, "timeout"),
        ("45.7.0.3", Outcome::Skipped, "skipped"),
    ];
    h.emulator.emulator().set_faults(FaultSettings {
        xdr_task_outcomes: ends.iter().map(|(v, o, _)| ((*v).to_owned(), *o)).collect(),
        ..FaultSettings::default()
    });
    let mut sightings: Vec<_> = ends
        .iter()
        .map(|(value, _, _)| sighting(Kind::Ipv4, value, 9, now))
        .collect();
    sightings.push(sighting(Kind::Ipv4, "45.7.0.4", 9, now));
    h.merge(&sightings);

    let first = h.run("xdr").await;
    assert_eq!(first.added, 1, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(first.failed.len(), 3, "{:?}", first.failed);
    for (value, _, status) in ends {
        let failure = first
            .failed
            .iter()
            .find(|f| f.value == value)
            .unwrap_or_else(|| panic!("{value} is not a failed item: {:?}", first.failed));
        assert!(
            failure.message.contains(&format!("`{status}`")),
            "{value}: {}",
            failure.message
        );
    }
    assert_eq!(h.xdr_blocked(), ["45.7.0.4"]);
    assert_eq!(
        h.ledger_values("xdr"),
        ["45.7.0.4"],
        "only the success is recorded"
    );

    // Once the tasks succeed, the next run blocks them: nothing was recorded as done.
    h.emulator.emulator().set_faults(FaultSettings::default());
    let second = h.run("xdr").await;
    assert_eq!(second.added, 3, "{:?}", second.failed);
    assert!(second.failed.is_empty());
}
