//! The config file's JSON Schema against real files: every example config validates, a file
//! with an unknown key or a value of the wrong type does not, a workflow's `parameters` are
//! those of its action; and `docs/configuration.md` is what `config::schema::markdown()`
//! renders (`UPDATE_DOCS=1` rewrites it).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&config::schema()).expect("the schema is a valid JSON Schema")
}

/// TOML text as the JSON value a schema validates.
fn json(text: &str) -> Value {
    toml::from_str(text).expect("valid TOML")
}

/// Every schema error of `text`, as `path: message`.
fn errors(text: &str) -> Vec<String> {
    validator()
        .iter_errors(&json(text))
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// A valid file the tests change one thing in.
const VALID: &str = r#"
[library]
path = "iocsync.db"

[[targets]]
name = "v1"
product = "vision-one"
region = "us"
api_key = "env:V1_KEY"

[[collections]]
name = "all"

[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
max_removals = "10%"
[workflows.parameters]
expiry = "valid-until"
fallback_expiry = "never"
"#;

#[test]
fn the_valid_file_is_valid_for_the_parser_and_the_schema() {
    assert!(config::Config::check(VALID).is_ok());
    assert_eq!(errors(VALID), Vec::<String>::new());
}

#[test]
fn every_example_config_validates() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("examples")).expect("examples/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            assert_eq!(errors(&text), Vec::<String>::new(), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no example config found");
}

#[test]
fn an_unknown_key_is_invalid() {
    let text = VALID.replace("region = \"us\"", "region = \"us\"\ncolour = \"red\"");
    assert!(config::Config::check(&text).is_err());
    let found = errors(&text);
    assert!(
        found.iter().any(|error| error.starts_with("/targets/0")),
        "{found:?}"
    );
    let top = format!("{VALID}\n[colour]\nname = \"red\"\n");
    assert!(!errors(&top).is_empty());
}

#[test]
fn a_value_of_the_wrong_type_is_invalid() {
    for (from, to) in [
        ("path = \"iocsync.db\"", "path = 3"),
        ("action = \"blocklist\"", "action = \"paint\""),
        ("product = \"vision-one\"", "product = \"vision-two\""),
        ("max_removals = \"10%\"", "max_removals = \"many\""),
        ("api_key = \"env:V1_KEY\"", "api_key = \"s3cr3t\""),
    ] {
        let text = VALID.replace(from, to);
        assert!(config::Config::check(&text).is_err(), "{to}");
        assert!(!errors(&text).is_empty(), "{to} passes the schema");
    }
}

#[test]
fn a_trigger_takes_only_the_actions_triggers_take() {
    let trigger = |action: &str| {
        format!(
            "{VALID}\n[[triggers]]\nname = \"t\"\ntarget = \"v1\"\naction = \"{action}\"\n\
             token = \"env:T\"\nvalues = [\"$ip\"]\n[triggers.fields]\nip = \"alert.ip\"\n"
        )
    };
    assert!(config::Config::check(&trigger("blocklist")).is_ok());
    assert_eq!(errors(&trigger("blocklist")), Vec::<String>::new());
    assert!(config::Config::check(&trigger("exceptions")).is_err());
    assert!(!errors(&trigger("exceptions")).is_empty());
}

#[test]
fn parameters_are_those_of_the_action() {
    let expiry = |value: &str| VALID.replace("expiry = \"valid-until\"", value);
    assert!(!errors(&expiry("expiry = 31")).is_empty());
    assert!(errors(&expiry("expiry = 90")).is_empty());
    // `list_name` is an ip-list parameter, not a blocklist one.
    let text = expiry("list_name = \"x\"");
    assert!(config::Config::check(&text).is_err());
    assert!(
        errors(&text)
            .iter()
            .any(|error| error.starts_with("/workflows/0/parameters")),
        "{:?}",
        errors(&text)
    );
}

/// A value the schema gives `property`: its default, else its least value, else a word.
fn sample(property: &Value) -> Value {
    if let Some(default) = property.get("default") {
        return default.clone();
    }
    match property.get("type").and_then(Value::as_str) {
        Some("integer") => property.get("minimum").cloned().unwrap_or(Value::from(1)),
        _ => Value::from("x"),
    }
}

/// The `parameters` schema of each action, from the workflow's `if`/`then` rules.
fn parameter_schemas(schema: &Value) -> Vec<(String, Value)> {
    let rules = schema["$defs"]["RawWorkflow"]["allOf"]
        .as_array()
        .expect("one rule per action");
    rules
        .iter()
        .map(|rule| {
            let action = rule["if"]["properties"]["action"]["const"]
                .as_str()
                .unwrap();
            let parameters = rule["then"]["properties"]["parameters"].clone();
            (action.to_owned(), parameters)
        })
        .collect()
}

#[test]
fn every_documented_parameter_is_one_the_action_reads() {
    let schema = config::schema();
    let example = std::fs::read_to_string(repo().join("examples/iocsync.toml")).unwrap();
    let mut file: toml::Table = toml::from_str(&example).unwrap();
    let mut covered = Vec::new();
    let parameters = parameter_schemas(&schema);
    assert_eq!(
        parameters.len(),
        config::Action::ALL.len(),
        "one rule per action"
    );
    for workflow in file["workflows"].as_array_mut().unwrap() {
        let action = workflow["action"].as_str().unwrap().to_owned();
        let (_, keys) = parameters.iter().find(|(name, _)| *name == action).unwrap();
        let mut table = serde_json::Map::new();
        for (key, property) in keys["properties"].as_object().unwrap() {
            table.insert(key.clone(), sample(property));
        }
        if table.contains_key("fallback_expiry") {
            // Read only with an expiry taken from the indicator.
            table.insert("expiry".into(), "valid-until".into());
        }
        let table: toml::Value = serde_json::from_value(Value::Object(table)).unwrap();
        workflow
            .as_table_mut()
            .unwrap()
            .insert("parameters".into(), table);
        covered.push(action);
    }
    let text = toml::to_string(&file).unwrap();
    assert_eq!(errors(&text), Vec::<String>::new());
    if let Err(errors) = config::Config::check(&text) {
        panic!("a documented parameter is refused: {errors}");
    }
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered.len(),
        config::Action::ALL.len(),
        "the example has a workflow of every action"
    );
}

#[test]
fn the_reference_page_is_up_to_date() {
    let path = repo().join("docs/configuration.md");
    let page = config::schema::markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("docs/configuration.md written");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == page,
        "docs/configuration.md differs from the config types; regenerate it with `{}` \
         (or `UPDATE_DOCS=1 cargo test -p config --test schema`)",
        config::schema::REGENERATE
    );
}
