//! What a plan is, as a value: its changes, skips and notes ([`Plan`]), what was found on the
//! target ([`Remote`]), and what a plan is computed from ([`PlanInput`]). `iocsync plan`
//! prints it, `--json` serialises it, and apply sends exactly it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use guard::Guard;
use indicator::Kind;
use serde::{Deserialize, Serialize};
use store::{GuardDrop, IndicatorRecord, LedgerEntry};

use crate::claims::Found;
use crate::keys::WorkflowKeys;
use crate::mapping::ObjectAttributes;
use crate::marker::{Maker, Marker};
use crate::targets::deep_security::packing::PartWrite;
use config::{Action, Capacity, Workflow};

/// The members a capped read left unread (see [`crate::members`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unread {
    /// How many, by the reason the plan counts them under.
    pub counts: Vec<(String, u64)>,
    /// Why each value the workflow claims was not read: still a member, below the cap's line
    /// or of a kind the action takes none of. (A claimed value absent here left the
    /// collection.)
    pub claims: HashMap<(Kind, String), String>,
}

/// What a `--verify` or a look-up found on the target for a change (absent: not read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seen {
    /// On the target with no claim on it, holding these attributes (an orphan of this library
    /// taken back, a foreign object adopted, or an orphan to remove). Boxed, as in
    /// [`Attributes`]: rare, and a change is small without it.
    Unclaimed(Box<ObjectAttributes>),
    /// Claimed, but gone from the target.
    Missing,
    /// Claimed, but changed on the target.
    Drifted,
}

impl Seen {
    /// The form [`crate::claims::decide`] takes.
    pub fn found(seen: Option<&Seen>) -> Found<'_> {
        match seen {
            None => Found::AsClaimed,
            Some(Seen::Unclaimed(attributes)) => Found::Unclaimed(attributes),
            Some(Seen::Missing) => Found::Missing,
            Some(Seen::Drifted) => Found::Drifted,
        }
    }
}

/// One value to send or remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    pub value: String,
    /// What this workflow's claim asks for (Vision One, XDR, HTTP) or where the item lives
    /// (Deep Security). For a removal or release: the claim as it was.
    pub attributes: Attributes,
    /// Why this change is in the plan.
    pub reason: String,
    /// What the target was found to hold, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seen>,
}

/// A change's attributes: typed where the plan made them for a per-object target, JSON where
/// they are carried as they were recorded (a ledger row's claim, a Deep Security item's part).
/// Typed, a 60,000-object plan does not build and parse a JSON map per object; `--json` prints
/// both the same way.
///
/// The typed form is boxed: a change is then about 100 bytes instead of 330, which is 230 MB
/// of a Deep Security plan of a million adds (whose attributes are JSON, a part number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Attributes {
    Object(Box<ObjectAttributes>),
    Json(serde_json::Value),
}

impl Attributes {
    /// The attributes as a per-object claim, read from JSON when they came as JSON.
    pub fn object(&self) -> Result<Cow<'_, ObjectAttributes>, serde_json::Error> {
        match self {
            Attributes::Object(attributes) => Ok(Cow::Borrowed(&**attributes)),
            Attributes::Json(value) => ObjectAttributes::deserialize(value).map(Cow::Owned),
        }
    }

    /// The attributes as JSON (what the ledger records).
    pub fn json(&self) -> Cow<'_, serde_json::Value> {
        match self {
            Attributes::Object(attributes) => {
                Cow::Owned(serde_json::to_value(attributes).unwrap_or_default())
            }
            Attributes::Json(value) => Cow::Borrowed(value),
        }
    }
}

impl From<ObjectAttributes> for Attributes {
    fn from(attributes: ObjectAttributes) -> Self {
        Attributes::Object(Box::new(attributes))
    }
}

impl From<serde_json::Value> for Attributes {
    fn from(value: serde_json::Value) -> Self {
        Attributes::Json(value)
    }
}

