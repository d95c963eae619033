//! Every structural error of a config file, each with its key path.
//!
//! `config::Config::from_toml` is the one authority on what a valid file is, but it stops at
//! the first error. To report them all without a second copy of the schema, the file is cut
//! into small documents — the top level with the lists left out, then each `[[targets]]`,
//! `[[feeds]]`, `[[collections]]`, `[[workflows]]` and `[[triggers]]` entry on its own (workflows and
//! triggers with the valid targets they may name) — and each is validated by the engine. After
//! an error, the offending key is removed and the document validated again, so several errors
//! in one entry are found too. Key paths are rewritten from the small document back to the
//! file (`targets[0]` → `targets[3]`); serde's errors, which carry only a position, get their
//! key path from the spans of the parsed document.

use std::ops::Range;

use config::{Config, ConfigError};
use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use super::Problem;

/// The sections that are lists of entries, validated one entry at a time, in the order that
/// lets later ones name earlier ones.
const LISTS: [&str; 5] = ["targets", "feeds", "collections", "workflows", "triggers"];
/// Enough removals to find every error in one entry without looping on a stubborn one.
const MAX_ERRORS_PER_DOCUMENT: usize = 20;

/// Every structural error in `doc`, in file order of sections.
pub fn problems(doc: &Table) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut skeleton = doc.clone();
    for list in LISTS {
        if matches!(skeleton.get(list), Some(Value::Array(_))) {
            skeleton.remove(list);
        }
    }
    problems.extend(validate(skeleton, &|key| key));
    let library = placeholder_library();
    let (valid_targets, bad_target_names) = check_targets(doc, &library, &mut problems);
    let feed_names = check_feeds(doc, &library, &mut problems);
    for list in ["collections", "workflows", "triggers"] {
        for (i, entry) in entries(doc, list) {
            // A workflow or trigger naming a broken target would only repeat its error.
            let target = entry.get("target").and_then(Value::as_str);
            if target.is_some_and(|name| bad_target_names.iter().any(|bad| bad == name)) {
                continue;
            }
            let mut mini = library.clone();
            if list != "collections" {
                mini.insert("targets".into(), Value::Array(valid_targets.clone()));
            }
            if list == "workflows" {
                mini.insert("feeds".into(), Value::Array(feed_names.clone()));
            }
            mini.insert(list.into(), Value::Array(vec![entry.clone()]));
            problems.extend(validate(mini, &|key| renumber(key, list, i)));
        }
    }
    problems
}

/// Validates each feed alone; returns a stand-in for every named feed, valid or not, for the
/// workflows that follow feeds (a broken feed's own errors are reported once, here).
fn check_feeds(doc: &Table, library: &Table, problems: &mut Vec<Problem>) -> Vec<Value> {
    let mut names = Vec::new();
    for (i, entry) in entries(doc, "feeds") {
        let mut mini = library.clone();
        mini.insert("feeds".into(), Value::Array(vec![entry.clone()]));
        problems.extend(validate(mini, &|key| renumber(key, "feeds", i)));
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            let mut stand_in = Table::new();
            stand_in.insert("name".into(), Value::String(name.to_owned()));
            stand_in.insert("url".into(), Value::String("feed.txt".into()));
            names.push(Value::Table(stand_in));
        }
    }
    names
}

/// Validates each target alone; returns the valid ones and the names of the others.
fn check_targets(
    doc: &Table,
    library: &Table,
    problems: &mut Vec<Problem>,
) -> (Vec<Value>, Vec<String>) {
    let mut valid = Vec::new();
    let mut bad = Vec::new();
    for (i, entry) in entries(doc, "targets") {
        let mut mini = library.clone();
        mini.insert("targets".into(), Value::Array(vec![entry.clone()]));
        let found = validate(mini, &|key| renumber(key, "targets", i));
        if found.is_empty() {
            valid.push(entry.clone());
        } else {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            bad.push(name.to_owned());
            problems.extend(found);
        }
    }
    (valid, bad)
}

/// The entries of one list section, with their index in the file.
fn entries<'a>(doc: &'a Table, list: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    doc.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// A `[library]` for the small documents, so a bad one is reported once, by the skeleton.
fn placeholder_library() -> Table {
    let mut library = Table::new();
    library.insert("path".into(), Value::String("iocsync.db".into()));
    let mut doc = Table::new();
    doc.insert("library".into(), Value::Table(library));
    doc
}

/// `targets[0].api_key` in a small document → `targets[i].api_key` in the file.
fn renumber(key: String, list: &str, i: usize) -> String {
    let local = format!("{list}[0]");
    match key.strip_prefix(&local) {
        Some(rest) => format!("{list}[{i}]{rest}"),
        None => key,
    }
}

