//! `iocsync collections` (being built).

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments of `iocsync collections`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Placeholder until the subcommands are built.
    Placeholder,
}

/// Runs `iocsync collections`.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`iocsync collections` is not built yet")
}
