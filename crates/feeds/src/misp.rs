//! MISP event JSON: one event (`{"Event": {...}}`), a list of them (`[{"Event": ...}, ...]`,
//! as `restSearch` returns), or `{"response": [...]}`. Events are streamed one at a time.
//!
//! Attributes, at the top of an event and inside its `Object`s, become indicators when their
//! `to_ids` flag is set (the analyst's "use for detection"); others are skipped with that
//! reason. Types: `ip-src`, `ip-dst`, `domain`, `hostname`, `url`, `uri`, `email-src`,
//! `email`, `md5`, `sha1`, `sha256`, and the composites `ip-src|port`, `ip-dst|port` (the
//! address), `domain|ip` (both), `hostname|port` and `filename|md5`/`sha1`/`sha256` (the
//! hash). `link` (a reference, not an indicator) and `email-dst` (usually the victim) are
//! skipped on purpose, as are types iocsync does not import.
//!
//! `deleted` → revoked; event and attribute `Tag` names → tags; the event's `info`, with the
//! attribute's `comment` when it has one → description; the attribute's `timestamp` (else the
//! event's) → the feed's own date (`reported_at`).
//!
//! MISP attributes carry no score. The feed's default score (`--score`) applies when it is
//! set; when it is not, the event's `threat_level_id` gives one: 1 (high) → 9, 2 (medium) → 6,
//! 3 (low) → 3, 4 (undefined) → none. Those sit in the upper, middle and lower thirds of the
//! 0–10 scale, so a high event clears a "score ≥ 7" collection and a low one does not.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicator::Kind;
use serde_json::Value;

use crate::fields::{Expect, HASH_KINDS, IP_KINDS, indicators, shorten};
use crate::json::{self, Object};
use crate::json_split::{Element, MAX_ELEMENT, Splitter};
use crate::record::Attributes;
use crate::{Defaults, FeedError, FeedReader, Location, Options, Record, Severity, Source, time};

pub(crate) fn reader<'a>(
    input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    FeedReader::new(MispSource {
        splitter: Splitter::new(input, &["Event", "response"]),
        origin,
        options,
    })
}

struct MispSource<R> {
    splitter: Splitter<R>,
    origin: Arc<str>,
    options: Options,
}

impl<R: BufRead> Source for MispSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        match self.splitter.next_element() {
            Ok(Some(element)) => Some(self.event_element(element, out)),
            Ok(None) => None,
            Err(err) => {
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    Location::Document,
                    format!("not a readable MISP document: {err}"),
                )));
                None
            }
        }
    }
}

/// What every attribute of one event shares.
pub(crate) struct EventContext<'a> {
    pub(crate) info: Option<&'a str>,
    pub(crate) tags: Vec<String>,
    pub(crate) timestamp: Option<DateTime<Utc>>,
    /// The score the event's threat level gives, when the feed has no default score.
    pub(crate) score: Option<u8>,
    pub(crate) line: u64,
}

impl<R> MispSource<R> {
    fn problem(&self, location: Location, reason: String) -> Record {
        Err(FeedError::invalid(&self.origin, location, reason))
    }

    /// Reads one event; returns how many attributes it had.
    fn event_element(&self, element: Element, out: &mut VecDeque<Record>) -> u64 {
        let location = Location::Line(element.line);
        let bytes = match element.bytes {
            Ok(bytes) => bytes,
            Err(size) => {
                let reason =
                    format!("event of {size} bytes is larger than the {MAX_ELEMENT} allowed");
                out.push_back(self.problem(location, reason));
                return 1;
            }
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(err) => {
                let line = element.line + err.line().saturating_sub(1) as u64;
                out.push_back(self.problem(Location::Line(line), format!("not valid JSON: {err}")));
                return 1;
            }
        };
        // List items are `{"Event": {...}}` wrappers or bare events.
        let event = match &value {
            Value::Object(wrapper) if element.key != Some("Event") => match wrapper.get("Event") {
                Some(inner) => inner,
                None => &value,
            },
            _ => &value,
        };
        let Some(event) = event.as_object() else {
            let reason = format!(
                "expected a MISP event object, found {}",
                json::type_name(event)
            );
            out.push_back(self.problem(location, reason));
            return 1;
        };
        self.event(event, element.line, out)
    }

