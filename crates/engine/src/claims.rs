//! Claims: why a value is on a target. On each list of a target (a *space*: Vision One's
//! suspicious-object list, its exception list, XDR v2 blocks, an HTTP template target) a value
//! is present because one or more claimants want it there — workflows, the one-off `block`,
//! triggers — and the ledger keeps one row per claim with the attributes that claimant wants.
//!
//! The object on the target is the **strongest** of its claims, attribute by attribute: block
//! over log, a higher risk over a lower, a later expiry over an earlier, "never" over any date
//! (and any stated choice over the tenant's default); the description is that of the strongest
//! claim (ties go to the claimant whose ledger key sorts first). So:
//! - a claim that arrives on an object already held writes only if it makes the object
//!   stronger; one that leaves writes only if it was the strongest (the object then takes the
//!   next claim's attributes), and removes the object only when it was the last claim;
//! - every path that changes claims — workflow runs, `block`/`unblock`, trigger blocks and TTL
//!   lifts — asks [`decide`] what to write, with the claims as the library holds them at that
//!   moment (read under the space's lease, see [`crate::space`]), so no claimant removes what
//!   another still wants.

use serde::Deserialize;
use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::LedgerEntry;

use crate::mapping::{ExpiryIntent, ObjectAttributes};

/// How strongly a claim asks for blocking (`None`: the tenant's default).
fn action_rank(attributes: &ObjectAttributes) -> u8 {
    use trendmicro::vision_one::ScanAction;
    match attributes.scan_action {
        None => 0,
        Some(ScanAction::Log) => 1,
        Some(ScanAction::Block) => 2,
    }
}

fn risk_rank(attributes: &ObjectAttributes) -> u8 {
    use trendmicro::vision_one::RiskLevel;
    match attributes.risk_level {
        None => 0,
        Some(RiskLevel::Low) => 1,
        Some(RiskLevel::Medium) => 2,
        Some(RiskLevel::High) => 3,
    }
}

/// An expiry as claims compare them: none asked (exception lists) < the tenant's default <
/// a date (later above earlier) < never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ExpiryRank {
    Unset,
    Customer,
    At(DateTime<Utc>),
    Never,
}

fn expiry_rank(attributes: &ObjectAttributes) -> ExpiryRank {
    match attributes.expiry {
        None => ExpiryRank::Unset,
        Some(ExpiryIntent::Never) => ExpiryRank::Never,
        Some(ExpiryIntent::Customer) => ExpiryRank::Customer,
        Some(ExpiryIntent::Days(_) | ExpiryIntent::Until(_)) => match attributes.expires_at {
            Some(at) => ExpiryRank::At(at),
            // A date never recorded (it is filled when a claim is made): count it as unknown.
            None => ExpiryRank::Customer,
        },
    }
}

/// The order of two claims by strength; equal strength goes to the ledger key that sorts
/// first, so the outcome never depends on the order claims were read in.
fn stronger(a: (&str, &ObjectAttributes), b: (&str, &ObjectAttributes)) -> Ordering {
    let strength = |x: &ObjectAttributes| (action_rank(x), risk_rank(x), expiry_rank(x));
    strength(a.1).cmp(&strength(b.1)).then_with(|| b.0.cmp(a.0))
}

/// The object the claims ask for together: each attribute the strongest asked for, the
/// description of the strongest claim. `None` without claims.
pub fn strongest<'a>(
    claims: impl IntoIterator<Item = (&'a str, &'a ObjectAttributes)>,
) -> Option<ObjectAttributes> {
    let claims: Vec<(&str, &ObjectAttributes)> = claims.into_iter().collect();
    let (_, winner) = claims.iter().copied().max_by(|a, b| stronger(*a, *b))?;
    let most = |rank: &dyn Fn(&ObjectAttributes) -> u8| {
        claims
            .iter()
            .map(|(_, c)| *c)
            .max_by_key(|c| rank(c))
            .unwrap_or(winner)
    };
    let (_, latest) = claims
        .iter()
        .copied()
        .max_by(|a, b| {
            expiry_rank(a.1)
                .cmp(&expiry_rank(b.1))
                .then_with(|| b.0.cmp(a.0))
        })
        .unwrap_or(("", winner));
    let (expiry, expires_at) = match expiry_rank(latest) {
        ExpiryRank::At(at) => (Some(ExpiryIntent::Until(at)), Some(at)),
        _ => (latest.expiry, None),
    };
    Some(ObjectAttributes {
        scan_action: most(&action_rank).scan_action,
        risk_level: most(&risk_rank).risk_level,
        expiry,
        expires_at,
        score: claims.iter().filter_map(|(_, c)| c.score).max(),
        ..ObjectAttributes::new(winner.key.clone(), winner.description.clone())
    })
}

