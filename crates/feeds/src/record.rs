//! Turning a parsed record into sightings: the record's own attributes over the feed's
//! [`Defaults`], one sighting per indicator the value gave.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicator::Indicator;
use store::Sighting;

use crate::fields::{self, Field, expect_from_type, indicators, shorten};
use crate::{Defaults, FeedError, Location, Record, time};

/// What one record says about its value(s), besides the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attributes {
    pub score: Option<u8>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub seen_at: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl Defaults {
    /// A sighting of `indicator` with `attributes`, falling back to the defaults.
    pub(crate) fn sighting(&self, indicator: Indicator, attributes: &Attributes) -> Sighting {
        Sighting {
            kind: indicator.kind,
            value: indicator.value,
            display: indicator.display,
            source: self.source.clone(),
            score: attributes.score.or(self.score),
            class: self.class,
            tags: merge_tags(&self.tags, &attributes.tags),
            description: attributes.description.clone(),
            // Seen means listed now; the feed's own date is kept as the source's date.
            seen_at: self.now,
            valid_until: attributes.valid_until,
            revoked: attributes.revoked,
            reported_at: attributes.seen_at,
        }
    }

    /// Pushes one sighting per indicator.
    pub(crate) fn push_all(
        &self,
        indicators: Vec<Indicator>,
        attributes: &Attributes,
        out: &mut VecDeque<Record>,
    ) {
        out.extend(
            indicators
                .into_iter()
                .map(|indicator| Ok(self.sighting(indicator, attributes))),
        );
    }
}

/// One cell of a tabular record, as the format typed it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Bool(bool),
    List(Vec<&'a str>),
    /// No value (JSON `null`): the field is left unset.
    Null,
    /// A value no field takes, by its type name.
    Other(&'static str),
}

/// A tabular record (CSV row, JSON-lines object) being assembled field by field.
#[derive(Debug, Default)]
pub(crate) struct Row<'a> {
    value: Option<Cow<'a, str>>,
    kind: Option<&'a str>,
    attributes: Attributes,
    errors: Vec<String>,
}

impl<'a> Row<'a> {
    /// Sets `field` from a cell found under `name`; conversion problems are kept and reported
    /// together by [`finish`](Self::finish).
    pub(crate) fn set(&mut self, field: Field, name: &str, cell: Cell<'a>) {
        if let Err(reason) = self.try_set(field, cell) {
            self.errors.push(format!("`{}`: {reason}", shorten(name)));
        }
    }

    fn try_set(&mut self, field: Field, cell: Cell<'a>) -> Result<(), String> {
        let attributes = &mut self.attributes;
        match (field, cell) {
            (_, Cell::Null) => {}
            (_, Cell::Text(text)) if text.trim().is_empty() => {}
            (Field::Value, Cell::Text(text)) => self.value = Some(Cow::Borrowed(text)),
            (Field::Value, Cell::Number(n)) => self.value = Some(Cow::Owned(n.to_string())),
            (Field::Kind, Cell::Text(text)) => self.kind = Some(text),
            (Field::Score, Cell::Text(text)) => {
                attributes.score = Some(fields::score_from_text(text)?)
            }
            (Field::Score, Cell::Number(n)) => {
                attributes.score = Some(fields::score_from_number(n)?)
            }
            (Field::Confidence, Cell::Text(text)) => {
                attributes.score = Some(fields::confidence_from_text(text)?);
            }
            (Field::Confidence, Cell::Number(n)) => {
                attributes.score = Some(fields::confidence_from_text(&n.to_string())?);
            }
            (Field::Tags, Cell::Text(text)) => attributes.tags = fields::tags_from_text(text),
            (Field::Tags, Cell::List(items)) => {
                attributes.tags = items
                    .iter()
                    .flat_map(|t| fields::tags_from_text(t))
                    .collect();
            }
            (Field::Description, Cell::Text(text)) => {
                attributes.description = Some(text.trim().to_owned());
            }
            (Field::ValidUntil, Cell::Text(text)) => {
                attributes.valid_until = Some(time::parse(text)?)
            }
            (Field::ValidUntil, Cell::Number(n)) => attributes.valid_until = Some(epoch(n)?),
            (Field::SeenAt, Cell::Text(text)) => attributes.seen_at = Some(time::parse(text)?),
            (Field::SeenAt, Cell::Number(n)) => attributes.seen_at = Some(epoch(n)?),
            (Field::Revoked, Cell::Text(text)) => {
                attributes.revoked = fields::bool_from_text(text)?
            }
            (Field::Revoked, Cell::Bool(b)) => attributes.revoked = b,
            (field, cell) => {
                return Err(format!(
                    "expected {}, found {}",
                    field.expects(),
                    cell.type_name()
                ));
            }
        }
        Ok(())
    }

