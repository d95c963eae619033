//! Reading a Vision One list back: all of it for `--verify`, or only the values a run is about
//! to add (one `TMV1-Filter` query per few dozen values), so that an object already there that
//! iocsync did not create is found before it could be overwritten. Each object read carries
//! who made it, from its description's marker.

use chrono::{DateTime, Utc};
use trendmicro::vision_one::VisionOneClient;

use crate::error::EngineError;
use crate::mapping::{ExpiryIntent, ObjectAttributes};
use crate::marker::Marker;
use crate::plan::{Change, Remote, RemoteObject};

/// Longest `TMV1-Filter` Vision One takes (4,000), with room to spare.
const FILTER_CHARS: usize = 3_900;
/// Above this many values to look up, one walk of the whole list costs fewer requests than
/// filtered queries (a walk reads 200 objects a page; a filter names a few dozen values).
const LOOK_UP_AT_MOST: usize = 2_000;
/// An expiry this far ahead is Vision One's way of saying "never".
const NEVER_AFTER_YEARS: i64 = 10;

/// Every object on the workflow's list.
pub async fn whole_list(
    client: &VisionOneClient,
    list: super::Kind,
    marker: &Marker,
) -> Result<Remote, EngineError> {
    let mut remote = read(client, list, marker, None).await?;
    remote.complete = true;
    Ok(remote)
}

/// The objects on the workflow's list among the values of `changes` (adds a plan made without
/// looking). Many values are read with one walk of the list instead.
pub async fn look_up(
    client: &VisionOneClient,
    list: super::Kind,
    marker: &Marker,
    changes: &[&Change],
) -> Result<Remote, EngineError> {
    if changes.len() > LOOK_UP_AT_MOST {
        return read(client, list, marker, None).await;
    }
    // The filtered reads go out together (the client's `max_concurrency` bounds them).
    let reads = filters(changes)
        .into_iter()
        .map(|filter| async move { read(client, list, marker, Some(&filter)).await });
    let mut remote = Remote::default();
    for found in futures::future::join_all(reads).await {
        remote.objects.extend(found?.objects);
    }
    Ok(remote)
}

/// `key eq 'value' or ...` expressions of at most [`FILTER_CHARS`] each, covering `changes`.
fn filters(changes: &[&Change]) -> Vec<String> {
    let keys: Vec<(String, &str)> = changes
        .iter()
        .filter_map(|change| {
            let attributes = change.attributes.object().ok()?;
            Some((attributes.key.clone(), change.value.as_str()))
        })
        .collect();
    filters_for(keys.iter().map(|(key, value)| (key.as_str(), *value)))
}

/// `key eq 'value' or ...` expressions of at most [`FILTER_CHARS`] each, covering `values`
/// (value key, value).
pub(crate) fn filters_for<'a>(values: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut filters = Vec::new();
    let mut current = String::new();
    for (key, value) in values {
        // Quotes double inside a filter string.
        let term = format!("{key} eq '{}'", value.replace('\'', "''"));
        if term.len() > FILTER_CHARS {
            continue;
        }
        if !current.is_empty() && current.len() + 4 + term.len() > FILTER_CHARS {
            filters.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str(" or ");
        }
        current.push_str(&term);
    }
    if !current.is_empty() {
        filters.push(current);
    }
    filters
}

async fn read(
    client: &VisionOneClient,
    list: super::Kind,
    marker: &Marker,
    filter: Option<&str>,
) -> Result<Remote, EngineError> {
    let mut remote = Remote::default();
    let mut put = |attributes: ObjectAttributes, value: String| {
        let maker = marker.maker(Some(&attributes.description));
        remote.objects.insert(
            (attributes.key.clone(), value),
            RemoteObject { attributes, maker },
        );
    };
    if list == super::Kind::Exceptions {
        for item in client.list_exceptions(filter).await? {
            let attributes =
                ObjectAttributes::new(item.value.key(), item.description.unwrap_or_default());
            put(attributes, item.value.value().to_owned());
        }
    } else {
        for item in client.list_suspicious(filter).await? {
            let expires_at = item
                .expires
                .and_then(|at| DateTime::<Utc>::from_timestamp(at.unix_timestamp(), 0));
            let never = expires_at.is_some_and(|at| {
                at > Utc::now() + chrono::Duration::days(365 * NEVER_AFTER_YEARS)
            });
            let attributes = ObjectAttributes {
                scan_action: item.scan_action,
                risk_level: item.risk_level,
                expiry: match (never, expires_at) {
                    (true, _) => Some(ExpiryIntent::Never),
                    (false, Some(at)) => Some(ExpiryIntent::Until(at)),
                    (false, None) => None,
                },
                expires_at: expires_at.filter(|_| !never),
                ..ObjectAttributes::new(item.value.key(), item.description.unwrap_or_default())
            };
            put(attributes, item.value.value().to_owned());
        }
    }
    Ok(remote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicator::Kind;

    fn change(value: &str) -> Change {
        Change {
            kind: Kind::Domain,
            value: value.to_owned(),
            attributes: serde_json::json!({"key": "domain", "description": ""}).into(),
            reason: String::new(),
            seen: None,
        }
    }

    #[test]
    fn filters_stay_under_the_limit_and_quote_values() {
        let changes: Vec<Change> = (0..400).map(|i| change(&format!("d{i}.example"))).collect();
        let refs: Vec<&Change> = changes.iter().collect();
        let all = filters(&refs);
        assert!(all.len() > 1);
        assert!(all.iter().all(|f| f.len() <= FILTER_CHARS));
        let terms: usize = all.iter().map(|f| f.split(" or ").count()).sum();
        assert_eq!(terms, 400);
        let quoted = change("o'neil.example");
        assert_eq!(filters(&[&quoted]), ["domain eq 'o''neil.example'"]);
    }
}
