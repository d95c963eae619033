//! `iocsync serve`: the daemon (scheduler, webhook triggers, status page, JSON API, metrics)
//! until SIGTERM or Ctrl-C, which stop scheduling, let runs in flight finish their batch, record
//! them and exit 0. A second signal exits at once. SIGHUP reads the config file again and puts
//! it in force if all of it is valid (see [`serve::Reloader::reload`]).

use super::Exit;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::GlobalArgs;
use crate::serve::{self, Options};

/// Arguments of `iocsync serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port of the HTTP listener (status page, /api/, /metrics, /hooks/).
    /// Port 0 picks a free port; the URL is printed on stdout. Beyond loopback, set
    /// `[serve] token` so the status page, /api/ and /metrics ask for it.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How often the scheduler looks for due workflows; a failed run is retried one tick later.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub tick: Duration,
    /// How often every target's health is probed (with the call `iocsync check` makes).
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub probe_every: Duration,
    /// Create the library when its file does not exist (the daemon otherwise refuses to
    /// start: a lost or mistyped library would forget everything iocsync pushed).
    #[arg(long)]
    pub init_library: bool,
}

/// Exit code when a second signal interrupts the graceful shutdown (128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

/// Runs `iocsync serve`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if args.tick.is_zero() || args.probe_every.is_zero() {
        anyhow::bail!("--tick and --probe-every must be longer than zero");
    }
    let path = global.config_path();
    let config = config::Config::load(&path)?;
    let options = Options {
        tick: args.tick,
        probe_every: args.probe_every,
        init_library: args.init_library,
        ..Options::new(Arc::new(config), args.listen)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = serve::start(options).await?;
        println!("iocsync serve: listening on {}", server.url());
        reload_on_hangup(server.reloader(), path)?;
        shutdown_signal().await?;
        tracing::warn!("shutdown requested: finishing the batches in flight");
        tokio::spawn(async {
            if shutdown_signal().await.is_ok() {
                eprintln!("second signal: exiting without waiting for the runs in flight");
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
        server.shutdown().await
    })?;
    Ok(Exit::Success)
}

/// On every SIGHUP, loads the config file at `path` and reloads the daemon with it; a file
/// that does not load or set up is logged and the daemon goes on as it was.
fn reload_on_hangup(reloader: serve::Reloader, path: PathBuf) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let loaded = config::Config::load(&path).map_err(anyhow::Error::from);
                match reloader.reload_loaded(loaded) {
                    Ok(()) => tracing::info!(config = %path.display(), "configuration reloaded"),
                    Err(error) => tracing::error!(
                        config = %path.display(),
                        error = format!("{error:#}"),
                        "configuration NOT reloaded: the daemon keeps the one it has"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (reloader, path);
    Ok(())
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            _ = terminate.recv() => Ok(()),
            result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")
    }
}
