//! The rules a guard holds and the small tables that find them fast. Several rules can share one
//! key (an allowlisted domain that is also on a warninglist), so a key maps to a *rule set*;
//! identical sets are stored once, which keeps a million-entry warninglist at one `u32` a key.

use std::collections::hash_map::Entry;

use foldhash::HashMap;
use indicator::Kind;

/// Which indicator kinds a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KindMask(u16);

impl KindMask {
    pub(crate) const ALL: KindMask = KindMask(u16::MAX);
    pub(crate) const NONE: KindMask = KindMask(0);

    pub(crate) fn of(kinds: &[Kind]) -> KindMask {
        kinds.iter().fold(KindMask::NONE, |m, k| m.with(*k))
    }

    pub(crate) fn with(self, kind: Kind) -> KindMask {
        KindMask(self.0 | 1 << kind as u16)
    }

    pub(crate) fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u16) != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One rule: its name in verdicts, the kinds it covers, and where it comes from (for reasons).
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `allowlist:domain:example.com`, `warninglist:List of RFC 1918 CIDR blocks`, ...
    pub(crate) name: String,
    pub(crate) kinds: KindMask,
    /// "the allowlist" or "MISP warninglist `name`".
    pub(crate) origin: String,
}

pub(crate) type RuleId = u32;
pub(crate) type SetId = u32;

/// Every rule, and the distinct sets of rules keys map to. Rule ids are precedence: the
/// allowlist is added first, so it is the one named when a value is on both.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    rules: Vec<Rule>,
    sets: Vec<Vec<RuleId>>,
    set_ids: HashMap<Vec<RuleId>, SetId>,
    /// The set holding only rule `i`, once made: the common case, kept off the hash map.
    singletons: Vec<Option<SetId>>,
}

impl Rules {
    pub(crate) fn add(&mut self, rule: Rule) -> RuleId {
        self.rules.push(rule);
        RuleId::try_from(self.rules.len() - 1).unwrap_or(RuleId::MAX)
    }

    pub(crate) fn get(&self, id: RuleId) -> &Rule {
        &self.rules[id as usize]
    }

    /// The set of `existing` (if any) plus `rule`.
    pub(crate) fn extend(&mut self, existing: Option<SetId>, rule: RuleId) -> SetId {
        let Some(existing) = existing else {
            return self.singleton(rule);
        };
        let mut set = self.sets[existing as usize].clone();
        match set.binary_search(&rule) {
            Ok(_) => existing,
            Err(at) => {
                set.insert(at, rule);
                self.intern(set)
            }
        }
    }

    fn singleton(&mut self, rule: RuleId) -> SetId {
        let slot = rule as usize;
        if self.singletons.len() <= slot {
            self.singletons.resize(slot + 1, None);
        }
        if let Some(id) = self.singletons[slot] {
            return id;
        }
        let id = self.intern(vec![rule]);
        self.singletons[slot] = Some(id);
        id
    }

    fn intern(&mut self, set: Vec<RuleId>) -> SetId {
        if let Some(id) = self.set_ids.get(&set) {
            return *id;
        }
        let id = SetId::try_from(self.sets.len()).unwrap_or(SetId::MAX);
        self.sets.push(set.clone());
        self.set_ids.insert(set, id);
        id
    }

    /// The first rule of `set` (by precedence) that applies to `kind`.
    pub(crate) fn first_for(&self, set: SetId, kind: Kind) -> Option<RuleId> {
        self.sets[set as usize]
            .iter()
            .copied()
            .find(|r| self.rules[*r as usize].kinds.contains(kind))
    }
}

/// Exact names (URLs, hashes, warninglist strings) or domain suffixes, each to a rule set.
/// foldhash rather than SipHash: keys come from the configuration, and lookups of feed values
/// cannot grow the table, so hash flooding is not a concern while speed is (millions of keys).
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    map: HashMap<Box<str>, SetId>,
}

impl NameTable {
    pub(crate) fn insert(&mut self, rules: &mut Rules, name: String, rule: RuleId) {
        match self.map.entry(name.into_boxed_str()) {
            Entry::Occupied(mut slot) => {
                let set = rules.extend(Some(*slot.get()), rule);
                slot.insert(set);
            }
            Entry::Vacant(slot) => {
                slot.insert(rules.extend(None, rule));
            }
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<SetId> {
        self.map.get(name).copied()
    }

    /// The domain itself or its closest listed parent: `a.b.example.com` is looked up as
    /// itself, then `b.example.com`, `example.com`, `com`. Returns the matching entry.
    pub(crate) fn find_suffix<'h>(
        &self,
        rules: &Rules,
        host: &'h str,
        kind: Kind,
    ) -> Option<(&'h str, RuleId)> {
        let mut candidate = host;
        loop {
            if let Some(rule) = self.get(candidate).and_then(|s| rules.first_for(s, kind)) {
                return Some((candidate, rule));
            }
            candidate = candidate.split_once('.')?.1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
