//! A capped workflow reads only the members that can fill its cap ([`engine::members`]); its
//! plan must be the plan made from every member. For random libraries (ties in score and
//! recency common, guard refusals and kinds Vision One takes none of mixed in) and ledgers
//! (this workflow's claims from an earlier plan, another workflow's claims on some values),
//! the two plans send, record and hold the same changes, and skip the same number of members.
//! And a look-up of the adds that found none on the target leaves the plan as it was.

use chrono::{DateTime, Duration, TimeZone, Utc};
use config::{Config, Workflow};
use engine::keys::WorkflowKeys;
use engine::mapping::Describer;
use engine::marker::Marker;
use engine::members::Reader;
use engine::plan::{self, Plan, PlanInput, Remote, Unread};
use guard::{Guard, GuardConfig};
use indicator::Kind;
use proptest::prelude::*;
use std::collections::HashMap;
use store::{Class, LedgerEntry, LibraryBackend, Sighting};
use testkit::ConfigBuilder;

const KINDS: [Kind; 6] = [
    Kind::Ipv4,
    Kind::Ipv6,
    Kind::Domain,
    Kind::Url,
    Kind::Md5,
    Kind::Cidr,
];

fn value(kind: Kind, n: u8) -> String {
    match kind {
        // One in four is private: the guard refuses it on a blocklist.
        Kind::Ipv4 if n % 4 == 0 => format!("10.0.0.{n}"),
        Kind::Ipv4 => format!("11.0.0.{n}"),
        Kind::Ipv6 => format!("2a00:1450::{n:x}"),
        Kind::Domain => format!("d{n}.example.com"),
        Kind::Url => format!("https://u{n}.example.com/p"),
        Kind::Md5 => format!("{n:032x}"),
        _ => format!("11.{n}.0.0/16"),
    }
}

fn day(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::days(i64::from(n))
}

prop_compose! {
    /// Few values, two scores and two days: many members tie on score and last seen.
    fn sightings()(
        rows in prop::collection::vec(
            (0usize..KINDS.len(), 0u8..12, prop::option::weighted(0.85, 5u8..7), 1u32..3),
            0..60,
        )
    ) -> Vec<Sighting> {
        rows.into_iter().map(|(kind, n, score, seen)| {
            let kind = KINDS[kind];
            Sighting {
                kind,
                value: value(kind, n),
                display: None,
                source: "feed".to_owned(),
                score,
                class: Class::Indicator,
                tags: Vec::new(),
                description: None,
                seen_at: day(seen),
                valid_until: None,
                revoked: false,
                reported_at: None,
            }
        }).collect()
    }
}

fn config(dir: &tempfile::TempDir, parameters: &str) -> Config {
    let key = dir.path().join("key");
    std::fs::write(&key, "k\n").unwrap();
    let key = testkit::file_ref(&key);
    let text = ConfigBuilder::new(dir.path().join("library.db"))
        .vision_one("v1", "http://127.0.0.1:9", &key)
        .collection("all")
        .raw(parameters)
        .toml();
    let path = dir.path().join("iocsync.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

const WORKFLOWS: &str = r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
parameters = { expiry = 30, cap_per_type = CAP }

[[workflows]]
name = "allow"
collection = "all"
target = "v1"
action = "exceptions"
parameters = { cap = CAP }
"#;

struct Case<'a> {
    config: &'a Config,
    workflow: &'a Workflow,
    library: &'a dyn LibraryBackend,
    guard: Guard,
    marker: Marker,
    now: DateTime<Utc>,
}

impl Case<'_> {
    fn plan(
        &self,
        members: &[store::IndicatorRecord],
        unread: &Unread,
        ledger: &[LedgerEntry],
    ) -> Plan {
        self.plan_seeing(members, unread, ledger, None)
    }

    /// The plan once the target was read (`remote`).
    fn plan_seeing(
        &self,
        members: &[store::IndicatorRecord],
        unread: &Unread,
        ledger: &[LedgerEntry],
        remote: Option<&Remote>,
    ) -> Plan {
        let own = self.own(ledger);
        plan::plan(
            self.workflow,
            &PlanInput {
                members,
                unread,
                all_skips: true,
                ledger: &own,
                space: ledger,
                guard: &self.guard,
                now: self.now,
                manual: false,
                remote,
                remote_parts: None,
                marker: &self.marker,
                capacity: None,
                wanted_elsewhere: None,
                allow_removals: true,
            },
        )
    }

    fn own(&self, ledger: &[LedgerEntry]) -> Vec<LedgerEntry> {
        ledger
            .iter()
            .filter(|e| e.key == self.workflow.ledger_key())
            .cloned()
            .collect()
    }

    /// Every member, as plans were made before capped reads.
    fn full(&self, ledger: &[LedgerEntry]) -> Plan {
        let collection = self.config.collection("all").unwrap();
        let members = self.library.members(collection, self.now, None).unwrap();
        self.plan(&members, &Unread::default(), ledger)
    }

    /// Every member, planned as a run does after a look-up of the adds that found none of
    /// them on the target (a run keeps its first plan then: [`plan::looked_up_nothing`]).
    fn full_after_empty_look_up(&self, ledger: &[LedgerEntry]) -> Plan {
        let collection = self.config.collection("all").unwrap();
        let members = self.library.members(collection, self.now, None).unwrap();
        let nothing = Remote {
            complete: false,
            objects: HashMap::new(),
        };
        self.plan_seeing(&members, &Unread::default(), ledger, Some(&nothing))
    }

    fn bounded(&self, ledger: &[LedgerEntry]) -> Plan {
        let describe = Describer {
            marker: &self.marker,
            template: self.workflow.description.as_ref(),
        };
        let members = Reader {
            library: self.library,
            collection: self.config.collection("all").unwrap(),
            workflow: self.workflow,
            guard: &self.guard,
            describe: &describe,
            claims: &self.own(ledger),
            now: self.now,
        }
        .read()
        .unwrap();
        self.plan(&members.records, &members.unread, ledger)
    }
}

