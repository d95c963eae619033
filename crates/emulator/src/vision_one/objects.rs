//! Adding to and removing from the suspicious-object and exception lists: per-item results in
//! request order, upsert by value (re-adding replaces the settings and refreshes
//! `lastModifiedDateTime`; within one request the last duplicate wins), customer-setting
//! defaults, and the limits — per type for suspicious objects (evicting the objects closest to
//! expiry, refusing the whole request with number 4000018 when nothing can be evicted), in
//! all for exceptions (refused the same way).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::error::{V1Error, item_bad_request, item_internal, item_not_found};
use super::model::{ExceptionObject, ObjectType, SuspiciousObject};
use super::validate::{self, ListKind, Settings, TypedValue};
use crate::config::CustomerSettings;
use crate::state::{ObjectKey, State};

/// Message of the whole-request 400 when a list is full.
pub const LIMIT_MESSAGE: &str = "The number of objects exceeds the maximum limit";

/// What an add needs besides the state.
#[derive(Debug, Clone, Copy)]
pub struct AddContext {
    pub now: i64,
    pub settings: CustomerSettings,
    pub per_type_limit: usize,
    pub exception_limit: usize,
}

/// The array elements of a list-changing request (non-empty array, else 400).
pub fn elements(body: &Value) -> Result<&[Value], V1Error> {
    match body.as_array() {
        Some(items) if !items.is_empty() => Ok(items),
        Some(_) => Err(V1Error::BadRequest(
            "Invalid request - The request body must contain at least one object.".to_owned(),
        )),
        None => Err(V1Error::BadRequest(
            "Invalid request - The request body must be a JSON array.".to_owned(),
        )),
    }
}

fn key_of(value: &TypedValue) -> ObjectKey {
    (value.kind, value.kind.identity(&value.value))
}

/// Adds to the Suspicious Object List.
pub fn add_suspicious(
    state: &mut State,
    items: &[Value],
    ctx: &AddContext,
    item_fails: &mut dyn FnMut() -> bool,
) -> Result<Vec<Value>, V1Error> {
    let parsed: Vec<Result<(TypedValue, Settings), String>> = items
        .iter()
        .map(|item| {
            Ok((
                validate::typed_value(item, ListKind::Suspicious)?,
                validate::settings(item)?,
            ))
        })
        .collect();
    let keys: BTreeSet<ObjectKey> = parsed.iter().flatten().map(|(v, _)| key_of(v)).collect();
    check_room_for_suspicious(state, &keys, ctx.per_type_limit)?;
    Ok(parsed
        .into_iter()
        .map(|result| match result {
            _ if item_fails() => item_internal(),
            Err(message) => item_bad_request(&message),
            Ok((value, settings)) => {
                upsert_suspicious(state, value, settings, ctx, &keys);
                json!({"status": 201})
            }
        })
        .collect())
}

/// Refuses the request when some type would exceed its limit even after evicting every
/// expiring object the request does not itself touch.
fn check_room_for_suspicious(
    state: &State,
    keys: &BTreeSet<ObjectKey>,
    limit: usize,
) -> Result<(), V1Error> {
    for kind in ObjectType::ALL {
        let new = keys
            .iter()
            .filter(|k| k.0 == kind && !state.suspicious.contains_key(k))
            .count();
        let over = (state.suspicious.count(kind) + new).saturating_sub(limit);
        if over == 0 {
            continue;
        }
        let protected = keys
            .iter()
            .filter(|k| k.0 == kind && state.suspicious.get(k).is_some_and(|o| o.expires.is_some()))
            .count();
        let evictable = state.suspicious.expiring_count(kind) - protected;
        if evictable < over {
            return Err(V1Error::LimitExceeded(format!(
                "{LIMIT_MESSAGE} of {limit} objects of type {}.",
                kind.key()
            )));
        }
    }
    Ok(())
}

