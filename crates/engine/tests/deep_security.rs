//! Compliance of the Deep Security "Export Indicators" workflow against the emulator: the
//! shared suite on parts of 100 characters, then what only IP lists do: parts of at most
//! `max_chars` (32,000 by default), stable packing, in-place writes, manual clear, the
//! 5,000-list cap, and values an IP list cannot take.

mod common;

use common::suite::{Spec, compliance, ip};
use common::{Harness, ips, revoke, sighting};
use emulator::deep_security::model::IpList;
use indicator::Kind;
use store::{Class, RunStatus};

fn suite_items(h: &Harness) -> Vec<String> {
    h.ip_list_items("Suite")
}

const SPEC: Spec = Spec {
    target: "ds",
    action: "ip-list",
    parameters: r#"list_name = "Suite", max_chars = 100"#,
    value: ip,
    held: suite_items,
    undoes: true,
    // Each changed value rewrites at most its own part.
    writes_for: |adds, removals| adds + removals,
    stop_after: 1,
    shared: false,
    emulator: emulator::EmulatorConfig::default,
    moves_target_clock: true,
};

compliance!(SPEC);

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

    // Everything leaves (past the brake, released on purpose): parts are emptied, not deleted.
    h.allow_removals = true;
    h.merge(&revoke(&all[2..], now));
    h.merge(&revoke(&[sighting(Kind::Ipv4, "45.1.2.3", 9, now)], now));
    h.run("ips").await;
    let lists = ours(&h);
    assert_eq!(lists.len(), ids.len());
    assert!(lists.iter().all(|l| l.items.is_empty()));
}

/// Which list (by ID) holds each item.
fn placement(h: &Harness) -> std::collections::BTreeMap<String, u32> {
    ours(h)
        .into_iter()
        .flat_map(|list| list.items.into_iter().map(move |item| (item, list.id)))
        .collect()
}

