//! STIX 2.1 bundles (STIX 2.0 is read too). `indicator` objects with STIX patterns become
//! indicators as `extract` explains; cyber-observable objects (`ipv4-addr`, `ipv6-addr`,
//! `domain-name`, `url`, `email-addr`, `file` and `artifact` hashes) become indicators
//! directly. Other objects (identities, relationships, malware, ...) are passed over.
//!
//! Attributes of an indicator object: `valid_until` → valid until, `revoked` → revoked,
//! `labels` → tags, `description` (else `name`) → description, `modified` (else `created`) →
//! seen at, and `confidence` 0–100 → score 0–10 by the STIX 2.1 Appendix A table
//! ("STIX Confidence to 0–10 Scale": 0–4 → 0, 5–14 → 1, …, 95–100 → 10).
//!
//! The bundle's `objects` array is streamed one object at a time; a bad object is reported by
//! its id and the line it starts on.

mod extract;
pub mod pattern;

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use serde_json::Value;

use crate::fields::{Expect, confidence_to_score, indicators};
use crate::json::{self, Object};
use crate::json_split::{Element, MAX_ELEMENT, Splitter};
use crate::record::Attributes;
use crate::{Defaults, FeedError, FeedReader, Location, Options, Record, Source};

pub(crate) fn reader<'a>(
    input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    FeedReader::new(StixSource {
        splitter: Splitter::new(input, &["objects", "type"]),
        origin,
        options,
    })
}

struct StixSource<R> {
    splitter: Splitter<R>,
    origin: Arc<str>,
    options: Options,
}

impl<R: BufRead> Source for StixSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        match self.splitter.next_element() {
            Ok(Some(element)) => Some(self.element(element, out)),
            Ok(None) => None,
            Err(err) => {
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    Location::Document,
                    format!("not a readable STIX bundle: {err}"),
                )));
                None
            }
        }
    }
}

impl<R> StixSource<R> {
    fn element(&self, element: Element, out: &mut VecDeque<Record>) -> u64 {
        let location = Location::Line(element.line);
        let bytes = match element.bytes {
            Ok(bytes) => bytes,
            Err(size) => {
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    location,
                    format!("object of {size} bytes is larger than the {MAX_ELEMENT} allowed"),
                )));
                return 1;
            }
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(err) => {
                let line = element.line + err.line().saturating_sub(1) as u64;
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    Location::Line(line),
                    format!("not valid JSON: {err}"),
                )));
                return 1;
            }
        };
        if element.key == Some("type") {
            if value.as_str() != Some("bundle") {
                out.push_back(Err(FeedError::invalid(
                    &self.origin,
                    location,
                    format!("not a STIX bundle: its type is {value}, not \"bundle\""),
                )));
            }
            return 0;
        }
        object_records(
            &value,
            &self.origin,
            Some(element.line),
            &self.options.defaults,
            out,
        )
    }
}

/// The sightings one STIX object gives, pushed to `out`; returns 1 for an indicator or a
/// supported observable, 0 for objects iocsync passes over. `line` is where the object starts
/// in a file (TAXII objects have none).
pub(crate) fn object_records(
    value: &Value,
    origin: &Arc<str>,
    line: Option<u64>,
    defaults: &Defaults,
    out: &mut VecDeque<Record>,
) -> u64 {
    let Some(object) = value.as_object() else {
        let location = line.map_or(Location::Document, Location::Line);
        out.push_back(Err(FeedError::invalid(
            origin,
            location,
            format!("expected a STIX object, found {}", json::type_name(value)),
        )));
        return 1;
    };
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("(object without an id)");
    let location = Location::Object {
        id: id.to_owned(),
        line,
    };
    let object_type = match json::opt_str(object, "type") {
        Ok(Some(object_type)) => object_type,
        Ok(None) => {
            out.push_back(Err(FeedError::invalid(
                origin,
                location,
                "object has no `type`",
            )));
            return 1;
        }
        Err(reason) => {
            out.push_back(Err(FeedError::invalid(origin, location, reason)));
            return 1;
        }
    };
    let found = match object_type {
        "indicator" => indicator_object(object, defaults),
        "file" | "artifact" => hashes_object(object, defaults),
        other => match extract::value_expect(other) {
            Some(expect) => value_object(object, expect, defaults),
            None => return 0,
        },
    };
    out.extend(found.into_iter().map(|item| {
        item.map_err(|(severity, reason)| FeedError {
            origin: Arc::clone(origin),
            location: location.clone(),
            severity,
            reason,
        })
    }));
    1
}

