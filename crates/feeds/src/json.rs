//! Typed access to the members of a JSON object (STIX objects, MISP events), with errors that
//! name the member and what was found instead, so a wrong type reads as
//! "`confidence` should be an integer 0–100, found a string".

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::time;

pub(crate) type Object = Map<String, Value>;

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong(key: &str, expected: &str, found: &Value) -> String {
    format!("`{key}` should be {expected}, found {}", type_name(found))
}

/// A string member; absent or null is `None`.
pub(crate) fn opt_str<'a>(object: &'a Object, key: &str) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong(key, "a string", other)),
    }
}

/// A boolean member; absent or null is `false`.
pub(crate) fn opt_bool(object: &Object, key: &str) -> Result<bool, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong(key, "true or false", other)),
    }
}

/// An unsigned integer member no larger than `max`.
pub(crate) fn opt_uint(object: &Object, key: &str, max: u64) -> Result<Option<u64>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v <= max => Ok(Some(v)),
            _ => Err(format!("`{key}` should be an integer 0–{max}, found {n}")),
        },
        Some(other) => Err(wrong(key, &format!("an integer 0–{max}"), other)),
    }
}

/// A list of strings; absent or null is empty.
pub(crate) fn opt_str_list<'a>(object: &'a Object, key: &str) -> Result<Vec<&'a str>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| wrong(key, "a list of strings", item))
            })
            .collect(),
        Some(other) => Err(wrong(key, "a list of strings", other)),
    }
}

/// A timestamp member (RFC 3339 string).
pub(crate) fn opt_time(object: &Object, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    opt_str(object, key)?
        .map(|text| time::parse(text).map_err(|reason| format!("`{key}`: {reason}")))
        .transpose()
}

/// A list of objects; absent or null is empty.
pub(crate) fn opt_objects<'a>(object: &'a Object, key: &str) -> Result<Vec<&'a Object>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_object()
                    .ok_or_else(|| wrong(key, "a list of objects", item))
            })
            .collect(),
        Some(other) => Err(wrong(key, "a list of objects", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &str) -> Object {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn wrong_types_name_the_member_and_the_type_found() {
        let o = object(r#"{"c": "high", "l": [1], "r": "yes", "n": null, "big": 101}"#);
        assert_eq!(
            opt_uint(&o, "c", 100).unwrap_err(),
            "`c` should be an integer 0–100, found a string"
        );
        assert_eq!(
            opt_uint(&o, "big", 100).unwrap_err(),
            "`big` should be an integer 0–100, found 101"
        );
        assert_eq!(
            opt_str_list(&o, "l").unwrap_err(),
            "`l` should be a list of strings, found a number"
        );
        assert_eq!(
            opt_bool(&o, "r").unwrap_err(),
            "`r` should be true or false, found a string"
        );
        assert_eq!(opt_str(&o, "n"), Ok(None));
        assert_eq!(opt_str(&o, "absent"), Ok(None));
        assert!(opt_time(&o, "c").unwrap_err().starts_with("`c`:"));
    }
}
