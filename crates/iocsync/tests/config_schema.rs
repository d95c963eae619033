//! `iocsync config schema` through the real binary: it needs no config file, prints the JSON
//! Schema (draft 2020-12) that the example config validates against, and with `--markdown`
//! prints exactly the checked-in reference page `docs/configuration.md`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use testkit::Test;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `iocsync config schema ARGS` prints; the config it is pointed at does not exist.
fn schema_output(args: &[&str]) -> String {
    let output = Test::new()
        .args(["config", "schema"])
        .args(args)
        .stderr("")
        .run();
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn config_schema_prints_the_json_schema_without_a_config_file() {
    let printed: Value = serde_json::from_str(&schema_output(&[])).expect("JSON");
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(printed, config::schema());
    let example = std::fs::read_to_string(repo().join("examples/iocsync.toml")).unwrap();
    let example: Value = toml::from_str(&example).unwrap();
    let validator = jsonschema::validator_for(&printed).expect("a valid JSON Schema");
    assert!(validator.is_valid(&example));
    let mut broken = example;
    broken["targets"][0]["colour"] = "red".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn config_schema_markdown_prints_the_reference_page() {
    let page = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    assert!(
        schema_output(&["--markdown"]) == page,
        "docs/configuration.md is stale: regenerate it with `{}`",
        config::schema::REGENERATE
    );
}
