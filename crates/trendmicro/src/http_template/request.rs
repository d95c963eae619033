//! Payload templates: JSON documents whose string values may hold `$name` placeholders.
//!
//! The template is parsed as JSON first (a template that is not valid JSON is refused, with the
//! line and column), and placeholders are replaced inside the parsed string values, so whatever
//! a value holds — quotes, backslashes, newlines, `$value` itself — the result is valid JSON
//! with that exact text in it. Placeholders are never replaced in object keys.
//!
//! Placeholder rules:
//! - `$name`, where `name` is a letter or `_` followed by letters, digits and `_`
//!   (case-sensitive). `$$` is a literal `$`; a `$` followed by anything else stays as it is.
//! - Built-in fields: `$value`, `$kind`, `$score`, `$description`, `$tags`. Extra fields (an
//!   alert's columns, such as `$SrcIP`) come from [`Fields::extra`]; built-ins win a clash.
//! - A string that is exactly one placeholder takes the field's JSON type: `"$score"` becomes a
//!   number (or `null` when the indicator has no score), `"$tags"` an array of strings, an extra
//!   field its own JSON value. Inside longer text, a field is written as text: the score as
//!   digits (empty when there is none), tags joined with `,`, an extra string as is and any
//!   other extra value as its JSON text.
//! - A placeholder naming no field is an error ([`TemplateError::MissingField`]), so a typo
//!   never sends a literal `$SrcIp` to a product.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Why a template cannot be used or filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template is not a JSON document.
    #[error("payload template is not valid JSON at line {line}, column {column}: {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// A placeholder names a field that was not given.
    #[error("payload template uses `${name}`, but no field `{name}` was given")]
    MissingField { name: String },
}

/// The values a template is filled with.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// `$value`: the indicator's value.
    pub value: &'a str,
    /// `$kind`: the indicator's kind (`ipv4`, `url`, ...).
    pub kind: &'a str,
    /// `$score`: 0–10, if scored.
    pub score: Option<u8>,
    /// `$description`.
    pub description: &'a str,
    /// `$tags`.
    pub tags: &'a [String],
    /// Any other field, by name.
    pub extra: &'a BTreeMap<String, Value>,
}

impl Fields<'_> {
    /// The field as a JSON value (for a string that is exactly one placeholder).
    fn typed(&self, name: &str) -> Option<Value> {
        Some(match name {
            "value" => Value::from(self.value),
            "kind" => Value::from(self.kind),
            "score" => self.score.map_or(Value::Null, Value::from),
            "description" => Value::from(self.description),
            "tags" => Value::from(self.tags.to_vec()),
            other => self.extra.get(other)?.clone(),
        })
    }

    /// The field as text (for a placeholder inside longer text).
    fn text(&self, name: &str) -> Option<String> {
        Some(match name {
            "value" => self.value.to_owned(),
            "kind" => self.kind.to_owned(),
            "score" => self
                .score
                .map(|score| score.to_string())
                .unwrap_or_default(),
            "description" => self.description.to_owned(),
            "tags" => self.tags.join(","),
            other => match self.extra.get(other)? {
                Value::String(text) => text.clone(),
                value => value.to_string(),
            },
        })
    }
}

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    root: Value,
}

/// A piece of a templated string.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits a string into text and placeholders.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            // `$$`: keep one `$` as text.
            out.push(Piece::Text(&rest[..=at]));
            rest = tail;
            continue;
        }
        let name_len = placeholder_len(after);
        if name_len == 0 {
            out.push(Piece::Text(&rest[..=at]));
        } else {
            out.push(Piece::Text(&rest[..at]));
            out.push(Piece::Field(&after[..name_len]));
        }
        rest = &after[name_len..];
    }
    out.push(Piece::Text(rest));
    out.retain(|piece| *piece != Piece::Text(""));
    out
}

/// Bytes of a placeholder name at the start of `text` (0 if none starts there).
fn placeholder_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, first)) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => return 0,
    }
    chars
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(text.len(), |(index, _)| index)
}

impl Template {
    /// Parses a template; it must be valid JSON.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        serde_json::from_str(text)
            .map(|root| Self { root })
            .map_err(|error| TemplateError::NotJson {
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            })
    }

    /// Every placeholder name the template uses (to check an alert provides them).
    pub fn placeholders(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        collect(&self.root, &mut names);
        names
    }

    /// The payload for these fields.
    pub fn render(&self, fields: &Fields<'_>) -> Result<Value, TemplateError> {
        fill(&self.root, fields)
    }
}

fn collect(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            for piece in pieces(text) {
                if let Piece::Field(name) = piece {
                    names.insert(name.to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, names)),
        Value::Object(map) => map.values().for_each(|item| collect(item, names)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn fill(value: &Value, fields: &Fields<'_>) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(text) => fill_string(text, fields)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill(item, fields))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), fill(item, fields)?)))
                .collect::<Result<Map<_, _>, _>>()?,
        ),
        other => other.clone(),
    })
}

