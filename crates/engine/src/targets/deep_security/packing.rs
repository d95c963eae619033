//! Deep Security IP-list packing: the collection's networks spread over lists named
//! `<name>_0`, `<name>_1`, … of at most 32,000 characters each.
//!
//! The lists are iocsync's own (created with this library's marker, or adopted on purpose):
//! entries a console user adds to them are kept on ordinary runs and reported, and only a
//! manual run with "clear on manual run" makes a list exactly its share of the collection.
//! Removals pass the workflow's brake like any other target's.
//!
//! Packing is stable so that a small change rewrites few parts: an item stays in the part the
//! ledger says it lives in, new items go first-fit into the parts with room (lowest index
//! first, so a run that was killed places them the same way again), and only parts whose
//! content changed are written. Parts no longer needed are emptied, never deleted (firewall
//! rules refer to lists by ID). A manual run with "clear on manual run" writes every part with
//! exactly its share of the collection, dropping whatever else the list holds (entries added in
//! the console): items keep their parts, so none is missing between two writes and no list is
//! ever empty in between.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use indicator::Kind;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use store::{IndicatorRecord, LedgerEntry};

use super::mapping;
use crate::plan::{Change, Plan, PlanInput, Skip};
use config::{IpListParams, Workflow};

/// One IP list to write with its whole new content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartWrite {
    pub index: u32,
    pub name: String,
    /// The list's ID when the ledger knows it (else it is found by name, or created).
    pub list_id: Option<u32>,
    /// iocsync's entries of the part after the write.
    pub items: Vec<String>,
    /// iocsync's entries of the part before the write (what the ledger says): whatever else
    /// the list holds was added by someone else and is kept, unless `clear`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ours_before: Vec<String>,
    /// Make the list exactly `items`, dropping entries others added (manual clear).
    #[serde(default)]
    pub clear: bool,
}

/// The attributes of a claim on an IP-list item: the index of the part it lives in, as a bare
/// number. (Libraries written before this held `{"part": N}`, read by [`part_of`] as well:
/// a one-key JSON object costs a whole B-tree node, some 600 bytes, and a first sync of a
/// million addresses holds a million of them.)
pub fn part_attributes(part: u32) -> serde_json::Value {
    serde_json::Value::from(part)
}

/// The part a claim's or a change's attributes place an item in (`N` or `{"part": N}`).
pub fn part_of(attributes: &serde_json::Value) -> Option<u32> {
    attributes
        .as_u64()
        .or_else(|| attributes.get("part").and_then(serde_json::Value::as_u64))
        .and_then(|part| u32::try_from(part).ok())
}

/// The name of part `index` of list `name`.
pub fn part_name(name: &str, index: u32) -> String {
    format!("{name}_{index}")
}

/// The kind of an item as written on an IP list.
pub fn item_kind(item: &str) -> Kind {
    if item.contains('/') {
        Kind::Cidr
    } else if item.contains(':') {
        Kind::Ipv6
    } else {
        Kind::Ipv4
    }
}

/// The ledger's parts, without their items: each one's size as the list counts it, and its
/// list ID. The items themselves are gathered only for the parts a run writes.
struct Placed {
    sizes: BTreeMap<u32, PartSize>,
    ids: BTreeMap<u32, u32>,
}

/// A part's items counted: their characters and how many they are.
#[derive(Debug, Default, Clone, Copy)]
struct PartSize {
    chars: usize,
    items: usize,
}

impl PartSize {
    /// The characters the list's text takes: its items and a separator between each two.
    fn len(self) -> usize {
        self.chars + self.items.saturating_sub(1)
    }
}

fn placed(ledger: &[LedgerEntry]) -> Placed {
    let mut placed = Placed {
        sizes: BTreeMap::new(),
        ids: BTreeMap::new(),
    };
    for entry in ledger {
        let part = placed_in(entry);
        let size = placed.sizes.entry(part).or_default();
        size.chars += entry.value.len();
        size.items += 1;
        if let Some(id) = entry.remote_id.as_deref().and_then(|id| id.parse().ok()) {
            placed.ids.insert(part, id);
        }
    }
    placed
}

/// The part the ledger places a claim in (part 0 when its attributes name none).
fn placed_in(entry: &LedgerEntry) -> u32 {
    part_of(&entry.attributes).unwrap_or(0)
}

