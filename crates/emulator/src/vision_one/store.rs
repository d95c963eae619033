//! The Suspicious Object List with the indexes its limits need: a count per type and the
//! expiring objects of each type in expiry order, so counting, evicting the object closest
//! to expiry and sweeping expired objects cost no full scan of up to 60,000 objects.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{ObjectType, SuspiciousObject};

/// Key of an object in a Vision One list: its type and its identity (see
/// [`ObjectType::identity`]).
pub type ObjectKey = (ObjectType, String);

/// Expiry index entry: type, expiry, sequence number (tie-break), identity.
type ExpiryEntry = (ObjectType, i64, u64, String);

fn type_index(kind: ObjectType) -> usize {
    ObjectType::ALL.iter().position(|t| *t == kind).unwrap_or(0)
}

fn expiry_entry(object: &SuspiciousObject, identity: &str) -> Option<ExpiryEntry> {
    object
        .expires
        .map(|expires| (object.kind, expires, object.seq, identity.to_owned()))
}

/// Suspicious objects by key, with per-type counts and an expiry index.
#[derive(Debug, Clone, Default)]
pub struct SuspiciousStore {
    objects: BTreeMap<ObjectKey, SuspiciousObject>,
    counts: [usize; 6],
    expiring_counts: [usize; 6],
    by_expiry: BTreeSet<ExpiryEntry>,
}

impl SuspiciousStore {
    pub fn get(&self, key: &ObjectKey) -> Option<&SuspiciousObject> {
        self.objects.get(key)
    }

    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.objects.contains_key(key)
    }

    /// Inserts or replaces the object stored under `key`.
    pub fn insert(&mut self, key: ObjectKey, object: SuspiciousObject) {
        self.remove(&key);
        if let Some(entry) = expiry_entry(&object, &key.1) {
            self.by_expiry.insert(entry);
            self.expiring_counts[type_index(key.0)] += 1;
        }
        self.counts[type_index(key.0)] += 1;
        self.objects.insert(key, object);
    }

    pub fn remove(&mut self, key: &ObjectKey) -> Option<SuspiciousObject> {
        let removed = self.objects.remove(key)?;
        if let Some(entry) = expiry_entry(&removed, &key.1) {
            self.by_expiry.remove(&entry);
            self.expiring_counts[type_index(key.0)] -= 1;
        }
        self.counts[type_index(key.0)] -= 1;
        Some(removed)
    }

    pub fn values(&self) -> impl Iterator<Item = &SuspiciousObject> {
        self.objects.values()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Objects of one type.
    pub fn count(&self, kind: ObjectType) -> usize {
        self.counts[type_index(kind)]
    }

    /// Keys of the expiring objects of `kind`, closest to expiry first.
    pub fn expiring(&self, kind: ObjectType) -> impl Iterator<Item = ObjectKey> + '_ {
        self.by_expiry
            .range((kind, i64::MIN, 0, String::new())..)
            .take_while(move |entry| entry.0 == kind)
            .map(|(kind, _, _, identity)| (*kind, identity.clone()))
    }

    /// Number of expiring objects of `kind`.
    pub fn expiring_count(&self, kind: ObjectType) -> usize {
        self.expiring_counts[type_index(kind)]
    }

    /// Removes every object whose expiry is at or before `now`.
    pub fn remove_expired(&mut self, now: i64) {
        let expired: Vec<ObjectKey> = ObjectType::ALL
            .into_iter()
            .flat_map(|kind| {
                self.by_expiry
                    .range((kind, i64::MIN, 0, String::new())..)
                    .take_while(move |entry| entry.0 == kind && entry.1 <= now)
                    .map(|(kind, _, _, identity)| (*kind, identity.clone()))
            })
            .collect();
        for key in expired {
            self.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision_one::model::{RiskLevel, ScanAction};

    fn object(kind: ObjectType, value: &str, expires: Option<i64>, seq: u64) -> SuspiciousObject {
        SuspiciousObject {
            kind,
            value: value.to_owned(),
            description: None,
            scan_action: ScanAction::Block,
            risk_level: RiskLevel::High,
            last_modified: 0,
            expires,
            seq,
        }
    }

    #[test]
    fn indexes_follow_inserts_replacements_and_removals() {
        let mut store = SuspiciousStore::default();
        let ip = |v: &str| (ObjectType::Ip, v.to_owned());
        store.insert(ip("a"), object(ObjectType::Ip, "a", Some(30), 1));
        store.insert(ip("b"), object(ObjectType::Ip, "b", Some(10), 2));
        store.insert(ip("c"), object(ObjectType::Ip, "c", None, 3));
        store.insert(
            (ObjectType::Url, "u".into()),
            object(ObjectType::Url, "u", Some(5), 4),
        );
        assert_eq!(store.count(ObjectType::Ip), 3);
        assert_eq!(
            store.expiring(ObjectType::Ip).collect::<Vec<_>>(),
            [ip("b"), ip("a")]
        );
        // Replacing b with a never-expiring object takes it out of the expiry index.
        store.insert(ip("b"), object(ObjectType::Ip, "b", None, 5));
        assert_eq!(store.count(ObjectType::Ip), 3);
        assert_eq!(store.expiring_count(ObjectType::Ip), 1);
        assert_eq!(store.expiring(ObjectType::Ip).count(), 1);
        store.remove_expired(30);
        assert_eq!(store.count(ObjectType::Ip), 2);
        assert_eq!(store.count(ObjectType::Url), 0);
        assert!(store.remove(&ip("zzz")).is_none());
        assert_eq!(store.len(), 2);
    }
}