#[tokio::test]
async fn manual_clear_drops_foreign_items_without_moving_ours() {
    let mut h = Harness::new(IPS).await;
    let now = h.now;
    let all = ips(200, 8, now);
    h.merge(&all);
    h.run("ips").await;
    let before = placement(&h);
    let ids: Vec<u32> = ours(&h).iter().map(|l| l.id).collect();
    // Someone adds an entry to our last list in the console.
    let last = ours(&h).pop().unwrap();
    let mut items = last.items.clone();
    items.push("203.0.113.250".to_owned());
    let url = format!("{}/iplists/{}", h.emulator.deep_security_url(), last.id);
    let response = reqwest::Client::new()
        .post(url)
        .header("api-secret-key", common::KEY)
        .header("api-version", "v1")
        .json(&serde_json::json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    h.merge(&revoke(&all[..150], now));
    h.allow_removals = true;
    let manual = h.run_with("ips", true, false).await;
    assert!(manual.errors.is_empty() && manual.halted.is_none());
    let mut expected: Vec<String> = all[150..].iter().map(|s| s.value.clone()).collect();
    expected.sort();
    assert_eq!(h.ip_list_items("Blocked"), expected);
    // Same lists, never deleted; every item that stayed is still in the list it was in, so
    // no item was missing between two part writes.
    assert_eq!(ours(&h).iter().map(|l| l.id).collect::<Vec<_>>(), ids);
    for (item, list) in placement(&h) {
        assert_eq!(before.get(&item), Some(&list), "{item} moved");
    }
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

#[tokio::test]
async fn parts_hold_at_most_32000_characters_by_default() {
    let flow = IPS.replace(", max_chars = 1000", "");
    let mut h = Harness::new(&flow).await;
    let all = ips(6000, 8, h.now);
    h.merge(&all);
    let report = h.run("ips").await;
    assert_eq!(
        report.added, 6000,
        "{:?} {:?}",
        report.errors, report.halted
    );
    let lists = ours(&h);
    assert_eq!(lists.len(), 3, "6,000 addresses of 9-11 characters");
    // One write per part, and one walk of the manager's lists (a page and the empty page
    // that ends it) instead of a search per part.
    assert_eq!(h.writes(), 3);
    assert_eq!(h.requests(), 3 + 2);
    for list in &lists {
        let chars = trendmicro::deep_security::list_chars(&list.items);
        assert!(chars <= 32_000, "{} holds {chars} characters", list.name);
    }
    assert_eq!(h.ip_list_items("Blocked").len(), 6000);
}

#[tokio::test]
async fn the_5000_list_cap_is_checked_before_creating() {
    let mut h = Harness::new(IPS).await;
    // Fill the manager up to one list short of the cap.
    h.emulator.emulator().with_state(|state| {
        while state.ip_lists.len() < trendmicro::deep_security::MAX_IP_LISTS - 1 {
            let id = state.next_ip_list_id;
            state.next_ip_list_id += 1;
            let name = format!("other_{id}");
            state.ip_lists.insert(
                id,
                IpList {
                    id,
                    name,
                    description: None,
                    items: Vec::new(),
                },
            );
        }
    });
    h.merge(&ips(200, 8, h.now));
    let writes = h.writes();
    let report = h.run("ips").await;
    assert_eq!(report.status(), RunStatus::Failed);
    let halted = report.halted.unwrap_or_default();
    assert!(halted.contains("5000 IP lists"), "{halted}");
    assert_eq!(h.writes() - writes, 1, "one list created, none refused");
    assert_eq!(ours(&h).len(), 1);
    // What part 0 holds is recorded; the rest waits.
    assert_eq!(h.ledger_values("ips"), h.ip_list_items("Blocked"));
    assert_eq!(report.added, h.ip_list_items("Blocked").len());
}

#[tokio::test]
async fn values_an_ip_list_cannot_take_never_fail_a_batch() {
    let flow = IPS.replace(
        "aggregate = false",
        "aggregate = false, include = [\"indicator\"]",
    );
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    let mut own = sighting(Kind::Ipv4, "45.8.8.8", 9, now);
    own.class = Class::Asset;
    h.merge(&[
        sighting(Kind::Ipv4, "45.1.1.1", 9, now),
        sighting(Kind::Ipv6, "2a00:1450:1::1", 9, now),
        sighting(Kind::Cidr, "45.2.0.0/16", 9, now),
        sighting(Kind::Cidr, "2a00:1450:2::/48", 9, now),
        sighting(Kind::Domain, "evil.example.com", 9, now),
        sighting(Kind::Url, "http://evil.example.com/x", 9, now),
        sighting(Kind::Email, "a@evil.example.com", 9, now),
        sighting(Kind::Sha256, &"d".repeat(64), 9, now),
        own,
    ]);
    let report = h.run("ips").await;
    assert!(report.errors.is_empty() && report.halted.is_none());
    assert_eq!(report.status(), RunStatus::Succeeded);
    assert_eq!(report.added, 4);
    assert_eq!(report.skipped, 5);
    assert!(
        report.plan.skips.iter().all(|s| !s.reason.is_empty()),
        "{:?}",
        report.plan.skips
    );
    assert_eq!(
        h.ip_list_items("Blocked"),
        [
            "2a00:1450:1::1",
            "2a00:1450:2::/48",
            "45.1.1.1",
            "45.2.0.0/16"
        ]
    );
}

/// Creates an IP list on the emulator as a console user would; returns its ID.
async fn console_list(h: &Harness, name: &str, description: &str, items: &[&str]) -> u32 {
    let response = reqwest::Client::new()
        .post(format!("{}/iplists", h.emulator.deep_security_url()))
        .header("api-secret-key", common::KEY)
        .header("api-version", "v1")
        .json(&serde_json::json!({ "name": name, "description": description, "items": items }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.json::<serde_json::Value>().await.unwrap()["ID"]
        .as_u64()
        .unwrap() as u32
}

#[tokio::test]
async fn a_list_of_the_same_name_made_by_someone_else_is_never_written() {
    let mut h = Harness::new(IPS).await;
    let id = console_list(
        &h,
        "Blocked_0",
        "firewall team: partner ranges",
        &["203.0.113.7"],
    )
    .await;
    h.merge(&ips(10, 8, h.now));
    let run = h.run("ips").await;
    let halted = run.halted.clone().expect("the run stops");
    assert!(
        halted.contains("`Blocked_0`") && halted.contains(&format!("ID {id}")),
        "{halted}"
    );
    assert!(
        halted.contains("list_name") && halted.contains("adopt_existing"),
        "{halted}"
    );
    assert_eq!(run.status(), RunStatus::Failed);
    let list = ours(&h).into_iter().find(|l| l.id == id).unwrap();
    assert_eq!(list.items, ["203.0.113.7"], "untouched");
    assert_eq!(
        list.description.as_deref(),
        Some("firewall team: partner ranges")
    );
    assert!(h.ledger_values("ips").is_empty());
}

#[tokio::test]
async fn adopting_a_list_keeps_its_entries_and_console_additions_survive_ordinary_runs() {
    let flow = IPS.replace(
        "action = \"ip-list\"",
        "action = \"ip-list\"\nadopt_existing = true",
    );
    let mut h = Harness::new(&flow).await;
    let id = console_list(&h, "Blocked_0", "old export", &["203.0.113.7"]).await;
    let all = ips(10, 8, h.now);
    h.merge(&all);
    let run = h.run("ips").await;
    assert!(run.halted.is_none(), "{:?}", run.halted);
    assert!(
        run.notes.iter().any(|n| n.contains("kept 1 entries")),
        "{:?}",
        run.notes
    );
    let list = ours(&h).into_iter().find(|l| l.id == id).unwrap();
    assert!(list.items.contains(&"203.0.113.7".to_owned()));
    assert!(
        list.description.unwrap().starts_with("[iocsync:"),
        "now ours"
    );
    // A console user adds an entry to our list; an ordinary run that rewrites the part keeps it.
    let mut items = ours(&h)[0].items.clone();
    items.push("198.18.0.9".to_owned());
    let response = reqwest::Client::new()
        .post(format!("{}/iplists/{id}", h.emulator.deep_security_url()))
        .header("api-secret-key", common::KEY)
        .header("api-version", "v1")
        .json(&serde_json::json!({ "items": items }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    h.merge(&revoke(&all[..2], h.now));
    let churn = h.run("ips").await;
    assert_eq!(churn.removed, 2);
    let items = &ours(&h)[0].items;
    assert!(items.contains(&"198.18.0.9".to_owned()) && items.contains(&"203.0.113.7".to_owned()));
    assert!(!items.contains(&all[0].value));
    // Only a manual run with clear_on_manual_run makes the list exactly the collection.
    h.run_with("ips", true, false).await;
    let mut expected: Vec<String> = all[2..].iter().map(|s| s.value.clone()).collect();
    expected.sort();
    assert_eq!(h.ip_list_items("Blocked"), expected);
}

#[tokio::test]
async fn emptying_the_lists_is_held_by_the_brake() {
    let mut h = Harness::new(IPS).await;
    let all = ips(200, 8, h.now);
    h.merge(&all);
    h.run("ips").await;
    h.merge(&revoke(&all, h.now));
    let held = h.run("ips").await;
    assert_eq!(
        (held.status(), held.held, held.removed),
        (RunStatus::Held, 200, 0)
    );
    assert_eq!(h.ip_list_items("Blocked").len(), 200, "no list was emptied");
    assert!(held.plan.parts.is_empty());
    h.allow_removals = true;
    assert_eq!(h.run("ips").await.removed, 200);
    assert!(h.ip_list_items("Blocked").is_empty());
}
