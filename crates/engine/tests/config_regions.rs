//! `region` on targets: Vision One regions for vision-one and xdr-v2, Workload Security
//! regions (`us-1` … `ae-1`) for deep-security, each instead of `base_url`.

use config::{Config, ConfigError};

/// Written out, not built with `testkit::ConfigBuilder`: the target's keys are what the tests
/// check (which `product`/`region`/`base_url` combinations are taken or refused), so each test
/// spells them out as the user would.
fn config(target: &str, key_file: &std::path::Path) -> Result<Config, ConfigError> {
    Config::from_toml(&format!(
        "[library]\npath = \"lib.db\"\n\n[[targets]]\nname = \"ws\"\napi_key = \"file:{}\"\n{target}\n",
        key_file.display()
    ))
}

fn key_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "1:secret\n").unwrap();
    file
}

/// The `targets[0].region` (or other) error of a config that must be refused.
fn refusal(target: &str) -> (String, String) {
    let key = key_file();
    match config(target, key.path()) {
        Err(ConfigError::Invalid { key, reason }) => (key, reason),
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

#[test]
fn a_workload_security_region_gives_its_host() {
    let key = key_file();
    let config = config("product = \"deep-security\"\nregion = \"ae-1\"", key.path()).unwrap();
    let (base, header) = deep_security(&config).validate().unwrap();
    assert_eq!(
        base.as_str(),
        "https://workload.ae-1.cloudone.trendmicro.com/api"
    );
    assert_eq!(header, trendmicro::deep_security::AuthHeader::Authorization);
}

#[test]
fn an_unknown_region_names_the_key_and_lists_the_known_ones() {
    let (key, reason) = refusal("product = \"deep-security\"\nregion = \"eu-1\"");
    assert_eq!(key, "targets[0].region");
    assert_eq!(
        reason,
        "unknown region `eu-1`; known regions: us-1, trend-us-1, in-1, gb-1, au-1, jp-1, de-1, \
         ca-1, sg-1, ae-1"
    );
    // A Vision One region is not a Workload Security one, and the other way round.
    let (key, reason) = refusal("product = \"deep-security\"\nregion = \"us\"");
    assert_eq!(key, "targets[0].region");
    assert!(
        reason.contains("`us`") && reason.contains("ae-1"),
        "{reason}"
    );
    let (key, reason) = refusal("product = \"vision-one\"\nregion = \"ae-1\"");
    assert_eq!(key, "targets[0].region");
    assert!(reason.contains("us, eu, au"), "{reason}");
}

#[test]
fn exactly_one_of_region_and_base_url() {
    let (key, reason) = refusal(
        "product = \"deep-security\"\nregion = \"de-1\"\nbase_url = \"https://dsm.corp:4119\"",
    );
    assert_eq!(key, "targets[0]");
    assert!(reason.contains("exactly one"), "{reason}");
    let (key, reason) = refusal("product = \"deep-security\"");
    assert_eq!(key, "targets[0]");
    assert!(reason.contains("exactly one"), "{reason}");
    // An on-premise manager by address still works.
    let key = key_file();
    let config = config(
        "product = \"deep-security\"\nbase_url = \"dsm.corp:4119\"",
        key.path(),
    )
    .unwrap();
    let ds = deep_security(&config);
    assert_eq!(
        ds.validate().unwrap().0.as_str(),
        "https://dsm.corp:4119/api"
    );
}

/// The client settings of target `ws`, a deep-security one.
fn deep_security(config: &Config) -> trendmicro::deep_security::DeepSecurityConfig {
    let target = config.target("ws").unwrap();
    let config::Settings::DeepSecurity(settings) = &target.settings else {
        panic!("`ws` reads as {}", target.product());
    };
    settings.config(target).unwrap()
}
