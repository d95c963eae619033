//! The `iocsync` binary's entry point: parses the command line, runs it through the
//! [`iocsync::cli`] library, prints a failure and maps the outcome to a documented exit code.

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