    fn event(&self, event: &Object, line: u64, out: &mut VecDeque<Record>) -> u64 {
        let event_id = event
            .get("uuid")
            .or_else(|| event.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("event");
        let location = Location::Object {
            id: format!("event {event_id}"),
            line: Some(line),
        };
        let context = match event_context(event, line, &self.options.defaults) {
            Ok(context) => context,
            Err(reason) => {
                out.push_back(self.problem(location, reason));
                return 1;
            }
        };
        let attributes = match event_attributes(event) {
            Ok(attributes) => attributes,
            Err(reason) => {
                out.push_back(self.problem(location, reason));
                return 1;
            }
        };
        for attribute in &attributes {
            push_attribute(
                attribute,
                &context,
                &self.origin,
                &self.options.defaults,
                out,
            );
        }
        attributes.len() as u64
    }
}

/// Pushes the sightings of one attribute, or why it gives none, to `out`.
pub(crate) fn push_attribute(
    attribute: &Object,
    context: &EventContext<'_>,
    origin: &Arc<str>,
    defaults: &Defaults,
    out: &mut VecDeque<Record>,
) {
    let id = attribute
        .get("uuid")
        .or_else(|| attribute.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("(attribute without a uuid)");
    let location = Location::Object {
        id: format!("attribute {id}"),
        line: Some(context.line),
    };
    match attribute_sightings(attribute, context) {
        Ok(Parsed::Values(values, attributes)) => {
            for (expect, value) in values {
                match indicators(expect, value) {
                    Ok(found) => defaults.push_all(found, &attributes, out),
                    Err(reason) => {
                        out.push_back(Err(FeedError::invalid(origin, location.clone(), reason)))
                    }
                }
            }
        }
        Ok(Parsed::Skip(reason)) => {
            out.push_back(Err(FeedError::skipped(origin, location, reason)))
        }
        Err(reason) => out.push_back(Err(FeedError::invalid(origin, location, reason))),
    }
}

pub(crate) fn event_context<'a>(
    event: &'a Object,
    line: u64,
    defaults: &Defaults,
) -> Result<EventContext<'a>, String> {
    let score = match defaults.score {
        // The feed's own score wins; the threat level is then not even read.
        Some(_) => None,
        None => threat_level_score(event)?,
    };
    Ok(EventContext {
        info: json::opt_str(event, "info")?,
        tags: tag_names(event)?,
        timestamp: timestamp(event)?,
        score,
        line,
    })
}

/// The score an event's `threat_level_id` gives (see the module note); MISP writes it as a
/// string (`"1"`), older exports as a number.
pub(crate) fn threat_level_score(event: &Object) -> Result<Option<u8>, String> {
    let level = match event.get("threat_level_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    match level {
        Some(1) => Ok(Some(9)),
        Some(2) => Ok(Some(6)),
        Some(3) => Ok(Some(3)),
        Some(4) => Ok(None),
        _ => Err(format!(
            "`threat_level_id` should be 1 (high), 2 (medium), 3 (low) or 4 (undefined), found {}",
            event
                .get("threat_level_id")
                .map_or_else(String::new, |v| shorten(&v.to_string()))
        )),
    }
}

/// The event's attributes, then those of each of its objects.
fn event_attributes(event: &Object) -> Result<Vec<&Object>, String> {
    let mut attributes = json::opt_objects(event, "Attribute")?;
    for object in json::opt_objects(event, "Object")? {
        attributes.extend(json::opt_objects(object, "Attribute")?);
    }
    Ok(attributes)
}

/// Names of the `Tag` list (`[{"name": "tlp:white"}, ...]`).
pub(crate) fn tag_names(object: &Object) -> Result<Vec<String>, String> {
    json::opt_objects(object, "Tag")?
        .into_iter()
        .filter_map(|tag| json::opt_str(tag, "name").transpose())
        .map(|name| name.map(str::to_owned))
        .collect()
}

/// MISP writes epoch seconds as a string (`"1700000000"`); numbers are read too.
pub(crate) fn timestamp(object: &Object) -> Result<Option<DateTime<Utc>>, String> {
    match object.get("timestamp") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => time::parse(text)
            .map(Some)
            .map_err(|reason| format!("`timestamp`: {reason}")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("`timestamp` {n} is not whole seconds"))
            .and_then(time::from_epoch)
            .map(Some),
        Some(other) => Err(format!(
            "`timestamp` should be epoch seconds, found {}",
            json::type_name(other)
        )),
    }
}

/// MISP flags are booleans in current exports and `"1"`/`"0"` or 1/0 in older ones.
fn flag(object: &Object, key: &str) -> Result<bool, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "1" || s == "true" => Ok(true),
        Some(Value::String(s)) if s == "0" || s == "false" || s.is_empty() => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(other) => Err(format!("`{key}` should be true or false, found {other}")),
    }
}

/// Why an attribute gives no sighting.
type Problem = (Severity, String);

