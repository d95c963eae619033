//! The config file's JSON Schema and its reference page, both from the section types as written.
//!
//! [`schema()`] derives the schema (draft 2020-12) with `schemars` from the types serde reads
//! the file into: every struct refuses unknown keys (`additionalProperties: false`), as
//! `deny_unknown_fields` does, and every key's description is its `///` comment. The keys read
//! by hand rather than by serde have their schema written here: durations, schedules, secret
//! references and the removal brake, each with a `title` the reference page shows as its type;
//! a workflow's `parameters` take the keys of its `action` (an `if`/`then` per action, from the
//! parameter types next to each action's reader). [`markdown`] renders the same schema as the
//! reference page `docs/configuration.md`: one section per table, one row per key.
//!
//! The schema checks shapes and types, not what needs several keys or the machine (`region` or
//! `base_url`, a workflow's target existing, a secret's file): `iocsync config check` does.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

/// The config file's JSON Schema, as `iocsync config schema` prints it.
pub fn schema() -> Value {
    settings()
        .into_generator()
        .into_root_schema_for::<crate::Sections>()
        .to_value()
}

/// Draft 2020-12, without the `null` an `Option` allows in JSON: TOML has no null, an unset
/// key is left out.
fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with_transform(RecursiveTransform(no_null))
}

/// Removes `null` from a schema's types and its `anyOf` choices.
fn no_null(schema: &mut Schema) {
    let is_null = |value: &Value| value.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema.insert("type".to_owned(), only);
        }
    }
    let Some(Value::Array(choices)) = schema.get_mut("anyOf") else {
        return;
    };
    choices.retain(|choice| !is_null(choice));
    if let [only] = choices.as_slice() {
        let only = only.clone();
        schema.remove("anyOf");
        if let (Some(own), Value::Object(only)) = (schema.as_object_mut(), only) {
            for (key, value) in only {
                own.entry(key).or_insert(value);
            }
        }
    }
}

/// `T`'s schema with every subschema inline, to place inside another schema by hand.
pub(crate) fn inline_schema<T: JsonSchema>() -> Schema {
    let mut schema = settings()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    schema.remove("$schema");
    schema
}

/// Declares a type that only names the schema of a key read by hand, for
/// `#[schemars(with = "...")]`: it is never built.
macro_rules! key_schema {
    ($(#[$meta:meta])* $name:ident => $schema:tt) => {
        $(#[$meta])*
        pub(crate) enum $name {}

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

key_schema! {
    /// A duration key: humantime text such as `"5m"`, `"24h"` or `"90d"`.
    Duration => {
        "title": "duration",
        "type": "string",
        "description": "A duration longer than zero in humantime syntax: a number and a unit \
            (`s`, `m`, `h`, `d`, `w`); several may follow each other (`1h 30m`).",
        "examples": ["5m", "24h", "90d"]
    }
}

key_schema! {
    /// A schedule key: an interval or a UTC cron expression.
    ScheduleText => {
        "title": "schedule",
        "type": "string",
        "description": "An interval (`15m`, `6h`) or a five-field cron expression, in UTC \
            (`0 */6 * * *`).",
        "examples": ["1h", "0 */6 * * *"]
    }
}

key_schema! {
    /// A secret key: `env:NAME` or `file:PATH`, never the secret itself.
    SecretRef => {
        "title": "secret reference",
        "type": "string",
        "pattern": "^(env|file):",
        "description": "A secret reference: `env:NAME` (an environment variable) or \
            `file:PATH` (a file's contents); secrets are never written in the config file.",
        "examples": ["env:IOCSYNC_V1_KEY", "file:/run/secrets/iocsync"]
    }
}

key_schema! {
    /// A workflow's `max_removals`: a count, or a share of what the workflow holds.
    MaxRemovals => {
        "title": "count or percentage",
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%\\s*$" }
        ],
        "default": "10%",
        "examples": [50, "10%"]
    }
}

key_schema! {
    /// A workflow's `parameters`: a table whose keys its `action` decides (the workflow's
    /// schema adds them per action).
    ParameterTable => { "type": "object", "title": "table", "default": {} }
}

/// The reference page: the file's sections, each a table of its keys (type, default,
/// description), rendered from [`schema()`].
pub fn markdown() -> String {
    render::page(&schema())
}

mod render;

pub use render::REGENERATE;