    /// The sightings the row gives, or why it gives none.
    pub(crate) fn finish(
        self,
        origin: &Arc<str>,
        location: Location,
        defaults: &Defaults,
        out: &mut VecDeque<Record>,
    ) {
        if !self.errors.is_empty() {
            out.push_back(Err(FeedError::invalid(
                origin,
                location,
                self.errors.join("; "),
            )));
            return;
        }
        let Some(value) = self.value else {
            out.push_back(Err(FeedError::invalid(origin, location, "no value")));
            return;
        };
        let Some(expect) = expect_from_type(self.kind.unwrap_or("")) else {
            let kind = shorten(self.kind.unwrap_or(""));
            out.push_back(Err(FeedError::skipped(
                origin,
                location,
                format!("type `{kind}` is not a kind iocsync imports"),
            )));
            return;
        };
        match indicators(expect, &value) {
            Ok(found) => defaults.push_all(found, &self.attributes, out),
            Err(reason) => out.push_back(Err(FeedError::invalid(origin, location, reason))),
        }
    }
}

fn epoch(n: f64) -> Result<DateTime<Utc>, String> {
    if n.fract() != 0.0 || !(i64::MIN as f64..=i64::MAX as f64).contains(&n) {
        return Err(format!("epoch time {n} is not a whole number of seconds"));
    }
    // Whole and in range after the check.
    time::from_epoch(n as i64)
}

impl Field {
    fn expects(self) -> &'static str {
        match self {
            Field::Value | Field::Kind | Field::Description => "text",
            Field::Score | Field::Confidence => "a number",
            Field::Tags => "text or a list of text",
            Field::ValidUntil | Field::SeenAt => "a time",
            Field::Revoked => "true or false",
        }
    }
}

impl Cell<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Cell::Text(_) => "text",
            Cell::Number(_) => "a number",
            Cell::Bool(_) => "a boolean",
            Cell::List(_) => "a list",
            Cell::Null => "null",
            Cell::Other(name) => name,
        }
    }
}

/// The feed's tags, then the record's, without repeats, in first-seen order.
fn merge_tags(defaults: &[String], own: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(defaults.len() + own.len());
    for tag in defaults.iter().chain(own) {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_attributes_win_over_defaults_and_tags_merge() {
        let mut defaults = Defaults::new("feed");
        defaults.score = Some(3);
        defaults.tags = vec!["a".into(), "b".into()];
        let indicator = indicator::parse("198.51.100.7").unwrap().remove(0);
        let plain = defaults.sighting(indicator.clone(), &Attributes::default());
        assert_eq!(plain.score, Some(3));
        assert_eq!(plain.seen_at, defaults.now);
        let own = Attributes {
            score: Some(9),
            tags: vec!["b".into(), "c".into()],
            ..Attributes::default()
        };
        let sighting = defaults.sighting(indicator, &own);
        assert_eq!(sighting.score, Some(9));
        assert_eq!(sighting.tags, ["a", "b", "c"]);
        assert_eq!(sighting.source, "feed");
    }
}
