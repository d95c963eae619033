//! `tm-emulator`: the Trend Micro API emulator on its own, without the rest of iocsync
//! (same options as `iocsync emulator`).

use std::process::ExitCode;

use clap::Parser;

/// Emulates Trend Micro Vision One (v3), Deep Security / Workload Security IP lists and the
/// XDR v2 block API on one local port, for trying and testing clients.
#[derive(Debug, Parser)]
#[command(name = "tm-emulator", version, about)]
struct Cli {
    #[command(flatten)]
    serve: emulator::cli::ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("IOCSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match emulator::cli::run(&cli.serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