pub(crate) enum Parsed<'a> {
    Values(Vec<(Expect, &'a str)>, Attributes),
    Skip(String),
}

pub(crate) fn attribute_sightings<'a>(
    attribute: &'a Object,
    context: &EventContext<'_>,
) -> Result<Parsed<'a>, String> {
    let Some(kind) = json::opt_str(attribute, "type")? else {
        return Err("attribute has no `type`".to_owned());
    };
    let Some(value) = json::opt_str(attribute, "value")? else {
        return Err("attribute has no `value`".to_owned());
    };
    if !flag(attribute, "to_ids")? {
        return Ok(Parsed::Skip(format!(
            "{kind} `{}` is not marked for detection (to_ids is false)",
            shorten(value)
        )));
    }
    let values = match values_of(kind, value) {
        Ok(values) => values,
        Err((Severity::Skipped, reason)) => return Ok(Parsed::Skip(reason)),
        Err((Severity::Invalid, reason)) => return Err(reason),
    };
    let mut tags = context.tags.clone();
    tags.extend(tag_names(attribute)?);
    let comment = json::opt_str(attribute, "comment")?.filter(|c| !c.trim().is_empty());
    let description = match (context.info, comment) {
        (Some(info), Some(comment)) => Some(format!("{info} — {comment}")),
        (info, comment) => info.or(comment).map(str::to_owned),
    };
    let attributes = Attributes {
        score: context.score,
        tags,
        description,
        seen_at: timestamp(attribute)?.or(context.timestamp),
        valid_until: None,
        revoked: flag(attribute, "deleted")?,
    };
    Ok(Parsed::Values(values, attributes))
}

/// The values an attribute of `kind` holds, or why the type is skipped.
fn values_of<'a>(kind: &str, value: &'a str) -> Result<Vec<(Expect, &'a str)>, Problem> {
    let single = |expect: Expect| Ok(vec![(expect, value)]);
    // Composites hold two parts separated by `|`.
    let parts = || {
        value.split_once('|').ok_or_else(|| {
            let value = shorten(value);
            (
                Severity::Invalid,
                format!("{kind} `{value}` has no `|` between its two parts"),
            )
        })
    };
    let skip = |reason: String| Err((Severity::Skipped, reason));
    match kind {
        "ip-src" | "ip-dst" => single(Expect::OneOf(IP_KINDS)),
        "domain" | "hostname" => single(Expect::Exactly(Kind::Domain)),
        "url" | "uri" => single(Expect::Exactly(Kind::Url)),
        "email-src" | "email" => single(Expect::Exactly(Kind::Email)),
        "md5" | "sha1" | "sha256" => single(Expect::OneOf(HASH_KINDS)),
        "ip-src|port" | "ip-dst|port" => Ok(vec![(Expect::OneOf(IP_KINDS), parts()?.0)]),
        "hostname|port" => Ok(vec![(Expect::Exactly(Kind::Domain), parts()?.0)]),
        "domain|ip" => {
            let (domain, ip) = parts()?;
            Ok(vec![
                (Expect::Exactly(Kind::Domain), domain),
                (Expect::OneOf(IP_KINDS), ip),
            ])
        }
        "filename|md5" => Ok(vec![(Expect::Exactly(Kind::Md5), parts()?.1)]),
        "filename|sha1" => Ok(vec![(Expect::Exactly(Kind::Sha1), parts()?.1)]),
        "filename|sha256" => Ok(vec![(Expect::Exactly(Kind::Sha256), parts()?.1)]),
        "link" => skip("link attributes are references to reports, not indicators".to_owned()),
        "email-dst" => {
            skip("email-dst is a recipient, usually the victim, not an indicator".to_owned())
        }
        other => skip(format!("MISP type `{other}` is not one iocsync imports")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_types_give_the_right_parts() {
        let parts = |kind, value| {
            values_of(kind, value)
                .map(|v| v.into_iter().map(|(_, p)| p).collect::<Vec<_>>())
                .map_err(|(severity, reason)| format!("{severity:?}: {reason}"))
        };
        assert_eq!(
            parts("ip-dst|port", "198.51.100.4|443"),
            Ok(vec!["198.51.100.4"])
        );
        assert_eq!(
            parts("domain|ip", "a.example|203.0.113.9"),
            Ok(vec!["a.example", "203.0.113.9"])
        );
        assert_eq!(parts("filename|sha256", "x.exe|abc"), Ok(vec!["abc"]));
        assert!(
            parts("filename|md5", "no-bar")
                .unwrap_err()
                .starts_with("Invalid: filename|md5 `no-bar` has no `|`")
        );
        assert!(
            parts("ip-dst|port", "198.51.100.4")
                .unwrap_err()
                .starts_with("Invalid")
        );
        assert!(
            parts("link", "https://blog.example/")
                .unwrap_err()
                .starts_with("Skipped: link")
        );
        assert!(
            parts("regkey", "HKLM\\x")
                .unwrap_err()
                .starts_with("Skipped: MISP type `regkey`")
        );
    }

    #[test]
    fn flags_accept_old_and_new_spellings() {
        let object: Object =
            serde_json::from_str(r#"{"a": true, "b": "1", "c": 0, "d": "0", "e": "maybe"}"#)
                .unwrap();
        assert_eq!(flag(&object, "a"), Ok(true));
        assert_eq!(flag(&object, "b"), Ok(true));
        assert_eq!(flag(&object, "c"), Ok(false));
        assert_eq!(flag(&object, "d"), Ok(false));
        assert_eq!(flag(&object, "missing"), Ok(false));
        assert!(flag(&object, "e").is_err());
    }
}
