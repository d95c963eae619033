//! Compliance of the XDR v2 block workflow against the emulator: one value at a time, tasks
//! followed to a final status, restore-block on removal, action IDs in the ledger.

mod common;

use common::{Harness, revoke, sighting};
use emulator::EmulatorConfig;
use emulator::config::TaskSettings;
use indicator::Kind;

const XDR: &str = r#"
[[workflows]]
name = "xdr"
collection = "all"
target = "xdr"
action = "xdr-block"
parameters = { product_id = "compliance", task_timeout_secs = 20 }
"#;

fn blocked(h: &Harness) -> Vec<String> {
    let mut values: Vec<String> = h
        .emulator
        .emulator()
        .snapshot()
        .xdr_blocked
        .into_iter()
        .map(|b| b.target_value)
        .collect();
    values.sort();
    values
}

#[tokio::test]
async fn blocks_follow_tasks_and_removals_restore() {
    let settings = EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    };
    let mut h = Harness::with_emulator(settings, XDR).await;
    let now = h.now;
    let sightings = vec![
        sighting(Kind::Ipv4, "45.3.3.3", 9, now),
        sighting(Kind::Domain, "evil.example.com", 9, now),
        sighting(Kind::Sha1, &"a".repeat(40), 9, now),
        sighting(Kind::Sha256, &"b".repeat(64), 9, now),
    ];
    h.merge(&sightings);
    let first = h.run("xdr").await;
    assert_eq!(first.added, 3, "{:?} {:?}", first.failed, first.halted);
    assert_eq!(first.skipped, 1, "sha256 has no XDR v2 value type");
    assert_eq!(
        blocked(&h),
        ["45.3.3.3", &"a".repeat(40), "evil.example.com"]
    );
    let ledger = h.library.ledger("xdr/xdr").unwrap();
    assert!(
        ledger.iter().all(|e| e.remote_id.is_some()),
        "action ids are kept"
    );

    let writes = h.writes();
    assert_eq!(h.run("xdr").await.plan.changes(), 0);
    assert_eq!(h.writes(), writes);

    h.merge(&revoke(&sightings[..1], now));
    let removal = h.run("xdr").await;
    assert_eq!(removal.removed, 1);
    assert_eq!(blocked(&h), [&"a".repeat(40), "evil.example.com"]);
}
