//! Compliance of the Vision One blocklist and exception-list workflows against the emulator,
//! over real HTTP with a real SQLite library: the shared suite on a target with batches of
//! ten, then what only Vision One does (renewal, per-type caps, 207 item failures, read-back).

mod common;

use chrono::Duration;
use common::suite::{Spec, compliance, ip_or_domain};
use common::{Harness, ips, sighting};
use emulator::faults::FaultSettings;
use indicator::Kind;

const SPEC: Spec = Spec {
    target: "v1b",
    action: "blocklist",
    parameters: "",
    value: ip_or_domain,
    held: Harness::suspicious,
    undoes: true,
    // Batches of ten (two in flight at once): one request per started ten adds, and per
    // started ten removals.
    writes_for: |adds, removals| adds.div_ceil(10) + removals.div_ceil(10),
    stop_after: 10,
    shared: true,
    emulator: emulator::EmulatorConfig::default,
    moves_target_clock: true,
};

compliance!(SPEC);

const BLOCK: &str = r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
parameters = { expiry = 7, renew_within_days = 3, cap_per_type = 10000 }
"#;

#[tokio::test]
async fn objects_near_expiry_are_renewed() {
    let mut h = Harness::new(BLOCK).await;
    let now = h.now;
    h.merge(&ips(10, 8, now));
    assert_eq!(h.run("block").await.added, 10);
    h.advance(Duration::days(2));
    assert_eq!(h.run("block").await.updated, 0);
    // Five days in, two are left: inside the three-day renewal window.
    h.advance(Duration::days(3));
    let renewed = h.run("block").await;
    assert_eq!(renewed.updated, 10);
    // Past the first expiry date: still on the list, because it was renewed.
    h.advance(Duration::days(3));
    assert_eq!(h.suspicious().len(), 10);
}

#[tokio::test]
async fn caps_rank_the_collection_and_skip_the_rest() {
    let flow = BLOCK.replace("cap_per_type = 10000", "cap_per_type = 5");
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    let mut sightings = ips(4, 3, now);
    sightings.extend(ips(8, 9, now).into_iter().skip(4));
    h.merge(&sightings);
    let report = h.run("block").await;
    assert_eq!(report.added, 5);
    // Counted, not listed: a capped workflow reads only the members that fill its cap.
    assert_eq!(report.plan.skipped["over cap (5 objects)"], 3);
    assert_eq!(report.skipped, 3);
    assert!(report.plan.skips.is_empty(), "{:?}", report.plan.skips);
    // The four high scores all made it; the lowest scores were left out.
    for s in &sightings[4..] {
        assert!(h.suspicious().contains(&s.value), "{} missing", s.value);
    }
}

#[tokio::test]
async fn guard_drops_and_unmappable_kinds_are_skipped_with_reasons() {
    let mut h = Harness::new(BLOCK).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "198.51.100.7", 9, now),
        sighting(Kind::Ipv4, "10.1.2.3", 9, now),
        sighting(Kind::Md5, &"ab".repeat(16), 9, now),
        sighting(Kind::Cidr, "45.0.0.0/24", 9, now),
        sighting(Kind::Ipv4, "8.8.4.4", 9, now),
    ]);
    let report = h.run("block").await;
    assert_eq!(report.added, 1);
    assert_eq!(report.skipped, 4);
    assert_eq!(h.library.drops(10).unwrap().len(), 2);
}

#[tokio::test]
async fn per_item_failures_are_reported_and_the_next_run_converges() {
    let mut h = Harness::new(BLOCK).await;
    let now = h.now;
    h.merge(&ips(20, 8, now));
    h.emulator.emulator().set_faults(FaultSettings {
        item_error_rate: 1.0,
        ..FaultSettings::default()
    });
    let failing = h.run("block").await;
    assert_eq!(failing.added, 0);
    assert_eq!(failing.failed.len(), 20);
    assert_eq!(failing.status(), store::RunStatus::Partial);
    h.emulator.emulator().set_faults(FaultSettings::default());
    let fixed = h.run("block").await;
    assert_eq!(fixed.added, 20);
    assert_eq!(h.suspicious().len(), 20);
}

