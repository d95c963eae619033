//! Compliance of the Deep Security "Export Indicators" workflow against the emulator: parts of
//! at most `max_chars`, stable packing, in-place writes, manual clear.

mod common;

use common::{Harness, ips, revoke, sighting};
use indicator::Kind;

/// The lists this workflow manages (the emulator also holds built-in lists).
fn ours(h: &Harness) -> Vec<emulator::deep_security::model::IpList> {
    let mut lists: Vec<_> = h
        .emulator
        .emulator()
        .snapshot()
        .ip_lists
        .into_iter()
        .filter(|l| l.name.starts_with("Blocked_"))
        .collect();
    lists.sort_by_key(|l| l.id);
    lists
}

const IPS: &str = r#"
[[workflows]]
name = "ips"
collection = "all"
target = "ds"
action = "ip-list"
parameters = { list_name = "Blocked", clear_on_manual_run = true, max_chars = 1000, aggregate = false }
"#;

#[tokio::test]
async fn parts_are_stable_and_written_only_when_changed() {
    let mut h = Harness::new(IPS).await;
    let now = h.now;
    let all = ips(300, 8, now);
    h.merge(&all);
    let first = h.run("ips").await;
    assert_eq!(first.added, 300, "{:?} {:?}", first.errors, first.halted);
    let lists = ours(&h);
    assert!(lists.len() >= 4, "{} parts", lists.len());
    for list in &lists {
        assert!(trendmicro::deep_security::list_chars(&list.items) <= 1000);
    }
    let mut expected: Vec<String> = all.iter().map(|s| s.value.clone()).collect();
    expected.sort();
    assert_eq!(h.ip_list_items("Blocked"), expected);
    let ids: Vec<u32> = lists.iter().map(|l| l.id).collect();

    let writes = h.writes();
    let again = h.run("ips").await;
    assert_eq!(again.plan.parts.len(), 0);
    assert_eq!(h.writes(), writes);

    // Two removals and one add touch at most two parts.
    h.merge(&revoke(&all[0..2], now));
    h.merge(&[sighting(Kind::Ipv4, "45.1.2.3", 9, now)]);
    let churn = h.run("ips").await;
    assert_eq!((churn.added, churn.removed), (1, 2));
    assert!(churn.plan.parts.len() <= 2, "{:?}", churn.plan.parts);
    assert!(h.writes() - writes <= 2);
    let after: Vec<u32> = ours(&h).iter().map(|l| l.id).collect();
    assert_eq!(after, ids, "lists are modified in place, never re-created");

    // Everything leaves: parts are emptied, not deleted.
    h.merge(&revoke(&all[2..], now));
    h.merge(&revoke(&[sighting(Kind::Ipv4, "45.1.2.3", 9, now)], now));
    h.run("ips").await;
    let lists = ours(&h);
    assert_eq!(lists.len(), ids.len());
    assert!(lists.iter().all(|l| l.items.is_empty()));
}

#[tokio::test]
async fn manual_clear_repacks_without_deleting_lists() {
    let mut h = Harness::new(IPS).await;
    let now = h.now;
    let all = ips(200, 8, now);
    h.merge(&all);
    h.run("ips").await;
    h.merge(&revoke(&all[..150], now));
    let manual = h.run_with("ips", true, false).await;
    assert!(manual.errors.is_empty() && manual.halted.is_none());
    let mut expected: Vec<String> = all[150..].iter().map(|s| s.value.clone()).collect();
    expected.sort();
    assert_eq!(h.ip_list_items("Blocked"), expected);
    // The 50 left fit in part 0; the other parts are emptied.
    let lists = ours(&h);
    assert_eq!(lists.iter().filter(|l| !l.items.is_empty()).count(), 1);
    assert_eq!(h.run("ips").await.plan.parts.len(), 0);
}

#[tokio::test]
async fn aggregation_and_verify_repair_a_console_edit() {
    let flow = IPS.replace("aggregate = false", "aggregate = true");
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Cidr, "45.0.0.0/25", 9, now),
        sighting(Kind::Cidr, "45.0.0.128/25", 9, now),
        sighting(Kind::Ipv4, "45.9.9.9", 9, now),
        sighting(Kind::Domain, "not-an-ip.example.com", 9, now),
    ]);
    let report = h.run("ips").await;
    assert_eq!(report.added, 2);
    assert_eq!(report.skipped, 1);
    assert_eq!(h.ip_list_items("Blocked"), ["45.0.0.0/24", "45.9.9.9"]);
    // Someone empties the list in the console; --verify puts the content back.
    let id = ours(&h)[0].id;
    let url = format!("{}/iplists/{id}", h.emulator.deep_security_url());
    let response = reqwest::Client::new()
        .post(url)
        .header("api-secret-key", common::KEY)
        .header("api-version", "v1")
        .json(&serde_json::json!({ "items": [] }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert!(h.ip_list_items("Blocked").is_empty());
    h.run_with("ips", false, true).await;
    assert_eq!(h.ip_list_items("Blocked"), ["45.0.0.0/24", "45.9.9.9"]);
}