/// The items the ledger places in each part `wanted` picks, in value order.
fn contents(ledger: &[LedgerEntry], wanted: impl Fn(u32) -> bool) -> BTreeMap<u32, BTreeSet<&str>> {
    let mut parts: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
    for entry in ledger {
        let part = placed_in(entry);
        if wanted(part) {
            parts.entry(part).or_default().insert(&entry.value);
        }
    }
    parts
}

/// Plans a Deep Security "Export Indicators" run into `plan`.
pub(crate) fn plan_ip_list(
    workflow: &Workflow,
    params: &IpListParams,
    allowed: &[&IndicatorRecord],
    input: &PlanInput<'_>,
    plan: &mut Plan,
) {
    let mut nets = Vec::with_capacity(allowed.len());
    for record in allowed {
        match mapping::ip_list(record, params) {
            Ok(net) => nets.push(net),
            Err(reason) => plan.skip(Skip {
                kind: record.kind,
                value: record.value.clone(),
                reason,
            }),
        }
    }
    let desired = desired_items(nets, params.aggregate);
    let clear = input.manual && params.clear_on_manual_run;
    pack_stable(workflow, params, &desired, input, clear, plan);
}

/// The items to hold, in priority order, without repeats. An aggregated network takes the
/// priority of its best member, so `objects_per_run` sends the most important first.
fn desired_items(nets: Vec<IpNet>, aggregate: bool) -> Vec<(Kind, String)> {
    let nets = if aggregate {
        by_priority(indicator::aggregate::aggregate(nets.iter().copied()), &nets)
    } else {
        let mut seen = HashSet::new();
        nets.into_iter().filter(|net| seen.insert(*net)).collect()
    };
    nets.iter().map(mapping::ip_list_item).collect()
}

/// Where a network starts, comparable across families (IPv4 first).
fn start(net: &IpNet) -> (bool, u128) {
    match net {
        IpNet::V4(n) => (false, u128::from(n.network().to_bits())),
        IpNet::V6(n) => (true, n.network().to_bits()),
    }
}

/// Orders `aggregated` (disjoint, in address order) by the first of `members` (in priority
/// order) each one covers.
fn by_priority(mut aggregated: Vec<IpNet>, members: &[IpNet]) -> Vec<IpNet> {
    aggregated.sort_by_key(start);
    let mut rank = vec![usize::MAX; aggregated.len()];
    for (position, member) in members.iter().enumerate() {
        let after = aggregated.partition_point(|a| start(a) <= start(member));
        if let Some(index) = after
            .checked_sub(1)
            .filter(|&i| aggregated[i].contains(member))
        {
            rank[index] = rank[index].min(position);
        }
    }
    let mut ranked: Vec<(usize, IpNet)> = rank.into_iter().zip(aggregated).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, net)| net).collect()
}

/// The order claims are compared in: the libraries' own (`ORDER BY kind, value`, byte by
/// byte), so the ledger as read needs no sorting.
fn claim_order(kind: Kind, value: &str) -> (&'static str, &str) {
    (kind.as_str(), value)
}

/// What the collection wants against what the ledger holds.
struct Difference<'a> {
    /// Desired items no part holds yet, in priority order.
    adds: Vec<&'a (Kind, String)>,
    /// Claims on items no longer desired, in claim order.
    removals: Vec<&'a LedgerEntry>,
}

/// [`Difference`] by one merge of the desired items and the ledger, both in claim order: no
/// set or map of either is built (a million of each would be two more copies of the list).
fn difference<'a>(desired: &'a [(Kind, String)], ledger: &'a [LedgerEntry]) -> Difference<'a> {
    let wanted_key = |i: &usize| claim_order(desired[*i].0, &desired[*i].1);
    fn claim_key<'e>(entry: &&'e LedgerEntry) -> (&'static str, &'e str) {
        claim_order(entry.kind, &entry.value)
    }
    let mut wanted: Vec<usize> = (0..desired.len()).collect();
    wanted.sort_unstable_by(|a, b| wanted_key(a).cmp(&wanted_key(b)));
    let mut claims: Vec<&LedgerEntry> = ledger.iter().collect();
    // A library whose text order is not byte order (a PostgreSQL collation) lists them otherwise.
    if !claims.is_sorted_by(|a, b| claim_key(a) <= claim_key(b)) {
        claims.sort_unstable_by(|a, b| claim_key(a).cmp(&claim_key(b)));
    }
    let mut adds: Vec<usize> = Vec::new();
    let mut removals = Vec::new();
    let (mut w, mut c) = (wanted.iter().peekable(), claims.into_iter().peekable());
    loop {
        match (w.peek(), c.peek()) {
            (Some(i), Some(e)) => match wanted_key(i).cmp(&claim_key(e)) {
                Ordering::Less => adds.extend(w.next().copied()),
                Ordering::Greater => removals.extend(c.next()),
                Ordering::Equal => {
                    w.next();
                    c.next();
                }
            },
            (Some(_), None) => adds.extend(w.by_ref().copied()),
            (None, Some(_)) => removals.extend(c.by_ref()),
            (None, None) => break,
        }
    }
    adds.sort_unstable();
    Difference {
        adds: adds.into_iter().map(|i| &desired[i]).collect(),
        removals,
    }
}

