//! The `iocsync` binary: the command-line layer over the library crates (flags, printing,
//! exit codes) and the daemon (`serve`).
//!
//! Each subcommand lives in its own module under `cli/` with an `Args` struct (parsed by clap)
//! and a `run` function. Flags are turned into plain validated values before any I/O happens;
//! errors surface here as `anyhow` and map to documented exit codes.

use std::process::ExitCode;

use clap::Parser;
use iocsync::cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let daemon = matches!(cli.command, cli::Command::Serve(_));
    cli::init_logging(&cli.global, daemon);
    match cli::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            cli::error_code(&err)
        }
    }
}
