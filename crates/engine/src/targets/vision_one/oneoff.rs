//! One-off blocks on a Vision One list: the value a block takes (URLs need a scheme), the
//! look-up of values no claim knows (an object already there that iocsync did not create is
//! left alone), the batch sends, and the removal of iocsync's lowest-ranked workflow objects
//! when a block needs room.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Utc;
use indicator::Kind;
use store::Library;
use trendmicro::vision_one::{BatchReport, ItemOutcome, ObjectValue, VisionOneClient};

use crate::budget;
use crate::claims::{self, Holders, Write};
use crate::error::EngineError;
use crate::keys::Claimant;
use crate::mapping::ObjectAttributes;
use crate::marker::Maker;
use crate::oneoff::{Claimer, Item, Step, lock};
use config::Capacity;

use super::mapping::{self as v1, v1_key};

/// The value a block of `found` sends (a URL without a scheme gets `http://`), or why none.
pub fn accept(found: &indicator::Indicator) -> Result<String, String> {
    let value = if found.kind == Kind::Url && !found.value.contains("://") {
        format!("http://{}", found.value)
    } else {
        found.value.clone()
    };
    ObjectValue::for_indicator(found.kind, value.clone())
        .map(|_| value)
        .map_err(|error| error.to_string())
}

/// An object found on Vision One for a value no claim knows.
pub struct Present {
    pub attributes: ObjectAttributes,
    pub maker: Maker,
}

/// Looks up on Vision One the values of `items` that no claim in `space` knows.
pub(crate) async fn look_up(
    client: &VisionOneClient,
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    space: &str,
    items: &[Item],
) -> Result<HashMap<String, Present>, EngineError> {
    let values: Vec<(Kind, String)> = items.iter().map(|i| (i.kind, i.value.clone())).collect();
    let claimed = lock(library).claims_on(space, &values)?;
    let unclaimed: Vec<&Item> = items
        .iter()
        .filter(|i| {
            !claimed
                .iter()
                .any(|c| c.kind == i.kind && c.value == i.value)
        })
        .collect();
    let mut found = HashMap::new();
    if unclaimed.is_empty() {
        return Ok(found);
    }
    let keyed: Vec<(&str, &str)> = unclaimed
        .iter()
        .filter_map(|i| Some((v1_key(i.kind)?, i.value.as_str())))
        .collect();
    for filter in super::readback::filters_for(keyed.into_iter()) {
        for item in client.list_suspicious(Some(&filter)).await? {
            let description = item.description.unwrap_or_default();
            let maker = claimer.marker.maker(Some(&description));
            let attributes = ObjectAttributes {
                scan_action: item.scan_action,
                risk_level: item.risk_level,
                ..ObjectAttributes::new(item.value.key(), description)
            };
            found.insert(item.value.value().to_owned(), Present { attributes, maker });
        }
    }
    Ok(found)
}

/// Removes up to `count` of iocsync's workflow-only objects in `bucket`, lowest-ranked first,
/// and drops their claims; returns how many went.
pub(crate) async fn displace(
    client: &VisionOneClient,
    claimer: &Claimer<'_>,
    library: &Mutex<Library>,
    capacity: &Capacity,
    bucket: &str,
    count: usize,
    notes: &mut Vec<String>,
) -> Result<usize, EngineError> {
    let space = claimer.space();
    let key_of = |kind: Kind| claimer.sender.key_of(kind);
    let entries = lock(library).space_claims(&space)?;
    let objects = claims::by_object("", &entries, &key_of);
    let mut candidates: Vec<(u32, &(Kind, String), &Holders)> = objects
        .iter()
        .filter(|((kind, _), h)| {
            budget::bucket_of_kind(capacity, *kind) == bucket
                && h.others
                    .iter()
                    .all(|(key, _)| Claimant::of(key).is_some_and(|c| c.is_workflow()))
        })
        .map(|(id, h)| {
            let rank = h
                .others
                .iter()
                .filter_map(|(_, a)| a.rank)
                .min()
                .unwrap_or(u32::MAX);
            (rank, id, h)
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    candidates.truncate(count);
    if candidates.is_empty() {
        return Ok(0);
    }
    let values: Vec<ObjectValue> = candidates
        .iter()
        .filter_map(|(_, (kind, value), _)| ObjectValue::from_key(v1_key(*kind)?, value.clone()))
        .collect();
    let result = client.delete_suspicious(&values).await;
    let mut freed = 0;
    let mut library = lock(library);
    for ((rank, (kind, value), holders), item) in candidates.iter().zip(&result.items) {
        if !item.outcome.is_done() {
            continue;
        }
        for (ledger, _) in &holders.others {
            library.ledger_remove(ledger, &[(*kind, value.clone())])?;
        }
        freed += 1;
        tracing::warn!(value = %value, rank, workflows = %holders.describe_others(), "removed a workflow object to make room for a one-off block");
        notes.push(format!(
            "made room: removed {value} ({}, rank {rank}); it comes back when the list has room",
            holders.describe_others()
        ));
    }
    Ok(freed)
}

pub(crate) async fn send(
    client: &VisionOneClient,
    items: &[Item],
    steps: &[&Step],
) -> (Vec<Result<Option<String>, String>>, Option<String>) {
    let mut results = vec![Err("not sent: the request was halted".to_owned()); steps.len()];
    let (deletes, writes): (Vec<usize>, Vec<usize>) =
        (0..steps.len()).partition(|&i| matches!(steps[i].write, Write::Delete));
    let value = |i: usize| {
        let item = &items[steps[i].index];
        ObjectValue::from_key(v1_key(item.kind)?, item.value.clone())
    };
    let mut halted = None;
    if !deletes.is_empty() {
        let values: Vec<ObjectValue> = deletes.iter().filter_map(|&i| value(i)).collect();
        let report = client.delete_suspicious(&values).await;
        settle(&report, &deletes, &mut results);
        halted = report.halted.map(|e| e.to_string());
    }
    if !writes.is_empty() && halted.is_none() {
        let now = Utc::now();
        let objects: Vec<_> = writes
            .iter()
            .filter_map(|&i| {
                let (Write::Create(a) | Write::Update(a)) = &steps[i].write else {
                    return None;
                };
                Some(v1::suspicious(a, value(i)?, now))
            })
            .collect();
        let report = client.add_suspicious(&objects).await;
        settle(&report, &writes, &mut results);
        halted = report.halted.map(|e| e.to_string());
    }
    (results, halted)
}

fn settle(report: &BatchReport, indexes: &[usize], results: &mut [Result<Option<String>, String>]) {
    for (&i, item) in indexes.iter().zip(&report.items) {
        results[i] = match &item.outcome {
            outcome if outcome.is_done() => Ok(None),
            ItemOutcome::Rejected { message, .. } | ItemOutcome::Failed { message, .. } => {
                Err(message.clone())
            }
            _ => Err("not sent: the request was halted".to_owned()),
        };
    }
}
