//! The tests' kit, dev-only (a dev-dependency of the crates whose tests use it; never
//! published). It owns three things the tests used to write out by hand, each in its own way:
//!
//! - [`ConfigBuilder`]: an `iocsync.toml` built in code, so a test says only what differs from
//!   the usual (a target on the emulator that never goes through a proxy, a workflow on
//!   collection `all`, ...) and never spells out a `[[targets]]` block;
//! - [`Test`]: the `iocsync` binary run in a folder over its config, in the style of just's
//!   `tests/test.rs` (`Test::in_dir(dir).args([...]).stdin(..).status(1).run()`), the exit
//!   status and any expected output checked, both streams shown when they differ;
//! - [`emulator()`] and [`secret_file`]: the in-process emulator accepting one key, and the file
//!   that key (or any secret) is read from, as configs name secrets (`file:...`);
//! - [`postgres`]: a fresh PostgreSQL database per test, on a server named by
//!   `IOCSYNC_TEST_POSTGRES_URL` or on a throwaway cluster the test process starts (and stops).
//!
//! Features: `emulator` and `postgres` (both default); the store's tests take only `postgres`,
//! so they do not build the emulator.
//!
//! The kit knows the config's product names and keys (`vision-one`, `deep-security`, `xdr-v2`,
//! `http`; `base_url`, `api_key`, `auth_header`, `proxy`, ...) but not the engine: it writes
//! text the engine parses, so the tests of the engine can use it too.

mod config;
#[cfg(feature = "postgres")]
pub mod postgres;
mod run;

use std::path::Path;

pub use config::ConfigBuilder;
#[cfg(feature = "emulator")]
use emulator::{EmulatorConfig, RunningEmulator};
pub use run::Test;

/// The emulator with `settings`, accepting `key` (and only it) as its API key.
#[cfg(feature = "emulator")]
pub async fn emulator(key: &str, settings: EmulatorConfig) -> RunningEmulator {
    let settings = EmulatorConfig {
        api_keys: vec![key.into()],
        ..settings
    };
    emulator::spawn(settings)
        .await
        .expect("the emulator starts")
}

/// Writes `value` to `dir/name` and returns the `file:` reference a config names it by.
pub fn secret_file(dir: &Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value).expect("write the secret file");
    file_ref(&path)
}

/// The `file:` reference to `path` (a secret read from that file).
pub fn file_ref(path: &Path) -> String {
    format!("file:{}", path.display())
}
