//! Publishing a collection as a TAXII 2.1 server does: each value of the collection that the
//! guard lets through becomes a STIX 2.1 indicator with an id that stays the value's for as
//! long as it is served; a value whose content changes (score, tags, validity) is published
//! again with a new `modified`; a value that leaves the collection is published as
//! `revoked: true`, so a consumer that honours revocation removes it. A revoked STIX object is
//! never un-revoked: a value that comes back gets a new id (its generation). The store keeps
//! the latest version of each and the order of changes; [`publish`] brings that up to date
//! with the library, and the daemon calls it before answering a poll.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use chrono::{DateTime, SecondsFormat, Utc};
use config::{Config, TaxiiCollection};
use indicator::Kind;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::taxii::Published;
use store::{IndicatorRecord, LibraryBackend};
use uuid::Uuid;

use crate::error::EngineError;

/// What one publication changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Publication {
    /// Values published for the first time (or again after a revocation).
    pub added: usize,
    /// Values whose object changed.
    pub updated: usize,
    /// Values published as revoked.
    pub revoked: usize,
    /// Members the guard kept out.
    pub guarded: usize,
}

/// iocsync's namespace for the ids of the objects it serves (UUID v5 names within it).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f3e_2a1c_9b47_4d0e_8c55_1f2a_7e9d_3b60);

/// Brings `served`'s publication up to date with its collection as of `now`.
pub fn publish(
    config: &Config,
    library: &mut dyn LibraryBackend,
    served: &TaxiiCollection,
    now: DateTime<Utc>,
) -> Result<Publication, EngineError> {
    let collection = crate::run::collection(config, &*library, &served.collection)?;
    let guard = served
        .guard
        .then(|| crate::oneoff::blocking_guard(config))
        .transpose()?;
    let mut publication = Publication::default();
    let mut wanted = BTreeMap::new();
    library.scan(&collection, now, None, &mut |record| {
        let allowed = guard.as_ref().is_none_or(|guard| {
            matches!(
                guard.check(&crate::plan::as_indicator(&record)),
                guard::Verdict::Allow
            )
        });
        if allowed {
            wanted.insert((record.kind, record.value.clone()), record);
        } else {
            publication.guarded += 1;
        }
        ControlFlow::Continue(())
    })?;
    let published: HashMap<(Kind, String), Published> = library
        .published(&served.name)?
        .into_iter()
        .map(|p| ((p.kind, p.value.clone()), p))
        .collect();
    let mut changes = Vec::new();
    for (key, record) in &wanted {
        let known = published.get(key);
        if let Some(change) = changed(&served.name, record, known, now, &mut publication) {
            changes.push(change);
        }
    }
    for (key, gone) in &published {
        if !gone.revoked && !wanted.contains_key(key) {
            changes.push(revoked(gone, now));
            publication.revoked += 1;
        }
    }
    changes.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
    library.publish(&served.name, &changes, now)?;
    Ok(publication)
}

/// The new version of `record`'s object, when it differs from the one published (`known`).
fn changed(
    collection: &str,
    record: &IndicatorRecord,
    known: Option<&Published>,
    now: DateTime<Utc>,
    publication: &mut Publication,
) -> Option<Published> {
    let content = content(record);
    let digest = digest(&content);
    let (generation, created) = match known {
        None => {
            publication.added += 1;
            (0, now)
        }
        Some(p) if p.revoked => {
            publication.added += 1;
            (p.generation + 1, now)
        }
        Some(p) if p.digest == digest => return None,
        Some(p) => {
            publication.updated += 1;
            (p.generation, created_of(&p.object).unwrap_or(now))
        }
    };
    let object = object(collection, record, generation, content, created, now);
    Some(Published {
        kind: record.kind,
        value: record.value.clone(),
        generation,
        digest,
        revoked: false,
        seq: 0,
        added: now,
        object: object.to_string(),
    })
}

/// The revoked version of a published object.
fn revoked(gone: &Published, now: DateTime<Utc>) -> Published {
    let mut object: Value = serde_json::from_str(&gone.object).unwrap_or_else(|_| json!({}));
    if let Some(map) = object.as_object_mut() {
        map.insert("revoked".into(), Value::Bool(true));
        map.insert("modified".into(), Value::String(stix_time(now)));
    }
    Published {
        revoked: true,
        digest: "revoked".to_owned(),
        object: object.to_string(),
        added: now,
        seq: 0,
        ..gone.clone()
    }
}

