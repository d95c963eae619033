//! One capacity budget per target list. A Vision One suspicious-object list holds a fixed
//! number of objects per type (10,000 for third-party objects) and, when full, evicts the
//! objects closest to expiry by itself — seconds after iocsync reported them blocked. So every
//! claim counts against the list's capacity: workflows together keep at most
//! `capacity − reserve` objects of a type (fewer when one-off and trigger blocks already hold
//! more than the reserve, or objects iocsync did not create take room), and one-off and
//! trigger blocks may fill it to `capacity`, making room deliberately when they must
//! ([`crate::oneoff`]). The product never chooses which of iocsync's objects goes.

use std::collections::HashMap;

use indicator::Kind;

use crate::claims::Holders;
use crate::mapping::Desired;
use crate::plan::{Plan, Remote, Skip};
use crate::targets::vision_one::mapping::v1_key;
use config::Capacity;

/// The bucket an object of `key` (a Vision One value key) counts in.
pub fn bucket(capacity: &Capacity, key: &str) -> String {
    if capacity.per_type {
        key.to_owned()
    } else {
        String::new()
    }
}

/// The bucket of a value of `kind` on a Vision One list.
pub fn bucket_of_kind(capacity: &Capacity, kind: Kind) -> String {
    bucket(capacity, v1_key(kind).unwrap_or_default())
}

/// How one bucket is held now, apart from the planning workflow.
#[derive(Debug, Clone, Copy, Default)]
struct Use {
    /// Objects other workflows claim.
    workflows: usize,
    /// Objects only one-off and trigger blocks claim.
    one_off: usize,
    /// Objects on the list no claim knows (read back by `--verify`).
    unclaimed: usize,
}

impl Use {
    /// How many objects workflows may hold with `one_off` blocks beside them.
    fn room(&self, capacity: &Capacity, one_off: usize) -> usize {
        capacity
            .capacity
            .saturating_sub(capacity.reserve.max(one_off))
            .saturating_sub(self.unclaimed)
    }
}

fn uses(
    capacity: &Capacity,
    objects: &HashMap<(Kind, String), Holders>,
    remote: Option<&Remote>,
) -> HashMap<String, Use> {
    let mut uses: HashMap<String, Use> = HashMap::new();
    for holders in objects.values() {
        let Some((_, any)) = holders.others.first() else {
            continue;
        };
        let entry = uses.entry(bucket(capacity, &any.key)).or_default();
        if holders.held_by_other_workflows() {
            entry.workflows += 1;
        } else {
            entry.one_off += 1;
        }
    }
    if let Some(remote) = remote.filter(|r| r.complete) {
        for (key, value) in remote.objects.keys() {
            let claimed = crate::targets::vision_one::mapping::kind_of(key, value)
                .is_some_and(|kind| objects.contains_key(&(kind, value.clone())));
            if !claimed {
                uses.entry(bucket(capacity, key)).or_default().unclaimed += 1;
            }
        }
    }
    uses
}

/// Keeps the workflow's desired objects (in priority order) that fit the list's budget; the
/// rest are skipped with the numbers that decided it.
pub fn fit(
    desired: Vec<Desired>,
    objects: &HashMap<(Kind, String), Holders>,
    capacity: Capacity,
    remote: Option<&Remote>,
    plan: &mut Plan,
) -> Vec<Desired> {
    let mut uses = uses(&capacity, objects, remote);
    let mut kept = Vec::with_capacity(desired.len());
    for item in desired {
        let holders = objects.get(&(item.kind, item.value.clone()));
        if holders.is_some_and(Holders::held_by_other_workflows) {
            kept.push(item);
            continue;
        }
        let one_off_held = holders.is_some_and(Holders::held_by_others);
        let bucket = bucket(&capacity, &item.attributes.key);
        let now = uses.entry(bucket).or_default();
        let one_off = now.one_off - usize::from(one_off_held);
        if now.workflows < now.room(&capacity, one_off) {
            now.workflows += 1;
            now.one_off = one_off;
            kept.push(item);
        } else {
            plan.skip(Skip {
                kind: item.kind,
                value: item.value,
                reason: format!(
                    "no room on the target's list: {} per {}, {} kept free for one-off and trigger blocks (which hold {}), {} taken by objects iocsync did not create, {} by this and other workflows",
                    capacity.capacity,
                    if capacity.per_type { "type" } else { "list" },
                    capacity.reserve,
                    now.one_off,
                    now.unclaimed,
                    now.workflows,
                ),
            });
        }
    }
    kept
}