fn fill_string(text: &str, fields: &Fields<'_>) -> Result<Value, TemplateError> {
    let missing = |name: &str| TemplateError::MissingField {
        name: name.to_owned(),
    };
    let pieces = pieces(text);
    if let [Piece::Field(name)] = pieces.as_slice() {
        return fields.typed(name).ok_or_else(|| missing(name));
    }
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(part) => out.push_str(part),
            Piece::Field(name) => out.push_str(&fields.text(name).ok_or_else(|| missing(name))?),
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn fields<'a>(
        value: &'a str,
        tags: &'a [String],
        extra: &'a BTreeMap<String, Value>,
    ) -> Fields<'a> {
        Fields {
            value,
            kind: "ipv4",
            score: Some(7),
            description: "Blocking malicious IP",
            tags,
            extra,
        }
    }

    #[test]
    fn the_dnif_block_payload_renders() {
        let template = Template::parse(
            r#"{"valueType":"ip","targetValue":"$SrcIP","productId":"DNIF","description":"$description (score $score)"}"#,
        )
        .unwrap();
        assert_eq!(
            template.placeholders().into_iter().collect::<Vec<_>>(),
            vec!["SrcIP", "description", "score"]
        );
        let extra = BTreeMap::from([("SrcIP".to_owned(), json!("203.0.113.9"))]);
        let payload = template.render(&fields("ignored", &[], &extra)).unwrap();
        assert_eq!(
            payload,
            json!({"valueType":"ip","targetValue":"203.0.113.9","productId":"DNIF",
                   "description":"Blocking malicious IP (score 7)"})
        );
    }

    #[test]
    fn whole_placeholders_keep_their_json_type() {
        let template = Template::parse(
            r#"{"s":"$score","t":"$tags","n":"$count","v":"$value","ts":"[$tags]"}"#,
        )
        .unwrap();
        let tags = vec!["c2".to_owned(), "apt".to_owned()];
        let extra = BTreeMap::from([("count".to_owned(), json!(3))]);
        let payload = template.render(&fields("1.2.3.4", &tags, &extra)).unwrap();
        assert_eq!(
            payload,
            json!({"s":7,"t":["c2","apt"],"n":3,"v":"1.2.3.4","ts":"[c2,apt]"})
        );
        let unscored = Fields {
            score: None,
            ..fields("x", &tags, &extra)
        };
        assert_eq!(
            Template::parse(r#"["$score","score=$score"]"#)
                .unwrap()
                .render(&unscored)
                .unwrap(),
            json!([null, "score="])
        );
    }

    #[test]
    fn dollar_signs_that_are_not_placeholders_stay() {
        let extra = BTreeMap::new();
        let template = Template::parse(r#"{"$value":"cost $5, $$value, $ alone, end$"}"#).unwrap();
        assert_eq!(
            template.render(&fields("v", &[], &extra)).unwrap(),
            json!({"$value":"cost $5, $value, $ alone, end$"})
        );
    }

    #[test]
    fn missing_fields_and_bad_json_are_errors() {
        let extra = BTreeMap::new();
        let error = Template::parse(r#"{"a":"$SrcIp"}"#)
            .unwrap()
            .render(&fields("v", &[], &extra))
            .unwrap_err();
        assert_eq!(
            error,
            TemplateError::MissingField {
                name: "SrcIp".into()
            }
        );
        let error = Template::parse("{\n  \"a\": $value\n}").unwrap_err();
        assert!(
            matches!(
                error,
                TemplateError::NotJson {
                    line: 2,
                    column: 8,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("line 2, column 8"), "{error}");
    }

    #[test]
    fn substituted_text_is_not_scanned_again() {
        let extra = BTreeMap::new();
        let template = Template::parse(r#"{"a":"<$value>"}"#).unwrap();
        assert_eq!(
            template
                .render(&fields("$description", &[], &extra))
                .unwrap(),
            json!({"a":"<$description>"})
        );
    }

    proptest! {
        #[test]
        fn any_value_round_trips_as_valid_json(value in any::<String>(), prefix in "[a-z \"\\\\{}]{0,8}") {
            let extra = BTreeMap::new();
            let prefix_json = serde_json::to_string(&prefix).unwrap();
            let inner = &prefix_json[1..prefix_json.len() - 1];
            let template = Template::parse(&format!(r#"{{"whole":"$value","inside":"{inner}$value!"}}"#)).unwrap();
            let payload = template.render(&fields(&value, &[], &extra)).unwrap();
            let wire = serde_json::to_string(&payload).unwrap();
            let back: Value = serde_json::from_str(&wire).unwrap();
            prop_assert_eq!(&back["whole"], &Value::String(value.clone()));
            prop_assert_eq!(&back["inside"], &Value::String(format!("{prefix}{value}!")));
        }

        #[test]
        fn parsing_never_panics(text in any::<String>()) {
            let _ = Template::parse(&text);
        }
    }
}