/// What the object says of its value, without its times and id: what tells a change.
fn content(record: &IndicatorRecord) -> Value {
    let mut content = json!({
        "name": record.display.as_deref().unwrap_or(&record.value),
        "pattern": pattern(record.kind, &record.value),
        "valid_from": stix_time(record.first_seen),
    });
    if let Some(map) = content.as_object_mut() {
        // STIX allows no empty lists.
        if !record.tags.is_empty() {
            map.insert("labels".into(), json!(record.tags));
        }
        if let Some(score) = record.score {
            // Scores are 0-10; STIX confidence is 0-100.
            map.insert("confidence".into(), json!(u16::from(score.min(10)) * 10));
        }
        if let Some(until) = record
            .valid_until
            .filter(|until| *until > record.first_seen)
        {
            map.insert("valid_until".into(), json!(stix_time(until)));
        }
        if let Some(description) = &record.description {
            map.insert("description".into(), json!(description));
        }
    }
    content
}

fn digest(content: &Value) -> String {
    Sha256::digest(content.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole STIX 2.1 indicator.
fn object(
    collection: &str,
    record: &IndicatorRecord,
    generation: u32,
    content: Value,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
) -> Value {
    let mut object = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id(collection, record.kind, &record.value, generation),
        "created": stix_time(created),
        "modified": stix_time(modified.max(created)),
        "indicator_types": ["malicious-activity"],
        "pattern_type": "stix",
        "revoked": false,
    });
    if let (Some(map), Value::Object(content)) = (object.as_object_mut(), content) {
        map.extend(content);
    }
    object
}

/// The TAXII id of the served collection `name` (a UUID, stable across restarts).
pub fn collection_id(name: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("collection/{name}").as_bytes()).to_string()
}

/// The id a value's object keeps while it is served: a UUID v5 of the collection, the value
/// and how often it came back after a revocation.
pub fn stix_id(collection: &str, kind: Kind, value: &str, generation: u32) -> String {
    let name = if generation == 0 {
        format!("{collection}/{kind}:{value}")
    } else {
        format!("{collection}/{kind}:{value}#{generation}")
    };
    format!("indicator--{}", Uuid::new_v5(&NAMESPACE, name.as_bytes()))
}

/// A STIX pattern matching `value`, its string literal escaped as STIX requires.
pub fn pattern(kind: Kind, value: &str) -> String {
    let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
    let path = match kind {
        Kind::Ipv4 => "ipv4-addr:value",
        Kind::Ipv6 => "ipv6-addr:value",
        Kind::Cidr if value.contains(':') => "ipv6-addr:value",
        Kind::Cidr => "ipv4-addr:value",
        Kind::Domain => "domain-name:value",
        Kind::Url => "url:value",
        Kind::Email => "email-addr:value",
        Kind::Md5 => "file:hashes.MD5",
        Kind::Sha1 => "file:hashes.'SHA-1'",
        Kind::Sha256 => "file:hashes.'SHA-256'",
    };
    format!("[{path} = '{quoted}']")
}

/// A STIX timestamp: UTC, millisecond precision, `Z`.
pub fn stix_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A TAXII `date_added` (and `X-TAXII-Date-Added-*`): UTC, microseconds, as the store keeps
/// it, so a client that sends it back as `added_after` gets exactly what followed.
pub fn date_added(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn created_of(object: &str) -> Option<DateTime<Utc>> {
    let object: Value = serde_json::from_str(object).ok()?;
    let created = object.get("created")?.as_str()?;
    DateTime::parse_from_rfc3339(created)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_the_observable_and_escape_the_literal() {
        assert_eq!(
            pattern(Kind::Ipv4, "1.2.3.4"),
            "[ipv4-addr:value = '1.2.3.4']"
        );
        assert_eq!(
            pattern(Kind::Cidr, "2001:db8::/32"),
            "[ipv6-addr:value = '2001:db8::/32']"
        );
        assert_eq!(
            pattern(Kind::Url, r"http://x.example/a'b\c"),
            r"[url:value = 'http://x.example/a\'b\\c']"
        );
        assert_eq!(
            pattern(Kind::Sha256, "ab"),
            "[file:hashes.'SHA-256' = 'ab']"
        );
    }

    #[test]
    fn ids_are_stable_per_collection_value_and_generation() {
        let a = stix_id("c", Kind::Domain, "evil.example", 0);
        assert_eq!(a, stix_id("c", Kind::Domain, "evil.example", 0));
        assert_ne!(a, stix_id("c", Kind::Domain, "evil.example", 1));
        assert_ne!(a, stix_id("d", Kind::Domain, "evil.example", 0));
        assert!(a.starts_with("indicator--"));
        assert_eq!(
            Uuid::parse_str(&a["indicator--".len()..]).map(|u| u.get_version_num()),
            Ok(5)
        );
    }
}
