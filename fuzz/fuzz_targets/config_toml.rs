//! `config::Config::from_toml` on arbitrary text: it never panics, a refusal always says what
//! is wrong, and an accepted config is consistent (every workflow's target exists).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::Config::from_toml(text) {
        Ok(config) => {
            for workflow in &config.workflows {
                assert!(config.target(&workflow.target).is_ok());
                assert!(config.workflow(&workflow.name).is_ok());
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