fn case<'a>(
    config: &'a Config,
    workflow: &'a Workflow,
    library: &'a dyn LibraryBackend,
    now: DateTime<Utc>,
) -> Case<'a> {
    Case {
        config,
        workflow,
        library,
        guard: Guard::new(&GuardConfig {
            list: engine::targets::guard_list(&workflow.parameters),
            ..config.guard.clone()
        })
        .unwrap(),
        marker: Marker::new("bounded-test"),
        now,
    }
}

/// The claims a plan's adds make, under `key`.
fn claims(plan: &Plan, key: &str, space: &str, now: DateTime<Utc>) -> Vec<LedgerEntry> {
    plan.adds
        .iter()
        .map(|change| LedgerEntry {
            key: key.to_owned(),
            space: space.to_owned(),
            kind: change.kind,
            value: change.value.clone(),
            attributes: change.attributes.json().into_owned(),
            remote_id: None,
            pushed_at: now,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_capped_read_plans_what_reading_every_member_plans(
        earlier in sightings(),
        later in sightings(),
        cap in 1usize..6,
        exceptions in any::<bool>(),
        others in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(&dir, &WORKFLOWS.replace("CAP", &cap.to_string()));
        let workflow = config.workflow(if exceptions { "allow" } else { "block" }).unwrap();
        let mut library = config.library.open().unwrap();
        library.merge_at(&earlier, day(3)).unwrap();
        // The ledger: what the full plan of the earlier library added, plus another
        // workflow's claims on some of those values.
        let first = case(&config, workflow, &*library, day(3)).full(&[]);
        let space = workflow.space();
        let mut ledger = claims(&first, &workflow.ledger_key(), &space, day(3));
        let theirs: Vec<LedgerEntry> = others
            .iter()
            .filter(|_| !ledger.is_empty())
            .map(|i| LedgerEntry { key: "v1/someone-else".to_owned(), ..i.get(&ledger).clone() })
            .collect();
        ledger.extend(theirs);
        ledger.dedup_by(|a, b| a.key == b.key && a.value == b.value);
        library.merge_at(&later, day(4)).unwrap();

        let case = case(&config, workflow, &*library, day(4));
        let full = case.full(&ledger);
        let bounded = case.bounded(&ledger);
        prop_assert_eq!(&bounded.adds, &full.adds);
        prop_assert_eq!(&bounded.updates, &full.updates);
        prop_assert_eq!(&bounded.removals, &full.removals);
        prop_assert_eq!(&bounded.joins, &full.joins);
        prop_assert_eq!(&bounded.releases, &full.releases);
        prop_assert_eq!(&bounded.held, &full.held);
        prop_assert_eq!(bounded.deferred, full.deferred);
        prop_assert_eq!(bounded.skipped_total(), full.skipped_total());
        // Every skip the bounded plan lists, the full plan lists for the same reason.
        for skip in &bounded.skips {
            prop_assert!(full.skips.contains(skip), "{:?} not in {:?}", skip, full.skips);
        }
        // A look-up that found none of the adds on the target changes nothing but the note.
        let after_look_up = case.full_after_empty_look_up(&ledger);
        prop_assert_eq!(plan::looked_up_nothing(full.clone()), after_look_up);
        if !full.adds.is_empty() {
            prop_assert_ne!(&full.notes, &plan::looked_up_nothing(full.clone()).notes);
        }
    }
}
