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