/// How many skips of one reason a plan lists (the rest are counted): a plan that leaves
/// millions over a cap stays small.
pub const SKIP_SAMPLE: u64 = 100;

/// The reason a skip is counted under: its text up to the first `:` (the guard's rule, "no
/// room on the target's list"), without the details that differ value by value.
fn reason_of(reason: &str) -> String {
    reason.split(':').next().unwrap_or(reason).trim().to_owned()
}

/// A member that is not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub kind: Kind,
    pub value: String,
    pub reason: String,
}

/// Everything one run of a workflow would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub workflow: String,
    pub target: String,
    pub action: Action,
    /// The ledger key the workflow's claims are recorded under.
    pub ledger: String,
    /// The list on the target its objects live in (shared by every claimant on it).
    #[serde(default)]
    pub space: String,
    pub at: DateTime<Utc>,
    pub adds: Vec<Change>,
    pub updates: Vec<Change>,
    pub removals: Vec<Change>,
    /// Claims recorded without a write: the object already is what they ask for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<Change>,
    /// Claims dropped on objects other claimants keep (rewritten when the dropped claim was
    /// the strongest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Change>,
    /// Objects of other claimants found gone from the target, added back (`--verify`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<Change>,
    /// Removals and releases the brake held: not sent until `--allow-removals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Change>,
    /// Why the brake held them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brake: Option<String>,
    /// Skipped members: the first [`SKIP_SAMPLE`] of each reason (every one with `all_skips`).
    pub skips: Vec<Skip>,
    /// How many members were skipped for each reason (its text up to the first `:`), listed
    /// or not, the members a capped read left unread included.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, u64>,
    /// List every skip, not a sample of each reason (`plan --all-skips`, look-ups).
    #[serde(skip)]
    pub all_skips: bool,
    /// The values this workflow claims, whose skip reasons are kept whether listed or not
    /// (a claim's removal says why the value is no longer sent): their hashes (`claim_hash`), not
    /// a copy of every claimed value (a hash shared by chance keeps one reason too many).
    #[serde(skip)]
    pub claimed: HashSet<u64>,
    /// Why each claimed value was skipped.
    #[serde(skip)]
    pub claimed_skips: HashMap<(Kind, String), String>,
    /// Changes left for later runs by `objects_per_run`.
    pub deferred: usize,
    /// Deep Security parts to write, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartWrite>,
    /// Values the guard stopped (recorded by `run`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<GuardDrop>,
    /// What the plan saw that needs no change but a person should know (foreign objects left
    /// alone, objects of another iocsync, adds not checked against the target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A claim's value hashed, for [`Plan::claimed`]: the same in every process (no random keys).
pub(crate) fn claim_hash(kind: Kind, value: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (kind, value).hash(&mut hasher);
    hasher.finish()
}

