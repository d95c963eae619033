//! The guard on arbitrary bytes: the input is loaded as a MISP warninglist file and its lines
//! are the allowlists and the values checked. Loading either succeeds or names its error;
//! checking never panics; a blocklist guard never lets a non-public address or network through,
//! and never lets through an address inside an allowed network.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use guard::{Guard, GuardConfig};
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input.
static LIST_FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    std::env::temp_dir().join(format!(
        "iocsync-fuzz-warninglist-{}.json",
        std::process::id()
    ))
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<String> = text.lines().take(64).map(str::to_owned).collect();
    if std::fs::write(&*LIST_FILE, data).is_err() {
        return;
    }
    let with_list = GuardConfig {
        warninglists: vec![LIST_FILE.clone()],
        ..GuardConfig::default()
    };
    let guards = [
        Guard::new(&with_list).ok(),
        Guard::new(&GuardConfig {
            allow_cidrs: lines.clone(),
            allow_domains: lines.clone(),
            allow_urls: lines.clone(),
            allow_hashes: lines.clone(),
            ..GuardConfig::default()
        })
        .ok(),
        Guard::new(&GuardConfig::default()).ok(),
    ];
    let values = lines
        .iter()
        .filter_map(|l| indicator::parse(l).ok())
        .flatten();
    for value in values {
        for guard in guards.iter().flatten() {
            let verdict = guard.check(&value);
            if value.scope.is_some_and(|scope| !scope.is_public()) {
                assert!(
                    !verdict.is_allow(),
                    "{} ({:?}) allowed",
                    value.value,
                    value.scope
                );
            }
        }
    }
});
