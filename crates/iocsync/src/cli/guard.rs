//! `iocsync guard` (being built).

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments of `iocsync guard`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Placeholder until the subcommands are built.
    Placeholder,
}

/// Runs `iocsync guard`.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`iocsync guard` is not built yet")
}
