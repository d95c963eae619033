//! `iocsync parse` (being built).

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments of `iocsync parse`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `iocsync parse`.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`iocsync parse` is not built yet")
}