fn upsert_suspicious(
    state: &mut State,
    value: TypedValue,
    settings: Settings,
    ctx: &AddContext,
    protected: &BTreeSet<ObjectKey>,
) {
    let key = key_of(&value);
    if !state.suspicious.contains_key(&key)
        && state.suspicious.count(value.kind) >= ctx.per_type_limit
    {
        evict_closest_to_expiry(state, value.kind, protected);
    }
    let days = settings
        .days_to_expiration
        .unwrap_or(ctx.settings.days_to_expiration);
    let seq = state.next_seq();
    state.suspicious.insert(
        key,
        SuspiciousObject {
            kind: value.kind,
            value: value.value,
            description: settings.description,
            scan_action: settings.scan_action.unwrap_or(ctx.settings.scan_action),
            risk_level: settings.risk_level.unwrap_or(ctx.settings.risk_level),
            last_modified: ctx.now,
            expires: (days > 0).then(|| ctx.now.saturating_add(days.saturating_mul(86_400))),
            seq,
        },
    );
}

fn evict_closest_to_expiry(state: &mut State, kind: ObjectType, protected: &BTreeSet<ObjectKey>) {
    let victim = state
        .suspicious
        .expiring(kind)
        .find(|k| !protected.contains(k));
    if let Some(victim) = victim {
        state.suspicious.remove(&victim);
    }
}

/// Adds to the Exception List.
pub fn add_exceptions(
    state: &mut State,
    items: &[Value],
    ctx: &AddContext,
    item_fails: &mut dyn FnMut() -> bool,
) -> Result<Vec<Value>, V1Error> {
    let parsed: Vec<Result<(TypedValue, Option<String>), String>> = items
        .iter()
        .map(|item| {
            let value = validate::typed_value(item, ListKind::Exception)?;
            let description = item
                .as_object()
                .map(validate::description)
                .transpose()?
                .flatten();
            Ok((value, description))
        })
        .collect();
    let new: BTreeSet<ObjectKey> = parsed
        .iter()
        .flatten()
        .map(|(v, _)| key_of(v))
        .filter(|k| !state.exceptions.contains_key(k))
        .collect();
    if state.exceptions.len() + new.len() > ctx.exception_limit {
        return Err(V1Error::LimitExceeded(format!(
            "{LIMIT_MESSAGE} of {} exceptions.",
            ctx.exception_limit
        )));
    }
    Ok(parsed
        .into_iter()
        .map(|result| match result {
            _ if item_fails() => item_internal(),
            Err(message) => item_bad_request(&message),
            Ok((value, description)) => {
                let seq = state.next_seq();
                state.exceptions.insert(
                    key_of(&value),
                    ExceptionObject {
                        kind: value.kind,
                        value: value.value,
                        description,
                        last_modified: ctx.now,
                        seq,
                    },
                );
                json!({"status": 201})
            }
        })
        .collect())
}