/// Validates `doc`, removing each offending key and trying again; stops when an error is at
/// (or above) a key already reported, which is a consequence of the removal.
fn validate(mut doc: Table, rewrite: &dyn Fn(String) -> String) -> Vec<Problem> {
    let mut found: Vec<Problem> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    while found.len() < MAX_ERRORS_PER_DOCUMENT {
        let text = match toml::to_string(&doc) {
            Ok(text) => text,
            Err(error) => {
                found.push(Problem::new("", error.to_string()));
                break;
            }
        };
        let Err(error) = Config::from_toml(&text) else {
            break;
        };
        let (key, message) = locate(&error, &text);
        if removed.iter().any(|gone| is_within(gone, &key)) {
            break;
        }
        found.push(Problem::new(rewrite(key.clone()), message));
        if !remove(&mut doc, &key) {
            break;
        }
        removed.push(key);
    }
    found
}

/// Whether `inner` is `outer` or below it (`targets[0].x` is within `targets[0]`).
fn is_within(inner: &str, outer: &str) -> bool {
    inner == outer
        || outer.is_empty()
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
}

/// The key path and the reason of a config error found in `text`.
pub fn locate(error: &ConfigError, text: &str) -> (String, String) {
    match error {
        ConfigError::Invalid { key, reason } => (key.clone(), reason.clone()),
        ConfigError::Syntax { message, .. } => match position(message) {
            Some((offset, reason)) => {
                let offset = offset_of(text, offset);
                let key = DeTable::parse(text)
                    .ok()
                    .and_then(|doc| key_at(doc.get_ref(), offset))
                    .unwrap_or_default();
                (key, reason)
            }
            None => (String::new(), message.trim().to_owned()),
        },
        other => (String::new(), other.to_string()),
    }
}

/// `(line, column)` (1-based) and the reason from a `toml` error message, which reads
/// `TOML parse error at line L, column C`, the line quoted with a caret under it, then the
/// reason.
fn position(message: &str) -> Option<((usize, usize), String)> {
    let mut lines = message.lines();
    let head = lines.next()?.strip_prefix("TOML parse error at line ")?;
    let (line, column) = head.split_once(", column ")?;
    let at = (line.trim().parse().ok()?, column.trim().parse().ok()?);
    let reason: Vec<&str> = lines
        .skip_while(|line| !line.trim_end().ends_with('^'))
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .collect();
    (!reason.is_empty()).then(|| (at, reason.join(" ")))
}

/// The byte offset of a 1-based line and character column.
fn offset_of(text: &str, (line, column): (usize, usize)) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = text.get(start..).unwrap_or_default();
    start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The deepest key path whose key or value covers `offset`. Tables of an array of tables span
/// only their `[[header]]`, so every child is searched, not only those inside the parent.
fn key_at(table: &DeTable<'_>, offset: usize) -> Option<String> {
    let covers = |span: Range<usize>| span.contains(&offset);
    let mut best: Option<String> = None;
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let here = covers(key.span()) || covers(value.span());
        let deeper = match value.get_ref() {
            DeValue::Table(inner) => key_at(inner, offset).map(|rest| format!("{name}.{rest}")),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let inner = match item.get_ref() {
                    DeValue::Table(inner) => key_at(inner, offset),
                    _ => None,
                };
                match inner {
                    Some(rest) => Some(format!("{name}[{i}].{rest}")),
                    None => covers(item.span()).then(|| format!("{name}[{i}]")),
                }
            }),
            _ => None,
        };
        match (deeper, here) {
            (Some(path), _) => return Some(path),
            (None, true) => best = Some(name),
            (None, false) => {}
        }
    }
    best
}

