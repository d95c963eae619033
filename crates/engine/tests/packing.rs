//! Deep Security packing compares the collection with the ledger by merging the two in claim
//! order, never by a set or map of either. On random collections and ledgers (small parts, so
//! items spread over many), the plan must say what comparing the two as sets says: adds are
//! the desired items the ledger lacks (in priority order), removals the claims no longer
//! desired, each written part holds exactly its old items less the removals plus the adds
//! placed there, only parts with a change are written, and none exceeds its characters. The
//! ledger's order does not matter (a PostgreSQL collation lists it otherwise), and a plan
//! applied leaves nothing to do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use config::{Config, Workflow};
use engine::keys::WorkflowKeys;
use engine::marker::Marker;
use engine::plan::{self, Plan, PlanInput, Unread};
use engine::targets::deep_security::packing::{part_attributes, part_of};
use guard::{Guard, GuardConfig};
use indicator::Kind;
use proptest::prelude::*;
use store::{Class, IndicatorRecord, LedgerEntry, Sighting};
use testkit::ConfigBuilder;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// Public addresses and networks of unequal lengths, so parts fill unevenly.
fn value(n: u16) -> (Kind, String) {
    match n % 5 {
        0 => (Kind::Cidr, format!("91.{}.0.0/16", n % 200)),
        _ => (Kind::Ipv4, format!("45.{}.{}.{}", n % 3, n / 7, n % 250)),
    }
}

