//! `iocsync emulator`: runs the built-in Trend Micro API emulator (crate `emulator`) in the
//! foreground — Vision One v3, Deep Security IP lists under `/api` and XDR v2 on one port —
//! until Ctrl-C or SIGTERM, then saves `--state` if given. Point iocsync targets at the
//! printed base URLs to try everything without a tenant.

use super::Exit;

use super::GlobalArgs;

/// Arguments of `iocsync emulator`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The /_emulator/* endpoints (state, requests, reset, clock, faults) need no key: \
                  they exist only on the emulator."
)]
pub struct Args {
    #[command(flatten)]
    serve: emulator::cli::ServeArgs,
}

/// Runs `iocsync emulator`.
pub fn run(args: Args, _global: &GlobalArgs) -> anyhow::Result<Exit> {
    emulator::cli::run(&args.serve)?;
    Ok(Exit::Success)
}