impl Plan {
    /// A plan of `workflow` at `at` with nothing in it yet.
    pub fn empty(workflow: &Workflow, at: DateTime<Utc>) -> Plan {
        Plan {
            workflow: workflow.name.clone(),
            target: workflow.target.clone(),
            action: workflow.parameters.action(),
            ledger: workflow.ledger_key(),
            space: workflow.space(),
            at,
            adds: Vec::new(),
            updates: Vec::new(),
            removals: Vec::new(),
            joins: Vec::new(),
            releases: Vec::new(),
            restores: Vec::new(),
            held: Vec::new(),
            brake: None,
            skips: Vec::new(),
            skipped: BTreeMap::new(),
            all_skips: false,
            claimed: HashSet::new(),
            claimed_skips: HashMap::new(),
            deferred: 0,
            parts: Vec::new(),
            drops: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Counts `skip` under its reason, and lists it while the reason's sample has room.
    pub fn skip(&mut self, skip: Skip) {
        if self.claimed.contains(&claim_hash(skip.kind, &skip.value)) {
            self.claimed_skips
                .insert((skip.kind, skip.value.clone()), skip.reason.clone());
        }
        let count = self.skipped.entry(reason_of(&skip.reason)).or_default();
        *count += 1;
        if self.all_skips || *count <= SKIP_SAMPLE {
            self.skips.push(skip);
        }
    }

    /// Counts `count` members skipped for `reason` that are not listed (never read).
    pub fn skip_unlisted(&mut self, reason: &str, count: u64) {
        if count > 0 {
            *self.skipped.entry(reason_of(reason)).or_default() += count;
        }
    }

    /// How many members were skipped, listed or not.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Whether some member was skipped for a reason starting with `prefix`.
    pub fn skipped_for(&self, prefix: &str) -> bool {
        self.skipped.keys().any(|reason| reason.starts_with(prefix))
    }

    /// How many changes the plan sends (or records, for joins and releases).
    pub fn changes(&self) -> usize {
        self.adds.len()
            + self.updates.len()
            + self.removals.len()
            + self.joins.len()
            + self.releases.len()
            + self.restores.len()
    }
}

/// One object on a target as read back (`--verify`, or the look-up before adds).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteObject {
    pub attributes: ObjectAttributes,
    pub maker: Maker,
}

/// What the target holds, by value key and value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Remote {
    /// The whole list was read (`--verify`): what is absent is not on the target. Otherwise
    /// only the values looked up were read.
    pub complete: bool,
    pub objects: HashMap<(String, String), RemoteObject>,
}

/// Inputs of a plan besides the workflow.
pub struct PlanInput<'a> {
    /// In the collection's order (for a capped workflow, those read: see [`crate::members`]).
    pub members: &'a [IndicatorRecord],
    /// Members not read: counted by reason, and why each claimed one was not.
    pub unread: &'a Unread,
    /// List every skip (see [`Plan::all_skips`]).
    pub all_skips: bool,
    /// This workflow's claims.
    pub ledger: &'a [LedgerEntry],
    /// Every claim in the workflow's space, this workflow's included.
    pub space: &'a [LedgerEntry],
    pub guard: &'a Guard,
    pub now: DateTime<Utc>,
    /// `run --manual` (Deep Security "clear IP list on manual run").
    pub manual: bool,
    /// What a per-object target holds, when it was read.
    pub remote: Option<&'a Remote>,
    /// Deep Security part contents as read back by `--verify` (part index → items).
    pub remote_parts: Option<&'a HashMap<u32, Vec<String>>>,
    pub marker: &'a Marker,
    /// The room of the target's list (Vision One lists).
    pub capacity: Option<Capacity>,
    /// Values other workflows on the same list want (verify: their orphans are left to them);
    /// `None` when that could not be told, and then no orphan is removed.
    pub wanted_elsewhere: Option<&'a HashSet<(Kind, String)>>,
    /// `--allow-removals`: the brake lets this run's removals go.
    pub allow_removals: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_attributes_print_as_their_json_and_read_back_as_claims() {
        let mut claim = ObjectAttributes::new("ip", "iocsync".into());
        claim.rank = Some(3);
        let typed = Attributes::from(claim.clone());
        let as_json = serde_json::to_value(&claim).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), as_json);
        assert_eq!(typed.json().into_owned(), as_json);
        // A plan read back from `--json`: a claim is typed again, a part stays JSON.
        let read: Attributes = serde_json::from_value(as_json.clone()).unwrap();
        assert_eq!(read, typed);
        let part = serde_json::json!({"part": 7});
        let read: Attributes = serde_json::from_value(part.clone()).unwrap();
        assert_eq!(read, Attributes::Json(part.clone()));
        // A claim recorded as JSON is read as one; a part is not a claim.
        assert_eq!(
            Attributes::Json(as_json).object().unwrap().into_owned(),
            claim
        );
        assert!(Attributes::Json(part).object().is_err());
    }

    /// A plan of a million changes holds a million of these: the large, rare variants are
    /// boxed so each stays small (330 bytes before).
    #[test]
    fn a_change_stays_small() {
        assert!(
            std::mem::size_of::<Change>() <= 112,
            "{}",
            std::mem::size_of::<Change>()
        );
    }
}