fn config(dir: &tempfile::TempDir, max_chars: usize) -> Config {
    let key = dir.path().join("key");
    std::fs::write(&key, "k\n").unwrap();
    let key = testkit::file_ref(&key);
    let text = ConfigBuilder::new(dir.path().join("library.db"))
        .deep_security("ds", "http://127.0.0.1:9", &key)
        .collection("all")
        .raw(&format!(
            r#"
[[workflows]]
name = "lists"
collection = "all"
target = "ds"
action = "ip-list"
parameters = {{ list_name = "t", aggregate = false, max_chars = {max_chars} }}
"#
        ))
        .toml();
    let path = dir.path().join("iocsync.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

fn plan(workflow: &Workflow, members: &[IndicatorRecord], ledger: &[LedgerEntry]) -> Plan {
    let guard = Guard::new(&GuardConfig {
        list: engine::targets::guard_list(&workflow.parameters),
        ..GuardConfig::default()
    })
    .unwrap();
    plan::plan(
        workflow,
        &PlanInput {
            members,
            unread: &Unread::default(),
            all_skips: true,
            ledger,
            space: &[],
            guard: &guard,
            now: now(),
            manual: false,
            remote: None,
            remote_parts: None,
            marker: &Marker::new("packing-test"),
            capacity: None,
            wanted_elsewhere: None,
            allow_removals: true,
        },
    )
}

/// The ledger once `plan`'s parts are written: each part's items claimed in it.
fn applied(workflow: &Workflow, before: &[LedgerEntry], plan: &Plan) -> Vec<LedgerEntry> {
    let written: BTreeSet<u32> = plan.parts.iter().map(|p| p.index).collect();
    let mut ledger: Vec<LedgerEntry> = before
        .iter()
        .filter(|e| !written.contains(&part_of(&e.attributes).unwrap()))
        .cloned()
        .collect();
    for part in &plan.parts {
        ledger.extend(part.items.iter().map(|item| LedgerEntry {
            key: workflow.ledger_key(),
            space: plan.space.clone(),
            kind: engine::targets::deep_security::packing::item_kind(item),
            value: item.clone(),
            attributes: part_attributes(part.index),
            remote_id: Some((100 + part.index).to_string()),
            pushed_at: now(),
        }));
    }
    ledger.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    ledger
}

fn values(changes: &[plan::Change]) -> Vec<String> {
    changes.iter().map(|c| c.value.clone()).collect()
}

fn by_part(ledger: &[LedgerEntry]) -> BTreeMap<u32, BTreeSet<String>> {
    let mut parts: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for entry in ledger {
        parts
            .entry(part_of(&entry.attributes).unwrap())
            .or_default()
            .insert(entry.value.clone());
    }
    parts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn packing_by_merge_says_what_comparing_sets_says(
        rows in prop::collection::vec((0u16..400, 1u8..11), 0..120),
        earlier_mask in prop::collection::vec(any::<bool>(), 120),
        later_mask in prop::collection::vec(any::<bool>(), 120),
        max_chars in 100usize..160,
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(&dir, max_chars);
        let workflow = config.workflow("lists").unwrap();
        let mut library = config.library.open().unwrap();
        let sightings: Vec<Sighting> = rows.iter().map(|&(n, score)| {
            let (kind, value) = value(n);
            Sighting {
                kind, value, display: None, source: "feed".to_owned(), score: Some(score),
                class: Class::Indicator, tags: Vec::new(), description: None, seen_at: now(),
                valid_until: None, revoked: false, reported_at: None,
            }
        }).collect();
        library.merge_at(&sightings, now()).unwrap();
        let members = library.members(config.collection("all").unwrap(), now(), None).unwrap();
        let pick = |mask: &[bool]| -> Vec<IndicatorRecord> {
            members.iter().zip(mask).filter(|(_, keep)| **keep).map(|(m, _)| m.clone()).collect()
        };
        let (earlier, later) = (pick(&earlier_mask), pick(&later_mask));

        let first = plan(workflow, &earlier, &[]);
        prop_assert!(first.skips.is_empty(), "{:?}", first.skips);
        let ledger = applied(workflow, &[], &first);
        let second = plan(workflow, &later, &ledger);

        // Adds and removals are the two set differences; adds keep the collection's order.
        let claimed: BTreeSet<&str> = ledger.iter().map(|e| e.value.as_str()).collect();
        let wanted: Vec<&str> = later.iter().map(|m| m.value.as_str()).collect();
        let expected_adds: Vec<String> =
            wanted.iter().filter(|v| !claimed.contains(**v)).map(|v| (*v).to_owned()).collect();
        prop_assert_eq!(values(&second.adds), expected_adds);
        let removed: BTreeSet<String> = values(&second.removals).into_iter().collect();
        let expected_removed: BTreeSet<String> = claimed
            .iter().filter(|v| !wanted.contains(*v)).map(|v| (*v).to_owned()).collect();
        prop_assert_eq!(&removed, &expected_removed);

        // Each written part: its ledger items, less removals, plus the adds placed in it.
        let before = by_part(&ledger);
        let mut changed = BTreeSet::new();
        for change in second.adds.iter().chain(&second.removals) {
            changed.insert(part_of(&change.attributes.json()).unwrap());
        }
        let written: BTreeSet<u32> = second.parts.iter().map(|p| p.index).collect();
        prop_assert_eq!(&written, &changed);
        for part in &second.parts {
            let old = before.get(&part.index).cloned().unwrap_or_default();
            prop_assert_eq!(&part.ours_before, &old.iter().cloned().collect::<Vec<_>>());
            let mut new: BTreeSet<String> = old.difference(&removed).cloned().collect();
            new.extend(second.adds.iter()
                .filter(|c| part_of(&c.attributes.json()) == Some(part.index))
                .map(|c| c.value.clone()));
            prop_assert_eq!(&part.items, &new.into_iter().collect::<Vec<_>>());
            let chars = part.items.iter().map(String::len).sum::<usize>()
                + part.items.len().saturating_sub(1);
            prop_assert!(chars <= max_chars || part.items.len() == 1, "{:?}", part);
            prop_assert_eq!(part.list_id, before.contains_key(&part.index).then_some(100 + part.index));
        }

        // The ledger in another order plans the same.
        let mut shuffled = ledger.clone();
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, usize::try_from(rng >> 33).unwrap() % (i + 1));
        }
        let reordered = plan(workflow, &later, &shuffled);
        prop_assert_eq!(&reordered.adds, &second.adds);
        prop_assert_eq!(&reordered.parts, &second.parts);
        prop_assert_eq!(
            values(&reordered.removals).into_iter().collect::<BTreeSet<_>>(), removed);

        // First fit: an add went past a part only if that part is too full for it even now
        // (parts only grow while adds are placed, after the removals made room).
        let after = applied(workflow, &ledger, &second);
        let sizes: BTreeMap<u32, usize> = before.keys().map(|p| (*p, 0)).chain(
            by_part(&after).into_iter().map(|(p, items)| {
                (p, items.iter().map(String::len).sum::<usize>() + items.len() - 1)
            })).collect();
        for add in &second.adds {
            let part = part_of(&add.attributes.json()).unwrap();
            for (lower, size) in sizes.range(..part) {
                prop_assert!(size + add.value.len() + usize::from(*size > 0) > max_chars,
                    "{} went to part {} though part {} ({} chars) had room", add.value, part, lower, size);
            }
        }

        // Once applied, nothing is left to do.
        let third = plan(workflow, &later, &after);
        prop_assert!(third.adds.is_empty() && third.removals.is_empty() && third.parts.is_empty(),
            "{:?} {:?} {:?}", third.adds, third.removals, third.parts);
    }
}
