//! `iocsync serve: the daemon (scheduler, webhook triggers, status page, JSON API, metrics).`

use std::process::ExitCode;

use super::GlobalArgs;

/// Arguments (placeholder until built).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args, _global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