fn change(kind: Kind, value: &str, part: u32, reason: &str) -> Change {
    Change {
        kind,
        value: value.to_owned(),
        attributes: part_attributes(part).into(),
        reason: reason.to_owned(),
        seen: None,
    }
}

/// Removals first, then adds first-fit; only changed parts are written, or every part when
/// `clear` (a manual run with "clear on manual run": the lists get exactly the collection).
fn pack_stable(
    workflow: &Workflow,
    params: &IpListParams,
    desired: &[(Kind, String)],
    input: &PlanInput<'_>,
    clear: bool,
    plan: &mut Plan,
) {
    let Difference {
        mut adds,
        mut removals,
    } = difference(desired, input.ledger);
    if !input.allow_removals
        && let Some(why) = workflow
            .max_removals
            .holds(removals.len(), input.ledger.len())
    {
        // Held items stay in their parts, recorded and on the lists, until released.
        plan.held = removals
            .drain(..)
            .map(|entry| Change {
                kind: entry.kind,
                value: entry.value.clone(),
                attributes: entry.attributes.clone().into(),
                reason: "left the collection (expired, revoked or filtered out)".to_owned(),
                seen: None,
            })
            .collect();
        plan.brake = Some(why);
    }
    let before = removals.len() + adds.len();
    if let Some(room) = params.objects_per_run {
        removals.truncate(room);
        adds.truncate(room - removals.len());
    }
    plan.deferred = before - removals.len() - adds.len();

    let mut placed = placed(input.ledger);
    let mut dirty = BTreeSet::new();
    if clear {
        // Every known part, and at least part 0, so a clear on an empty collection empties it.
        dirty.extend(placed.sizes.keys().copied());
        dirty.insert(0);
    }
    if let Some(remote) = input.remote_parts {
        verify_parts(remote, input.ledger, &mut placed.ids, &mut dirty, plan);
    }
    let mut moved: Vec<(u32, &str, bool)> = Vec::with_capacity(removals.len() + adds.len());
    for entry in removals {
        let part = placed_in(entry);
        if let Some(size) = placed.sizes.get_mut(&part) {
            size.chars = size.chars.saturating_sub(entry.value.len());
            size.items = size.items.saturating_sub(1);
        }
        dirty.insert(part);
        moved.push((part, &entry.value, false));
        plan.removals.push(Change {
            kind: entry.kind,
            value: entry.value.clone(),
            attributes: entry.attributes.clone().into(),
            reason: "left the collection (expired, revoked or filtered out)".to_owned(),
            seen: None,
        });
    }
    let mut sizes: BTreeMap<u32, usize> = placed.sizes.iter().map(|(i, s)| (*i, s.len())).collect();
    for (kind, value) in adds {
        let part = first_fit(&sizes, value.len(), params.max_chars);
        let size = sizes.entry(part).or_default();
        *size += value.len() + usize::from(*size > 0);
        dirty.insert(part);
        moved.push((part, value, true));
        plan.adds
            .push(change(*kind, value, part, "new in the collection"));
    }
    plan.parts = written_parts(params, input.ledger, &placed.ids, &dirty, &moved, clear);
}

