//! The reference page, rendered from the schema value alone: one section per table of the file
//! (`[library]`, `[[targets]]` with a subsection per `product`, a workflow's `parameters` per
//! `action`, nested tables such as `[feeds.misp]`), each a table of its keys.

use std::fmt::Write;

use serde_json::{Map, Value};

/// How `docs/configuration.md` is regenerated, said at its top and by the test that compares.
pub const REGENERATE: &str = "cargo run -- config schema --markdown > docs/configuration.md";

/// The whole page.
pub(crate) fn page(schema: &Value) -> String {
    let page = Page { root: schema };
    let mut out = String::new();
    out.push_str("# Configuration reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the config types by `iocsync config schema --markdown`; do not \
         edit. Regenerate with `{REGENERATE}`. -->\n"
    );
    push_paragraph(&mut out, text(schema, "description"));
    out.push_str(
        "`iocsync config schema` prints the JSON Schema this page is made from, for editors \
         and CI. It checks each key's type and shape; `iocsync config check` also checks what \
         depends on several keys, other sections or the machine.\n\n",
    );
    for (key, property) in properties(schema) {
        page.section(&mut out, 2, &[key.as_str()], property);
    }
    out
}

/// The schema being rendered, for resolving `$ref`s.
struct Page<'a> {
    root: &'a Value,
}

impl<'a> Page<'a> {
    /// `schema` with its `$ref` followed (`#/$defs/Name`), merged under the referring
    /// schema's own keys (its description wins).
    fn resolve(&self, schema: &Value) -> Value {
        let target = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|path| path.strip_prefix('#'))
            .and_then(|pointer| self.root.pointer(pointer));
        match (target, schema.as_object()) {
            (Some(target), Some(own)) => {
                let mut merged = self.resolve(target);
                if let Some(merged) = merged.as_object_mut() {
                    for (key, value) in own.iter().filter(|(key, _)| *key != "$ref") {
                        merged.insert(key.clone(), value.clone());
                    }
                }
                merged
            }
            _ => schema.clone(),
        }
    }

    /// The section of the table at `path` (an array of tables when `schema` is an array of
    /// objects), then the sections of its nested tables.
    fn section(&self, out: &mut String, level: usize, path: &[&str], schema: &Value) {
        let schema = self.resolve(schema);
        let (table, brackets) = match schema.get("items") {
            Some(items) => (self.resolve(items), ("[[", "]]")),
            None => (schema.clone(), ("[", "]")),
        };
        if !is_table(&table) {
            return;
        }
        let name = path.join(".");
        let _ = writeln!(
            out,
            "{} `{}{name}{}`\n",
            "#".repeat(level),
            brackets.0,
            brackets.1
        );
        push_paragraph(out, text(&schema, "description"));
        self.body(out, level, path, &table);
    }

    /// A table's keys, then its variants (`oneOf`), its per-value rules (`allOf` of
    /// `if`/`then`) and its nested tables.
    fn body(&self, out: &mut String, level: usize, path: &[&str], table: &Value) {
        if !properties(table).is_empty() {
            self.keys(out, table);
        }
        for variant in list(table, "oneOf") {
            let variant = self.resolve(variant);
            let _ = writeln!(
                out,
                "{} {}\n",
                "#".repeat(level + 1),
                selector(&variant).unwrap_or_default()
            );
            push_paragraph(out, text(&variant, "description"));
            self.body(out, level + 1, path, &variant);
        }
        for rule in list(table, "allOf") {
            self.rule(out, level + 1, path, rule);
        }
        for (key, property) in properties(table) {
            let mut nested = path.to_vec();
            nested.push(key);
            self.section(out, level + 1, &nested, property);
        }
    }

    /// One `if`/`then` rule: what a key of the table takes when another has a given value
    /// (a workflow's `parameters` per `action`).
    fn rule(&self, out: &mut String, level: usize, path: &[&str], rule: &Value) {
        let Some(condition) = rule.get("if").and_then(selector) else {
            return;
        };
        for (key, property) in rule.get("then").map(properties).unwrap_or_default() {
            let property = self.resolve(property);
            let _ = writeln!(
                out,
                "{} `{}.{key}` with {condition}\n",
                "#".repeat(level),
                path.join(".")
            );
            push_paragraph(out, text(&property, "description"));
            self.keys(out, &property);
        }
    }

    /// The table of a table's keys.
    fn keys(&self, out: &mut String, table: &Value) {
        let required = list(table, "required");
        out.push_str("| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n");
        for (key, property) in properties(table) {
            let property = self.resolve(property);
            let default = match property.get("default") {
                Some(value) => format!("`{}`", toml_text(value)),
                None if required.iter().any(|name| name.as_str() == Some(key)) => {
                    "required".to_owned()
                }
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| `{key}` | {} | {default} | {} |",
                self.type_of(&property),
                cell(text(&property, "description"))
            );
        }
        out.push('\n');
    }

    /// What a key takes, in a few words: `string`, `integer (1 to 10)`, `"a"`, `"b"` ...
    fn type_of(&self, schema: &Value) -> String {
        let schema = self.resolve(schema);
        if let Some(title) = schema.get("title").and_then(Value::as_str) {
            return title.to_owned();
        }
        if let Some(value) = schema.get("const") {
            return format!("`{}`", toml_text(value));
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values
                .iter()
                .map(|value| format!("`{}`", toml_text(value)))
                .collect::<Vec<_>>()
                .join(", ");
        }
        for (key, joiner) in [("oneOf", ", "), ("anyOf", " or ")] {
            if let Some(choices) = schema.get(key).and_then(Value::as_array) {
                return choices
                    .iter()
                    .map(|choice| self.type_of(choice))
                    .collect::<Vec<_>>()
                    .join(joiner);
            }
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => match schema.get("items") {
                Some(items) => format!("array of {}", self.type_of(items)),
                None => "array".to_owned(),
            },
            Some("object") => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => format!("table of {}", self.type_of(values)),
                _ => "table".to_owned(),
            },
            Some(kind) => format!("{kind}{}", range(&schema)),
            None => String::new(),
        }
    }
}

