//! Reading one entry of the file with serde so that every error names its key path: the entry
//! is deserialized on its own (an error in one entry never hides the next), an error's key is
//! taken from the path serde was at, and the offending key is then removed and the entry read
//! again, so several bad keys of one entry are all reported.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use crate::error::{ConfigError, invalid};

/// Enough retries to find every bad key of one entry without looping on a stubborn one.
const MAX_ERRORS_PER_ENTRY: usize = 20;

/// `value` read as a `T`, or `None` after pushing every error found, each at `path.key`.
pub(crate) fn entry<T: DeserializeOwned>(
    path: &str,
    value: toml::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let before = errors.len();
    lenient(path, value, errors).filter(|_| errors.len() == before)
}

/// `value` read as a `T` once the keys with errors are removed (every error pushed), or `None`
/// when an error is not at a key that can be removed.
pub(crate) fn lenient<T: DeserializeOwned>(
    path: &str,
    mut value: toml::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let mut found = 0;
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(read) => return Some(read),
            Err(error) => error,
        };
        let message = error.inner().message().trim().to_owned();
        let key = key_of(error.path(), &message);
        if found > 0 && key.is_empty() {
            // A key now missing is the one just removed: its error is already reported.
            return None;
        }
        errors.push(invalid(join(path, &key), message));
        found += 1;
        if key.is_empty() || found >= MAX_ERRORS_PER_ENTRY || !remove(&mut value, &key) {
            return None;
        }
    }
}

/// `path.key`, `path[0]`, or `path` alone for an error about the entry as a whole.
pub(crate) fn join(path: &str, key: &str) -> String {
    match key {
        "" => path.to_owned(),
        key if key.starts_with('[') || path.is_empty() => format!("{path}{key}"),
        key => format!("{path}.{key}"),
    }
}

/// The key path below the entry (`headers.X`, `values[2]`), or the unknown key a message
/// names; empty when the error is about the entry itself (a missing key).
fn key_of(path: &serde_path_to_error::Path, message: &str) -> String {
    let mut key = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                key = join(&key, name);
            }
            Segment::Unknown => break,
        }
    }
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
        && !key.ends_with(unknown)
    {
        key = join(&key, unknown);
    }
    key
}

/// Removes the key at `path` (`headers.X`; not below an array) from a table; false when there
/// is nothing to remove.
fn remove(value: &mut toml::Value, path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    let mut table = match value {
        toml::Value::Table(table) => table,
        _ => return false,
    };
    for part in parts {
        match table.get_mut(part) {
            Some(toml::Value::Table(inner)) => table = inner,
            _ => return false,
        }
    }
    let last = last.split('[').next().unwrap_or(last);
    table.remove(last).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Entry {
        name: String,
        on: Option<bool>,
        #[serde(default)]
        headers: std::collections::BTreeMap<String, u8>,
    }

    fn keys(text: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let value: toml::Value = toml::from_str(text).unwrap();
        assert!(entry::<Entry>("e[3]", value, &mut errors).is_none());
        errors
            .into_iter()
            .map(|error| match error {
                ConfigError::Invalid { key, .. } => key,
                other => panic!("{other}"),
            })
            .collect()
    }

    #[test]
    fn every_bad_key_of_an_entry_is_named() {
        assert_eq!(
            keys("name = \"n\"\ncolour = 1\non = 3\nheaders = { a = \"x\" }\n"),
            ["e[3].colour", "e[3].headers.a", "e[3].on"]
        );
        assert_eq!(keys("on = true\n"), ["e[3]"]);
    }
}