/// The parts in `dirty` with their whole new content: what the ledger places in each, less
/// the removals and plus the adds `moved` puts there (`true` for an add).
fn written_parts(
    params: &IpListParams,
    ledger: &[LedgerEntry],
    ids: &BTreeMap<u32, u32>,
    dirty: &BTreeSet<u32>,
    moved: &[(u32, &str, bool)],
    clear: bool,
) -> Vec<PartWrite> {
    let before = contents(ledger, |part| dirty.contains(&part));
    let mut after = before.clone();
    for (part, value, added) in moved {
        let items = after.entry(*part).or_default();
        if *added {
            items.insert(value);
        } else {
            items.remove(value);
        }
    }
    let owned = |items: Option<&BTreeSet<&str>>| -> Vec<String> {
        items
            .map(|s| s.iter().map(|item| (*item).to_owned()).collect())
            .unwrap_or_default()
    };
    dirty
        .iter()
        .map(|&index| PartWrite {
            index,
            name: part_name(&params.list_name, index),
            list_id: ids.get(&index).copied(),
            items: owned(after.get(&index)),
            ours_before: owned(before.get(&index)),
            clear,
        })
        .collect()
}

/// `--verify`: a part whose list is gone or lacks some of iocsync's entries is written again;
/// entries others added are counted, not touched.
fn verify_parts(
    remote: &HashMap<u32, Vec<String>>,
    ledger: &[LedgerEntry],
    ids: &mut BTreeMap<u32, u32>,
    dirty: &mut BTreeSet<u32>,
    plan: &mut Plan,
) {
    let mut foreign = 0;
    for (index, items) in contents(ledger, |_| true) {
        let Some(seen) = remote.get(&index) else {
            ids.remove(&index);
            dirty.insert(index);
            continue;
        };
        let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
        if items.iter().any(|item| !seen.contains(item)) {
            dirty.insert(index);
        }
        foreign += seen.iter().filter(|item| !items.contains(*item)).count();
    }
    if foreign > 0 {
        plan.notes.push(format!(
            "{foreign} entries on the lists were not added by iocsync: kept (a manual run with clear_on_manual_run removes them)"
        ));
    }
}

/// The lowest part with room for an item of `len` characters (a new part after the last when
/// none has room).
fn first_fit(sizes: &BTreeMap<u32, usize>, len: usize, max: usize) -> u32 {
    sizes
        .iter()
        .find(|(_, size)| **size + len + usize::from(**size > 0) <= max)
        .map(|(index, _)| *index)
        .unwrap_or_else(|| sizes.keys().next_back().map_or(0, |last| last + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_read_from_a_bare_number_or_the_older_object() {
        assert_eq!(part_of(&part_attributes(7)), Some(7));
        assert_eq!(part_of(&serde_json::json!({ "part": 3 })), Some(3));
        assert_eq!(part_of(&serde_json::json!({ "key": "ip" })), None);
        assert_eq!(part_of(&serde_json::json!(u64::MAX)), None);
    }

    #[test]
    fn first_fit_takes_the_lowest_part_with_room() {
        let sizes = BTreeMap::from([(0, 95), (1, 10)]);
        assert_eq!(first_fit(&sizes, 4, 100), 0);
        assert_eq!(first_fit(&sizes, 5, 100), 1);
        assert_eq!(first_fit(&sizes, 95, 100), 2);
        assert_eq!(first_fit(&BTreeMap::new(), 5, 100), 0);
    }

    #[test]
    fn aggregation_never_widens() {
        let nets = ["10.0.0.0/25", "10.0.0.128/25", "10.0.1.1/32"]
            .map(|n| n.parse().unwrap())
            .to_vec();
        let items = desired_items(nets, true);
        assert_eq!(
            items,
            vec![
                (Kind::Cidr, "10.0.0.0/24".to_owned()),
                (Kind::Ipv4, "10.0.1.1".to_owned())
            ]
        );
    }

    #[test]
    fn aggregated_networks_keep_their_best_members_priority() {
        let nets = [
            "45.9.9.9/32",
            "10.0.0.128/25",
            "2001:db8::1/128",
            "10.0.0.0/25",
        ]
        .map(|n| n.parse::<IpNet>().unwrap())
        .to_vec();
        let items: Vec<String> = desired_items(nets, true)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(items, ["45.9.9.9", "10.0.0.0/24", "2001:db8::1"]);
    }

    #[test]
    fn item_kinds_follow_their_form() {
        assert_eq!(item_kind("10.0.0.0/8"), Kind::Cidr);
        assert_eq!(item_kind("2001:db8::1"), Kind::Ipv6);
        assert_eq!(item_kind("1.2.3.4"), Kind::Ipv4);
    }
}
