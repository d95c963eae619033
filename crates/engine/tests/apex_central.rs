//! Compliance of the Apex Central UDSO workflow against the emulator's Automation API (signed
//! JWT per request): one PUT per value added, one DELETE per value whose last claim goes, the
//! marker in each object's notes; and an object a person made with the same content is never
//! overwritten nor removed.

mod common;

use common::suite::{Spec, compliance, ip_or_domain};
use common::{APEX_APP, Harness, KEY, sighting};
use emulator::EmulatorConfig;
use indicator::Kind;
use trendmicro::apex_central::{ApexCentralClient, ApexCentralConfig, ScanAction, Udso, UdsoType};

fn emulator() -> EmulatorConfig {
    EmulatorConfig::default().with_apex_application(APEX_APP, KEY)
}

const SPEC: Spec = Spec {
    target: "apex",
    action: "udso",
    parameters: r#"scan_action = "block""#,
    value: ip_or_domain,
    held: Harness::udso,
    undoes: true,
    // One PUT or DELETE per value.
    writes_for: |adds, removals| adds + removals,
    stop_after: 10,
    shared: true,
    emulator,
    moves_target_clock: false,
};

compliance!(SPEC);

const FLOW: &str = r#"
[[workflows]]
name = "udso"
collection = "all"
target = "apex"
action = "udso"
parameters = { scan_action = "log" }
"#;

/// A client signing as the harness's application, standing for an analyst's console.
fn analyst(h: &Harness) -> ApexCentralClient {
    let url = url::Url::parse(&h.emulator.base_url()).unwrap();
    ApexCentralClient::new(&ApexCentralConfig::new(url, APEX_APP, KEY.into())).unwrap()
}

#[tokio::test]
async fn objects_carry_the_marker_and_the_scan_action_and_unmapped_kinds_are_skipped() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "45.3.3.3", 9, now),
        sighting(Kind::Url, "evil.example/x", 9, now),
        sighting(Kind::Sha256, &"b".repeat(64), 9, now),
    ]);
    let first = h.run("udso").await;
    assert_eq!(first.added, 2, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(
        first.skipped, 1,
        "Apex Central takes SHA-1 file hashes only"
    );
    assert_eq!(h.udso(), ["45.3.3.3", "http://evil.example/x"]);
    let held = h.emulator.emulator().snapshot().udso;
    assert!(
        held.iter().all(|o| o.notes.starts_with("[iocsync:")),
        "{held:?}"
    );
    assert!(
        held.iter()
            .all(|o| o.scan_action == emulator::apex_central::model::ScanAction::Log),
        "{held:?}"
    );
}

#[tokio::test]
async fn an_analysts_object_is_neither_overwritten_nor_removed() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    let mut theirs = Udso::new(UdsoType::Ip, "45.4.4.4", ScanAction::Block);
    theirs.notes = "blocked by Ann, ticket 4711".to_owned();
    analyst(&h).add(&theirs).await.unwrap();
    let ours = sighting(Kind::Ipv4, "45.4.4.5", 9, now);
    let same = sighting(Kind::Ipv4, "45.4.4.4", 9, now);
    h.merge(&[ours.clone(), same.clone()]);
    let first = h.run("udso").await;
    assert_eq!(first.added, 1, "{:?}", first.plan);
    assert_eq!(h.ledger_values("udso"), ["45.4.4.5"]);
    let kept = analyst(&h)
        .find(UdsoType::Ip, "45.4.4.4")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.notes, theirs.notes,
        "the analyst's notes are untouched"
    );
    assert_eq!(
        kept.scan_action,
        ScanAction::Block,
        "and so is their scan action"
    );

    // Both values leave the library: ours is removed, theirs stays.
    h.allow_removals = true;
    h.merge(&common::revoke(&[ours, same], now));
    let second = h.run("udso").await;
    assert_eq!(second.removed, 1, "{:?}", second.failed);
    assert_eq!(h.udso(), ["45.4.4.4"]);
}

#[tokio::test]
async fn verify_reads_the_whole_list_and_restores_a_deleted_object() {
    let mut h = Harness::with_emulator(emulator(), FLOW).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "45.5.5.5", 9, now),
        sighting(Kind::Domain, "bad.example", 9, now),
    ]);
    assert_eq!(h.run("udso").await.added, 2);
    // Someone deletes one of ours on the console.
    analyst(&h)
        .remove(UdsoType::Domain, "bad.example")
        .await
        .unwrap();
    let plain = h.run("udso").await;
    assert_eq!(plain.added, 0, "a plain run trusts the ledger");
    let verified = h.run_with("udso", false, true).await;
    assert_eq!(verified.added, 1, "{:?}", verified.plan);
    assert_eq!(h.udso(), ["45.5.5.5", "bad.example"]);
}
