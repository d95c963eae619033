//! `iocsync config check`: validates the config file without network access.

use std::process::ExitCode;

use super::GlobalArgs;

/// Subcommands of `iocsync config` (placeholder until built).
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Validate the config file without network access, naming the key path of every error.
    Check,
}

/// Runs the command.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