#[tokio::test]
async fn item_server_errors_are_resent_in_rounds_over_the_whole_run() {
    let flow = BLOCK.replace("target = \"v1\"", "target = \"v1b\"");
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    h.merge(&ips(200, 8, now));
    h.emulator.emulator().set_faults(FaultSettings {
        item_error_rate: 0.1,
        ..FaultSettings::default()
    });
    let report = h.run("block").await;
    // Three sends each: an item failing all three (p = 0.001) waits for the next run.
    assert!(report.added >= 195, "{:?}", report.failed);
    assert_eq!(report.added + report.failed.len(), 200);
    // 20 batches of ten, then the ~20 failed items regrouped into a few requests per later
    // round — not a retry request (and a pause) for every batch that had a failure (~35).
    assert!(h.writes() <= 26, "{} write requests", h.writes());
    h.emulator.emulator().set_faults(FaultSettings::default());
    assert_eq!(h.run("block").await.added, report.failed.len());
    assert_eq!(h.suspicious().len(), 200);
}

#[tokio::test]
async fn verify_repairs_objects_deleted_in_the_console() {
    let mut h = Harness::new(BLOCK).await;
    let now = h.now;
    let sightings = ips(6, 8, now);
    h.merge(&sightings);
    h.run("block").await;
    let gone = sightings[0].value.clone();
    let url = format!(
        "{}/v3.0/threatintel/suspiciousObjects/delete",
        h.emulator.base_url()
    );
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(common::KEY)
        .json(&serde_json::json!([{ "ip": gone }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 207);
    assert!(!h.suspicious().contains(&gone));
    assert_eq!(h.run("block").await.added, 0);
    let repaired = h.run_with("block", false, true).await;
    assert_eq!(repaired.added, 1);
    assert!(h.suspicious().contains(&gone));
}

/// Workflow `allow`: the whole library to the Vision One exception list, with `extra` lines.
fn exceptions_flow(extra: &str) -> String {
    format!(
        r#"
[[workflows]]
name = "allow"
collection = "all"
target = "v1"
action = "exceptions"
{extra}
"#
    )
}

#[tokio::test]
async fn exceptions_go_to_the_exception_list() {
    let mut h = Harness::new(&exceptions_flow("")).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Domain, "good.example.org", 1, now),
        sighting(Kind::Url, "partner.example.org/api", 1, now),
    ]);
    let report = h.run("allow").await;
    assert_eq!(report.added, 2, "{:?}", report.failed);
    let exceptions = h.emulator.emulator().snapshot().exceptions;
    let mut values: Vec<_> = exceptions.into_iter().map(|e| e.value).collect();
    values.sort();
    assert_eq!(
        values,
        ["good.example.org", "http://partner.example.org/api"]
    );
    assert!(h.suspicious().is_empty());
}

#[tokio::test]
async fn the_exception_cap_keeps_the_highest_scores() {
    let mut h = Harness::new(&exceptions_flow("parameters = { cap = 3 }")).await;
    let now = h.now;
    let sightings: Vec<_> = (0..5u8)
        .map(|i| sighting(Kind::Domain, &format!("ok{i}.example.org"), 2 * i, now))
        .collect();
    h.merge(&sightings);
    let report = h.run("allow").await;
    assert_eq!(report.added, 3, "{:?}", report.failed);
    assert_eq!(report.plan.skipped["over cap (3 objects)"], 2);
    let kept: Vec<String> = h
        .emulator
        .emulator()
        .snapshot()
        .exceptions
        .iter()
        .map(|e| e.value.clone())
        .collect();
    assert_eq!(kept.len(), 3);
    assert!(
        !kept
            .iter()
            .any(|v| v == "ok0.example.org" || v == "ok1.example.org")
    );
}
