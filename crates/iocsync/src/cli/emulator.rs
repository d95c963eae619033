//! `iocsync emulator` (being built).

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments of `iocsync emulator`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `iocsync emulator`.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`iocsync emulator` is not built yet")
}
