//! `iocsync import` (being built).

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments of `iocsync import`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `iocsync import`.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`iocsync import` is not built yet")
}