/// True when two objects (as [`strongest`] makes them) are the same on the target.
pub fn same_object(a: &ObjectAttributes, b: &ObjectAttributes) -> bool {
    a.key == b.key
        && a.description == b.description
        && a.scan_action == b.scan_action
        && a.risk_level == b.risk_level
        && a.expiry == b.expiry
        && a.score == b.score
}

/// What to write to the target for one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Nothing on the target yet: add it with these attributes.
    Create(ObjectAttributes),
    /// It is there: write it again with these attributes (the target upserts).
    Update(ObjectAttributes),
    /// Its last claim went: remove it.
    Delete,
    /// The target already holds what the claims ask for: only the ledger changes.
    Nothing,
}

impl Write {
    /// Whether anything is sent to the target.
    pub fn sends(&self) -> bool {
        !matches!(self, Write::Nothing)
    }
}

/// The claims on one object, split into one claimant's and everyone else's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holders {
    /// This claimant's claim, if it has one.
    pub own: Option<ObjectAttributes>,
    /// The other claimants' claims, by ledger key.
    pub others: Vec<(String, ObjectAttributes)>,
}

impl Holders {
    /// Whether any other claimant holds the object.
    pub fn held_by_others(&self) -> bool {
        !self.others.is_empty()
    }

    /// Whether a workflow other than the claimant holds it.
    pub fn held_by_other_workflows(&self) -> bool {
        self.others.iter().any(|(key, _)| {
            crate::keys::Claimant::of(key).is_some_and(|claimant| claimant.is_workflow())
        })
    }

    /// The object as the claims ask for it now, with the claimant's claim `own`.
    fn object(&self, own: Option<&ObjectAttributes>) -> Option<ObjectAttributes> {
        let others = self.others.iter().map(|(key, a)| (key.as_str(), a));
        strongest(own.map(|a| ("", a)).into_iter().chain(others))
    }

    /// Who holds the object besides the claimant, for reports.
    pub fn describe_others(&self) -> String {
        let names: Vec<String> = self
            .others
            .iter()
            .filter_map(|(key, _)| crate::keys::Claimant::of(key).map(|c| c.describe()))
            .collect();
        names.join(", ")
    }
}

/// What the target was seen to hold for an object (by `--verify` or a look-up), against what
/// its claims say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found<'a> {
    /// Not read back: the target holds what the claims say.
    AsClaimed,
    /// On the target with no claim on it (an orphan of this library, or a foreign object being
    /// adopted), holding these attributes.
    Unclaimed(&'a ObjectAttributes),
    /// Claimed, but gone from the target (evicted, or deleted in the console).
    Missing,
    /// Claimed and there, but changed in the console (expiry shortened, action or risk
    /// changed, marker removed).
    Drifted,
}

/// What to write when the claimant's claim on an object goes from `holders.own` to `want`
/// (`None`: the claim is dropped), given the other claims and what the target was `found` to
/// hold.
pub fn decide(holders: &Holders, want: Option<&ObjectAttributes>, found: Found<'_>) -> Write {
    let after = holders.object(want);
    let before = match found {
        Found::Missing => None,
        Found::Unclaimed(present) => holders
            .object(holders.own.as_ref())
            .or_else(|| Some(present.clone())),
        Found::AsClaimed | Found::Drifted => holders.object(holders.own.as_ref()),
    };
    let unchanged = |before: &ObjectAttributes, after: &ObjectAttributes| match found {
        Found::Drifted => false,
        Found::Unclaimed(seen) if holders.own.is_none() && !holders.held_by_others() => {
            already_as_wanted(seen, after)
        }
        _ => same_object(before, after),
    };
    match (before, after) {
        (None, Some(after)) => Write::Create(after),
        (Some(_), None) => Write::Delete,
        (None, None) => Write::Nothing,
        (Some(before), Some(after)) if unchanged(&before, &after) => Write::Nothing,
        (Some(_), Some(after)) => Write::Update(after),
    }
}

/// Whether an object read back from the target already is what `wanted` asks for: the same
/// description (and so marker), action and risk, and an expiry within a day of the one asked
/// for (the target keeps whole seconds, and days are counted from when it was written).
pub fn already_as_wanted(seen: &ObjectAttributes, wanted: &ObjectAttributes) -> bool {
    let day = chrono::Duration::days(1);
    let expiry = match (expiry_rank(seen), expiry_rank(wanted)) {
        (ExpiryRank::At(a), ExpiryRank::At(b)) => (a - b).abs() <= day,
        (a, b) => a == b,
    };
    seen.key == wanted.key
        && seen.description == wanted.description
        && seen.scan_action == wanted.scan_action
        && seen.risk_level == wanted.risk_level
        && expiry
}

