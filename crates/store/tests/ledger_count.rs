//! `ledger_count`: the SQLite count agrees with the entries `ledger` lists, per target.

#[macro_use]
mod common;

use common::day;
use indicator::Kind;
use store::LedgerEntry;

fn entry(target: &str, value: &str) -> LedgerEntry {
    LedgerEntry {
        key: target.into(),
        space: format!("{target}#space"),
        kind: Kind::Domain,
        value: value.into(),
        attributes: serde_json::json!({}),
        remote_id: None,
        pushed_at: day(1),
    }
}

on_both_backends! {
    fn the_count_matches_the_listed_entries_of_each_target(db) {
        let mut lib = db.open();
        let entries: Vec<LedgerEntry> = (0..25)
            .map(|i| {
                entry(
                    if i % 5 == 0 { "ds" } else { "v1/block" },
                    &format!("d{i}.example"),
                )
            })
            .collect();
        lib.ledger_upsert(&entries).unwrap();
        lib.ledger_remove("v1/block", &[(Kind::Domain, "d1.example".into())])
            .unwrap();
        for target in ["v1/block", "ds", "nowhere"] {
            let listed = lib.ledger(target).unwrap().len() as u64;
            assert_eq!(lib.ledger_count(target).unwrap(), listed, "{target}");
        }
        assert_eq!(lib.ledger_count("v1/block").unwrap(), 19);
    }
}