/// ` (1 to 10)`, ` (at least 1)`, or nothing.
fn range(schema: &Value) -> String {
    let bound = |key: &str| schema.get(key).filter(|value| value.is_number());
    let lowest = bound("minimum").filter(|value| value.as_f64() != Some(0.0));
    match (lowest, bound("maximum")) {
        (Some(min), Some(max)) => format!(" ({min} to {max})"),
        (None, Some(max)) if bound("minimum").is_some() => format!(" (0 to {max})"),
        (None, Some(max)) => format!(" (at most {max})"),
        (Some(min), None) => format!(" (at least {min})"),
        (None, None) => String::new(),
    }
}

/// `product = "vision-one"`: the key a variant or condition pins with a `const`.
fn selector(schema: &Value) -> Option<String> {
    properties(schema).into_iter().find_map(|(key, property)| {
        property
            .get("const")
            .map(|value| format!("`{key} = {}`", toml_text(value)))
    })
}

/// Whether a schema describes a table with keys or variants (rather than a value).
fn is_table(schema: &Value) -> bool {
    schema.get("properties").is_some()
        || schema.get("oneOf").is_some_and(|_| {
            list(schema, "oneOf")
                .iter()
                .all(|variant| variant.get("properties").is_some())
        })
}

/// A schema's properties, in the schema's order.
fn properties(schema: &Value) -> Vec<(&String, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(Map::iter)
        .map(Iterator::collect)
        .unwrap_or_default()
}

/// The array at `key`, or nothing.
fn list<'a>(schema: &'a Value, key: &str) -> &'a [Value] {
    schema
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The string at `key`, or "".
fn text<'a>(schema: &'a Value, key: &str) -> &'a str {
    schema.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A value as TOML writes it: strings quoted, arrays and tables inline.
fn toml_text(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(toml_text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}

/// A description on one line, safe in a table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn push_paragraph(out: &mut String, text: &str) {
    if !text.is_empty() {
        out.push_str(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        out.push_str("\n\n");
    }
}
