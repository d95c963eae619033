//! Compliance of the Vision One blocklist and exception-list workflows against the emulator,
//! over real HTTP with a real SQLite library.

mod common;

use chrono::Duration;
use common::{Harness, ips, mixed, revoke, sighting};
use emulator::faults::FaultSettings;
use indicator::Kind;

const BLOCK: &str = r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
parameters = { expiry = 7, renew_within_days = 3, cap_per_type = 10000 }
"#;

#[tokio::test]
async fn first_sync_rerun_churn_and_removals() {
    let mut h = Harness::new(BLOCK).await;
    let now = h.now;
    let all = mixed(40, now);
    h.merge(&all);
    let first = h.run("block").await;
    assert_eq!(first.added, 240, "{:?}", first.failed);
    assert!(first.failed.is_empty() && first.halted.is_none());
    assert_eq!(h.suspicious().len(), 240);
    let full_writes = h.writes();

    // Unchanged: zero writes.
    let again = h.run("block").await;
    assert_eq!((again.added, again.updated, again.removed), (0, 0, 0));
    assert_eq!(h.writes(), full_writes);

    // Churn: 2 revoked, 2 new, 1 rescored: one removal request and one add request.
    h.merge(&revoke(&all[0..2], now));
    h.merge(&[
        sighting(Kind::Domain, "new1.example.net", 6, now),
        sighting(Kind::Domain, "new2.example.net", 6, now),
        sighting(Kind::Domain, "bad5.example.com", 9, now),
    ]);
    let churn = h.run("block").await;
    assert_eq!((churn.added, churn.updated, churn.removed), (2, 1, 2));
    assert_eq!(h.writes() - full_writes, 2);
    assert_eq!(h.suspicious().len(), 240);
    assert!(!h.suspicious().contains(&all[0].value));

    let runs = h.library.runs(10).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].counts["removed"], 2);
}

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
    let over: Vec<_> = report
        .plan
        .skips
        .iter()
        .filter(|s| s.reason.starts_with("over cap"))
        .collect();
    assert_eq!(over.len(), 3);
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
async fn rate_limit_storms_and_server_errors_are_ridden_out() {
    let flow = BLOCK.replace("[[workflows]]", "[[workflows]]\n");
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    h.merge(&ips(30, 8, now));
    h.emulator.emulator().set_faults(FaultSettings {
        burst_429: 4,
        retry_after_seconds: 0,
        ..FaultSettings::default()
    });
    let stormy = h.run("block").await;
    assert_eq!(stormy.added, 30, "{:?} {:?}", stormy.failed, stormy.halted);
    h.merge(&ips(60, 8, now));
    h.emulator.emulator().set_faults(FaultSettings {
        error_rate: 0.3,
        ..FaultSettings::default()
    });
    let flaky = h.run("block").await;
    assert_eq!(flaky.added + flaky.failed.len(), 30);
    h.emulator.emulator().set_faults(FaultSettings::default());
    h.run("block").await;
    assert_eq!(h.suspicious().len(), 60);
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

#[tokio::test]
async fn exceptions_go_to_the_exception_list() {
    let flow = r#"
[[workflows]]
name = "allow"
collection = "all"
target = "v1"
action = "exceptions"
"#;
    let mut h = Harness::new(flow).await;
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
