//! The `iocsync` binary's entry point: parses the command line, runs it through the
//! [`iocsync::cli`] library, prints a failure and maps how the command ended to its exit code,
//! here and nowhere else ([`code`]).

use std::process::ExitCode;

use clap::Parser;
use iocsync::cli::{self, Exit};

/// mimalloc instead of the C library's allocator: a sync allocates and frees millions of
/// small strings and JSON maps, and glibc's malloc spent a sixth of a 60,000-object sync
/// consolidating free lists (musl's, in the static build, is slower still).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let daemon = matches!(cli.command, cli::Command::Serve(_));
    cli::init_logging(&cli.global, daemon);
    let exit = cli::dispatch(cli).unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        Exit::of_error(&err)
    });
    ExitCode::from(code(exit))
}

/// The documented exit codes (README, "Exit codes"). 2 is clap's for a bad command line, 130
/// the daemon's on a second interrupt.
fn code(exit: Exit) -> u8 {
    match exit {
        Exit::Success => 0,
        Exit::Failure => 1,
        Exit::Partial => 3,
        Exit::Held => 4,
        Exit::Busy => 5,
    }
}