/// A sighting, or the severity and reason of a problem; the caller adds the location.
type Found = Result<store::Sighting, (crate::Severity, String)>;

fn invalid(reason: String) -> Found {
    Err((crate::Severity::Invalid, reason))
}

fn skipped(reason: String) -> Found {
    Err((crate::Severity::Skipped, reason))
}

fn indicator_object(object: &Object, defaults: &Defaults) -> Vec<Found> {
    match json::opt_str(object, "pattern_type") {
        Ok(None | Some("stix")) => {}
        Ok(Some(other)) => return vec![skipped(format!("pattern_type is `{other}`, not stix"))],
        Err(reason) => return vec![invalid(reason)],
    }
    let pattern = match json::opt_str(object, "pattern") {
        Ok(Some(pattern)) => pattern,
        Ok(None) => return vec![invalid("indicator has no `pattern`".to_owned())],
        Err(reason) => return vec![invalid(reason)],
    };
    let attributes = match indicator_attributes(object) {
        Ok(attributes) => attributes,
        Err(reason) => return vec![invalid(reason)],
    };
    let parsed = match pattern::parse(pattern) {
        Ok(parsed) => parsed,
        Err(err) => return vec![invalid(err.to_string())],
    };
    extract::parts(&parsed)
        .into_iter()
        .flat_map(|part| match part {
            Ok((expect, value)) => sightings(expect, &value, &attributes, defaults),
            Err(reason) => vec![skipped(reason)],
        })
        .collect()
}

fn indicator_attributes(object: &Object) -> Result<Attributes, String> {
    let description = match json::opt_str(object, "description")? {
        Some(description) => Some(description),
        None => json::opt_str(object, "name")?,
    };
    let seen_at = match json::opt_time(object, "modified")? {
        Some(modified) => Some(modified),
        None => json::opt_time(object, "created")?,
    };
    Ok(Attributes {
        score: json::opt_uint(object, "confidence", 100)?
            .map(confidence_to_score)
            .transpose()?,
        tags: json::opt_str_list(object, "labels")?
            .into_iter()
            .map(str::to_owned)
            .collect(),
        description: description.map(str::to_owned),
        seen_at,
        valid_until: json::opt_time(object, "valid_until")?,
        revoked: json::opt_bool(object, "revoked")?,
    })
}

fn sightings(
    expect: Expect,
    value: &str,
    attributes: &Attributes,
    defaults: &Defaults,
) -> Vec<Found> {
    match indicators(expect, value) {
        Ok(found) => found
            .into_iter()
            .map(|indicator| Ok(defaults.sighting(indicator, attributes)))
            .collect(),
        Err(reason) => vec![invalid(reason)],
    }
}

fn value_object(object: &Object, expect: Expect, defaults: &Defaults) -> Vec<Found> {
    match json::opt_str(object, "value") {
        Ok(Some(value)) => sightings(expect, value, &Attributes::default(), defaults),
        Ok(None) => vec![invalid("observable has no `value`".to_owned())],
        Err(reason) => vec![invalid(reason)],
    }
}

fn hashes_object(object: &Object, defaults: &Defaults) -> Vec<Found> {
    let hashes = match object.get("hashes") {
        None | Some(Value::Null) => return vec![skipped("file has no `hashes`".to_owned())],
        Some(Value::Object(hashes)) => hashes,
        Some(other) => {
            return vec![invalid(format!(
                "`hashes` should be an object, found {}",
                json::type_name(other)
            ))];
        }
    };
    let found: Vec<Found> = hashes
        .iter()
        .filter_map(|(algorithm, value)| {
            let kind = extract::hash_kind(algorithm)?;
            Some(match value.as_str() {
                Some(value) => sightings(
                    Expect::Exactly(kind),
                    value,
                    &Attributes::default(),
                    defaults,
                ),
                None => vec![invalid(format!(
                    "hash `{algorithm}` should be a string, found {}",
                    json::type_name(value)
                ))],
            })
        })
        .flatten()
        .collect();
    if found.is_empty() {
        return vec![skipped("file has no MD5, SHA-1 or SHA-256 hash".to_owned())];
    }
    found
}