/// Removes the key at `path` (`workflows[0].parameters.expiry`); false when the path names
/// an entry itself or nothing.
fn remove(doc: &mut Table, path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return false;
    };
    if last.is_empty() || last.ends_with(']') {
        return false;
    }
    let mut table = doc;
    for part in parts {
        let (name, index) = match part.split_once('[') {
            Some((name, index)) => (name, index.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(value) = table.get_mut(name) else {
            return false;
        };
        let value = match (value, index) {
            (Value::Array(items), Some(i)) => match items.get_mut(i) {
                Some(item) => item,
                None => return false,
            },
            (value, None) => value,
            _ => return false,
        };
        let Value::Table(inner) = value else {
            return false;
        };
        table = inner;
    }
    table.remove(last).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        let doc: Table = toml::from_str(text).unwrap();
        problems(&doc).into_iter().map(|p| p.key).collect()
    }

    const TARGET: &str = "[[targets]]\nname = \"v1\"\nproduct = \"vision-one\"\nbase_url = \"http://127.0.0.1:1\"\napi_key = \"env:K\"\n";

    #[test]
    fn a_valid_file_has_no_problems() {
        assert!(check(&format!("[library]\npath = \"x.db\"\n{TARGET}")).is_empty());
    }

    #[test]
    fn every_bad_entry_and_key_is_named() {
        let text = format!(
            "[library]\npath = \"x.db\"\ncolour = 1\n{TARGET}{}colour = 2\n\
             [[workflows]]\nname = \"w\"\ncollection = \"c\"\ntarget = \"v1\"\naction = \"blocklist\"\n\
             parameters = {{ expiry = 5, flavour = 1 }}\n\
             [[workflows]]\nname = \"w2\"\ncollection = \"c\"\ntarget = \"v1\"\naction = \"nuke\"\n",
            TARGET.replace("\"v1\"", "\"v2\"")
        );
        let keys = check(&text);
        assert_eq!(
            keys,
            [
                "library.colour",
                "targets[1].colour",
                "workflows[0].parameters.expiry",
                "workflows[0].parameters.flavour",
                "workflows[1].action",
            ]
        );
    }

    #[test]
    fn missing_fields_name_their_entry_once() {
        let keys = check("[library]\npath = \"x\"\n[[targets]]\nproduct = \"vision-one\"\n");
        assert_eq!(keys, ["targets[0]"]);
    }

    #[test]
    fn removal_walks_arrays_and_tables() {
        let mut doc: Table = toml::from_str("[[a]]\n[a.b]\nc = 1\nd = 2\n").unwrap();
        assert!(remove(&mut doc, "a[0].b.c"));
        assert!(!remove(&mut doc, "a[0].b.c"));
        assert!(!remove(&mut doc, "a[0]"));
        assert!(!remove(&mut doc, "a[3].b.d"));
        assert_eq!(toml::to_string(&doc).unwrap().matches("d = 2").count(), 1);
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "a = \"é\"\nbé = 1\n";
        // Line 1 is 9 bytes (`é` takes two); column 2 of line 2 is just after `b`.
        assert_eq!(offset_of(text, (2, 3)), 12);
        assert_eq!(offset_of(text, (2, 2)), 10);
        assert_eq!(offset_of(text, (9, 1)), text.len());
    }

    /// The value at a key path, if the path names one.
    fn lookup<'a>(doc: &'a Table, path: &str) -> Option<&'a Value> {
        let mut parts = path.split('.');
        let mut value = doc.get(parts.next().map(|p| p.split('[').next().unwrap_or(p))?)?;
        let first_index = path.split('.').next().and_then(index_of);
        if let Some(i) = first_index {
            value = value.as_array()?.get(i)?;
        }
        for part in parts {
            let name = part.split('[').next().unwrap_or(part);
            value = value.as_table()?.get(name)?;
            if let Some(i) = index_of(part) {
                value = value.as_array()?.get(i)?;
            }
        }
        Some(value)
    }

    fn index_of(part: &str) -> Option<usize> {
        part.split_once('[')?.1.trim_end_matches(']').parse().ok()
    }

    /// Every leaf of the example config, by key path.
    fn leaves(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::Table(table) => {
                for (key, inner) in table {
                    let next = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    leaves(inner, next, out);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_table) && !items.is_empty() => {
                for (i, inner) in items.iter().enumerate() {
                    leaves(inner, format!("{path}[{i}]"), out);
                }
            }
            _ => out.push(path),
        }
    }

    fn set(doc: &mut Table, path: &str, new: Value) {
        let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
        let table = if parent.is_empty() {
            doc
        } else {
            match lookup_mut(doc, parent) {
                Some(Value::Table(table)) => table,
                _ => return,
            }
        };
        table.insert(last.to_owned(), new);
    }

    fn lookup_mut<'a>(doc: &'a mut Table, path: &str) -> Option<&'a mut Value> {
        let mut table = doc;
        let parts: Vec<&str> = path.split('.').collect();
        for (n, part) in parts.iter().enumerate() {
            let name = part.split('[').next().unwrap_or(part);
            let mut value = table.get_mut(name)?;
            if let Some(i) = index_of(part) {
                value = value.as_array_mut()?.get_mut(i)?;
            }
            if n + 1 == parts.len() {
                return Some(value);
            }
            table = value.as_table_mut()?;
        }
        None
    }

    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::Integer),
            any::<bool>().prop_map(Value::Boolean),
            "[ -~]{0,12}".prop_map(Value::String),
            prop::collection::vec("[a-z]{0,5}".prop_map(Value::String), 0..3)
                .prop_map(Value::Array),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any one value of the example replaced by any other: no panic, and every key path
        /// reported names something in the file (or the whole file).
        #[test]
        fn reported_key_paths_exist_in_the_file(pick in any::<prop::sample::Index>(), new in any_value()) {
            let mut doc: Table = toml::from_str(crate::cli::init::EXAMPLE_CONFIG).unwrap();
            let mut paths = Vec::new();
            leaves(&Value::Table(doc.clone()), String::new(), &mut paths);
            let path = pick.get(&paths).clone();
            set(&mut doc, &path, new);
            for problem in problems(&doc) {
                prop_assert!(
                    problem.key.is_empty() || lookup(&doc, &problem.key).is_some(),
                    "{} names nothing (changed {path})", problem
                );
            }
        }

        #[test]
        fn offsets_are_char_boundaries(text in "\\PC{0,40}(\n\\PC{0,40}){0,3}", line in 0usize..6, column in 0usize..50) {
            let offset = offset_of(&text, (line, column));
            prop_assert!(offset <= text.len() && text.is_char_boundary(offset));
        }
    }
}