/// A claim's attributes as the ledger holds them. Claims of one-off blocks written before
/// claims had a value key get it from `key_of` (the value's kind on this target).
pub fn attributes(
    entry: &LedgerEntry,
    key_of: &dyn Fn(Kind) -> Option<String>,
) -> ObjectAttributes {
    let mut attributes = ObjectAttributes::deserialize(&entry.attributes)
        .unwrap_or_else(|_| ObjectAttributes::new(String::new(), String::new()));
    if attributes.key.is_empty()
        && let Some(key) = key_of(entry.kind)
    {
        attributes.key = key;
    }
    attributes
}

/// The claims of `entries` per object, split by whether `own` (a ledger key) made them.
pub fn by_object<'a>(
    own: &str,
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
    key_of: &dyn Fn(Kind) -> Option<String>,
) -> HashMap<(Kind, String), Holders> {
    let mut objects: HashMap<(Kind, String), Holders> = HashMap::new();
    for entry in entries {
        let holders = objects
            .entry((entry.kind, entry.value.clone()))
            .or_default();
        let attributes = attributes(entry, key_of);
        if entry.key == own {
            holders.own = Some(attributes);
        } else {
            holders.others.push((entry.key.clone(), attributes));
        }
    }
    objects
}

/// Claims written before spaces existed join `space` (their ledger's claims are moved into it).
/// Once per ledger and space: the library remembers which space a ledger last joined, so a
/// run does not scan every claim it holds (a million on a Deep Security list) to find none.
pub fn join_space(
    library: &mut dyn store::LibraryBackend,
    ledger: &str,
    space: &str,
) -> Result<(), crate::error::EngineError> {
    let key = crate::keys::claim_space(ledger);
    if library.cursor(&key)?.as_deref() == Some(space) {
        return Ok(());
    }
    library.set_claim_space(ledger, space)?;
    library.set_cursor(&key, space, chrono::Utc::now())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;
    use trendmicro::vision_one::{RiskLevel, ScanAction};

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::days(days)
    }

    fn claim(
        description: &str,
        action: Option<ScanAction>,
        risk: Option<RiskLevel>,
        expiry: ExpiryIntent,
        expires_at: Option<DateTime<Utc>>,
    ) -> ObjectAttributes {
        ObjectAttributes {
            scan_action: action,
            risk_level: risk,
            expiry: Some(expiry),
            expires_at,
            ..ObjectAttributes::new("ip", description.to_owned())
        }
    }

    fn workflow() -> ObjectAttributes {
        claim(
            "wf",
            Some(ScanAction::Log),
            Some(RiskLevel::Medium),
            ExpiryIntent::Days(30),
            Some(at(30)),
        )
    }

    fn trigger() -> ObjectAttributes {
        claim(
            "siem",
            Some(ScanAction::Block),
            Some(RiskLevel::High),
            ExpiryIntent::Days(2),
            Some(at(2)),
        )
    }

    #[test]
    fn the_strongest_attribute_wins_each_and_the_strongest_claim_names_it() {
        let (w, t) = (workflow(), trigger());
        let both = strongest([("v1/a", &w), ("v1/hook:siem", &t)]).unwrap();
        assert_eq!(both.scan_action, Some(ScanAction::Block));
        assert_eq!(both.risk_level, Some(RiskLevel::High));
        assert_eq!(
            both.description, "siem",
            "block/high is the strongest claim"
        );
        assert_eq!(both.expires_at, Some(at(30)), "the later expiry wins");
        let never = claim("n", None, None, ExpiryIntent::Never, None);
        let with_never = strongest([("a", &w), ("b", &never)]).unwrap();
        assert_eq!(with_never.expiry, Some(ExpiryIntent::Never));
        let customer = claim("c", None, None, ExpiryIntent::Customer, None);
        let dated = strongest([("a", &customer), ("b", &w)]).unwrap();
        assert_eq!(
            dated.expires_at,
            Some(at(30)),
            "a stated date beats the default"
        );
    }

    #[test]
    fn a_claim_leaving_writes_only_when_it_mattered() {
        let holders = Holders {
            own: Some(trigger()),
            others: vec![("v1/a".into(), workflow())],
        };
        // The trigger was the strongest: its lift rewrites the object to the workflow's wish.
        assert_eq!(
            decide(&holders, None, Found::AsClaimed),
            Write::Update(strongest([("v1/a", &workflow())]).unwrap())
        );
        // The workflow leaving a trigger's object changes nothing... but the expiry it added.
        let holders = Holders {
            own: Some(workflow()),
            others: vec![("v1/hook:siem".into(), trigger())],
        };
        assert!(matches!(
            decide(&holders, None, Found::AsClaimed),
            Write::Update(_)
        ));
        let same = Holders {
            own: Some(workflow()),
            others: vec![("v1/b".into(), workflow())],
        };
        assert_eq!(decide(&same, None, Found::AsClaimed), Write::Nothing);
        assert!(matches!(
            decide(&same, same.own.as_ref(), Found::Drifted),
            Write::Update(_)
        ));
        assert!(matches!(
            decide(&same, same.own.as_ref(), Found::Missing),
            Write::Create(_)
        ));
        let last = Holders {
            own: Some(workflow()),
            others: vec![],
        };
        assert_eq!(decide(&last, None, Found::AsClaimed), Write::Delete);
        assert_eq!(decide(&last, None, Found::Missing), Write::Nothing);
        let none = Holders::default();
        let w = workflow();
        assert!(matches!(
            decide(&none, Some(&w), Found::AsClaimed),
            Write::Create(_)
        ));
        let orphan = strongest([("", &w)]).unwrap();
        assert_eq!(
            decide(&none, Some(&w), Found::Unclaimed(&orphan)),
            Write::Nothing,
            "an orphan that already holds what we want is only recorded"
        );
        assert_eq!(
            decide(&none, None, Found::Unclaimed(&orphan)),
            Write::Delete
        );
    }

    fn any_claim() -> impl Strategy<Value = ObjectAttributes> {
        (
            prop_oneof![
                Just(None),
                Just(Some(ScanAction::Log)),
                Just(Some(ScanAction::Block))
            ],
            prop_oneof![
                Just(None),
                Just(Some(RiskLevel::Low)),
                Just(Some(RiskLevel::Medium)),
                Just(Some(RiskLevel::High))
            ],
            prop_oneof![
                Just((ExpiryIntent::Never, None)),
                Just((ExpiryIntent::Customer, None)),
                (1i64..90).prop_map(|d| (ExpiryIntent::Days(30), Some(at(d)))),
            ],
            "[a-c]",
        )
            .prop_map(|(action, risk, (expiry, expires_at), d)| {
                claim(&d, action, risk, expiry, expires_at)
            })
    }

    proptest! {
        /// The object never depends on the order claims arrive in, and removing a claim
        /// weaker than another never changes it.
        #[test]
        fn strongest_is_order_free(mut claims in prop::collection::vec(any_claim(), 1..5)) {
            let keyed: Vec<(String, ObjectAttributes)> = claims
                .drain(..)
                .enumerate()
                .map(|(i, c)| (format!("t/w{i}"), c))
                .collect();
            let forward = strongest(keyed.iter().map(|(k, c)| (k.as_str(), c))).unwrap();
            let backward = strongest(keyed.iter().rev().map(|(k, c)| (k.as_str(), c))).unwrap();
            prop_assert_eq!(&forward, &backward);
            for (key, c) in &keyed {
                prop_assert!(action_rank(&forward) >= action_rank(c), "{}", key);
                prop_assert!(risk_rank(&forward) >= risk_rank(c));
                prop_assert!(expiry_rank(&forward) >= expiry_rank(c));
            }
        }
    }

    #[test]
    fn claims_join_their_space_once_and_again_when_it_changes() {
        use store::LibraryBackend;
        let dir = tempfile::tempdir().unwrap();
        let mut library = store::SqliteLibrary::open(dir.path().join("l.db")).unwrap();
        let claim = |value: &str| store::LedgerEntry {
            key: "v1/flow".to_owned(),
            space: String::new(),
            kind: indicator::Kind::Domain,
            value: value.to_owned(),
            attributes: serde_json::json!({}),
            remote_id: None,
            pushed_at: at(0),
        };
        library
            .ledger_upsert(&[claim("a.example"), claim("b.example")])
            .unwrap();
        let spaces = |library: &store::SqliteLibrary| -> Vec<String> {
            let claims = library.ledger("v1/flow").unwrap();
            claims.into_iter().map(|c| c.space).collect()
        };

        join_space(&mut library, "v1/flow", "v1#suspicious").unwrap();
        assert_eq!(spaces(&library), ["v1#suspicious", "v1#suspicious"]);
        let key = crate::keys::claim_space("v1/flow");
        assert_eq!(
            library.cursor(&key).unwrap().as_deref(),
            Some("v1#suspicious")
        );
        join_space(&mut library, "v1/flow", "v1#suspicious").unwrap();
        assert_eq!(spaces(&library), ["v1#suspicious", "v1#suspicious"]);

        // The workflow moved to another list: its claims follow.
        join_space(&mut library, "v1/flow", "v1#exceptions").unwrap();
        assert_eq!(spaces(&library), ["v1#exceptions", "v1#exceptions"]);
        assert_eq!(
            library.cursor(&key).unwrap().as_deref(),
            Some("v1#exceptions")
        );
    }
}