/// Removes from either list: 204 per removed item, 404 for absent ones; other keys
/// (such as `description`) are ignored.
pub fn delete(
    state: &mut State,
    list: ListKind,
    items: &[Value],
    item_fails: &mut dyn FnMut() -> bool,
) -> Vec<Value> {
    items
        .iter()
        .map(|item| match validate::typed_value(item, list) {
            _ if item_fails() => item_internal(),
            Err(message) => item_bad_request(&message),
            Ok(value) => {
                let key = key_of(&value);
                let removed = match list {
                    ListKind::Exception => state.exceptions.remove(&key).is_some(),
                    ListKind::Suspicious | ListKind::Response => {
                        state.suspicious.remove(&key).is_some()
                    }
                };
                if removed {
                    json!({"status": 204})
                } else {
                    item_not_found()
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision_one::model::{RiskLevel, ScanAction};

    fn ctx(limit: usize) -> AddContext {
        AddContext {
            now: 1_000_000,
            settings: CustomerSettings::default(),
            per_type_limit: limit,
            exception_limit: 2,
        }
    }

    fn never() -> impl FnMut() -> bool {
        || false
    }

    #[test]
    fn defaults_upsert_and_per_item_errors() {
        let mut state = State::default();
        let body = json!([
            {"ip": "1.2.3.4"},
            {"ip": "1.2.3.4", "riskLevel": "high", "daysToExpiration": -1},
            {"ip": "10.0.0.0/8"},
            {"domain": "a.example", "url": "http://a.example"}
        ]);
        let results =
            add_suspicious(&mut state, elements(&body).unwrap(), &ctx(10), &mut never()).unwrap();
        let statuses: Vec<u64> = results
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [201, 201, 400, 400]);
        assert_eq!(state.suspicious.len(), 1);
        let stored = state.suspicious.values().next().unwrap();
        assert_eq!(stored.risk_level, RiskLevel::High);
        assert_eq!(stored.scan_action, ScanAction::Block);
        assert_eq!(stored.expires, None);
    }

    #[test]
    fn eviction_takes_the_closest_expiry_and_refuses_when_nothing_expires() {
        let mut state = State::default();
        let body = json!([
            {"ip": "1.1.1.1", "daysToExpiration": 10},
            {"ip": "1.1.1.2", "daysToExpiration": 5},
            {"ip": "1.1.1.3", "daysToExpiration": -1}
        ]);
        add_suspicious(&mut state, elements(&body).unwrap(), &ctx(3), &mut never()).unwrap();
        let more = json!([{"ip": "1.1.1.4"}]);
        add_suspicious(&mut state, elements(&more).unwrap(), &ctx(3), &mut never()).unwrap();
        let ips: Vec<&str> = state
            .suspicious
            .values()
            .map(|o| o.value.as_str())
            .collect();
        assert_eq!(ips, ["1.1.1.1", "1.1.1.3", "1.1.1.4"]);

        let mut full = State::default();
        let forever = json!([{"ip": "2.2.2.1", "daysToExpiration": -1}, {"ip": "2.2.2.2", "daysToExpiration": -1}]);
        add_suspicious(
            &mut full,
            elements(&forever).unwrap(),
            &ctx(2),
            &mut never(),
        )
        .unwrap();
        let err =
            add_suspicious(&mut full, elements(&more).unwrap(), &ctx(2), &mut never()).unwrap_err();
        assert!(matches!(err, V1Error::LimitExceeded(m) if m.contains(LIMIT_MESSAGE)));
        // Other types are not affected, and updating an existing value still works.
        let update = json!([{"ip": "2.2.2.1", "riskLevel": "low", "daysToExpiration": -1}, {"domain": "x.example"}]);
        assert!(
            add_suspicious(&mut full, elements(&update).unwrap(), &ctx(2), &mut never()).is_ok()
        );
    }

    #[test]
    fn exceptions_limit_and_delete() {
        let mut state = State::default();
        let body = json!([{"domain": "*.example.com"}, {"url": "https://*.example.com/p/*", "description": "d"}]);
        add_exceptions(&mut state, elements(&body).unwrap(), &ctx(10), &mut never()).unwrap();
        let third = json!([{"ip": "1.2.3.4"}]);
        assert!(
            add_exceptions(
                &mut state,
                elements(&third).unwrap(),
                &ctx(10),
                &mut never()
            )
            .is_err()
        );
        let del = json!([{"domain": "*.example.com", "description": "ignored"}, {"ip": "9.9.9.9"}]);
        let results = delete(
            &mut state,
            ListKind::Exception,
            elements(&del).unwrap(),
            &mut never(),
        );
        assert_eq!(results[0], json!({"status": 204}));
        assert_eq!(results[1]["status"], 404);
        assert_eq!(results[1]["body"]["error"]["code"], "NotFound");
    }

    #[test]
    fn bodies_must_be_non_empty_arrays() {
        assert!(elements(&json!({"ip": "1.2.3.4"})).is_err());
        assert!(elements(&json!([])).is_err());
    }
}
