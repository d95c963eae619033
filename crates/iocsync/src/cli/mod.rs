//! Command-line definition: the top-level `Cli`, global flags, and dispatch to one module per
//! subcommand. Each command ends with an [`Exit`] (how it ended: success, failure, partial,
//! held, busy), or an error ([`Exit::of_error`]); `main.rs` maps it to the process exit code.

pub mod adopt;
pub mod block;
pub mod check;
pub mod collections;
pub mod completions;
pub mod config;
pub mod emulator;
pub mod guard;
pub mod import;
pub mod init;
pub mod library;
pub mod man;
pub mod out;
pub mod parse;
pub mod plan;
pub mod pull;
pub mod quickstart;
pub mod run;
pub mod runs;
pub mod serve;
pub mod why;

use clap::{Args, Parser, Subcommand};

/// How a command ended, as far as its caller needs to know. `main.rs` turns it, or the error a
/// command ended with, into the process exit code (its `code()`, the one place the numbers
/// live); the README's "Exit codes" table documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked was done.
    Success,
    /// The command failed (also every error a command returns).
    Failure,
    /// The command finished, but some inputs were rejected (they are reported).
    Partial,
    /// The run finished, but the removal brake held its removals until a person releases them.
    Held,
    /// The workflow is already running in another process: nothing was done, which is not a
    /// failure; try again later.
    Busy,
}

impl Exit {
    /// How a command that recorded a run with `status` ended.
    pub fn of(status: store::RunStatus) -> Exit {
        use store::RunStatus;
        match status {
            RunStatus::Succeeded | RunStatus::Running => Exit::Success,
            RunStatus::Partial => Exit::Partial,
            RunStatus::Held => Exit::Held,
            RunStatus::Failed | RunStatus::Interrupted => Exit::Failure,
        }
    }

    /// How a command that returned `error` ended: busy when its workflow was already running
    /// elsewhere, failed otherwise.
    pub fn of_error(error: &anyhow::Error) -> Exit {
        match error.downcast_ref::<engine::EngineError>() {
            Some(engine::EngineError::Busy(_)) => Exit::Busy,
            _ => Exit::Failure,
        }
    }
}

/// iocsync exports threat indicators to Trend Micro Vision One, Deep Security / Workload
/// Security and XDR, and keeps them in step: only differences are sent, expired and revoked
/// indicators are removed, and guards keep what must never be blocked out of every export.
#[derive(Debug, Parser)]
#[command(
    name = "iocsync",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("IOCSYNC_BUILD"), ")"),
    about,
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (repeat for debug output).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The config file (targets, collections, guard, workflows) [default: iocsync.toml].
    #[arg(long, global = true, env = "IOCSYNC_CONFIG", value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
    /// Write logs as JSON lines (for `serve` under a log collector) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

/// Where the config file is when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "iocsync.toml";

impl GlobalArgs {
    /// The config file to use: `--config`, `IOCSYNC_CONFIG`, or `iocsync.toml`.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_CONFIG))
    }

    /// The config file if one was named or the default one exists; commands that work without
    /// a config (such as `guard test`) use this.
    pub fn optional_config(&self) -> Option<std::path::PathBuf> {
        let path = self.config_path();
        (self.config.is_some() || path.exists()).then_some(path)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, refang, canonicalise and classify indicators from files or stdin.
    Parse(parse::Args),
    /// Run the built-in Trend Micro API emulator (Vision One, Deep Security, XDR v2).
    Emulator(emulator::Args),
    /// Import indicators from files or URLs (text, CSV, JSONL, STIX 2.1, MISP, TAXII 2.1) into the library.
    Import(import::Args),
    /// Pull the config's [[feeds]] now (the daemon pulls them on their schedules).
    Pull(pull::Args),
    /// List the config's feeds with their last pull, outcome, counts and next pull.
    Feeds(pull::FeedsArgs),
    /// Define, list and show collections: saved, ordered filters over the library.
    #[command(subcommand)]
    Collections(collections::Args),
    /// Test values against the guards that keep them out of every export.
    #[command(subcommand)]
    Guard(guard::Args),
    /// Show what `iocsync run` would send for a workflow, without sending anything.
    Plan(plan::Args),
    /// Run a workflow: send the differences between its collection and the ledger to its target.
    Run(run::Args),
    /// Rebuild a lost ledger: record as the workflow's the objects on its target that carry
    /// this library's marker (or another library's, with --from-library).
    Adopt(adopt::Args),
    /// Block values at once on a Vision One, XDR v2 or http target (guard applied, kept in its
    /// own ledger).
    Block(block::Args),
    /// Remove blocks made with `iocsync block` (or by a webhook trigger, with --trigger).
    Unblock(block::Args),
    /// Check that a target is reachable and that its credentials and permissions work.
    Check(check::Args),
    /// List recent runs with their counts and errors.
    Runs(runs::Args),
    /// Copy the whole library to a new one (SQLite to PostgreSQL and back).
    #[command(subcommand)]
    Library(library::Args),
    /// Explain why a value is (or is not) blocked: sources, collections, guard, claims.
    Why(why::Args),
    /// Run the daemon: scheduled workflows, webhook triggers, status page, JSON API and metrics.
    Serve(serve::Args),
    /// Write a commented example config file.
    Init(init::Args),
    /// Validate the config file without network access, or print its JSON Schema.
    #[command(subcommand)]
    Config(config::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Print the manual page, or write one per command with --dir.
    Man(man::Args),
    /// Try iocsync end to end on the built-in emulator with the bundled sample feeds.
    Quickstart(quickstart::Args),
}

/// Sets up `tracing` output on stderr according to the global flags: JSON lines with
/// `--log-json`, otherwise text, coloured only on a terminal and never when `NO_COLOR` is set.
/// The daemon logs at INFO by default (each run, reload, trigger call and TTL lift: what an
/// operator reads), a one-shot command at WARN (its report is on stdout).
pub fn init_logging(global: &GlobalArgs, daemon: bool) {
    let level = match (global.quiet, global.verbose, daemon) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) | (false, 1, _) => "info",
        (false, _, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IOCSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if global.log_json {
        builder.json().try_init()
    } else {
        builder.with_ansi(color_enabled()).try_init()
    };
}

/// Colour only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>).
pub fn color_enabled() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    out::set_quiet(cli.global.quiet);
    match cli.command {
        Command::Parse(args) => parse::run(args, &cli.global),
        Command::Emulator(args) => emulator::run(args, &cli.global),
        Command::Import(args) => import::run(args, &cli.global),
        Command::Pull(args) => pull::run(args, &cli.global),
        Command::Feeds(args) => pull::list(args, &cli.global),
        Command::Collections(args) => collections::run(args, &cli.global),
        Command::Guard(args) => guard::run(args, &cli.global),
        Command::Plan(args) => plan::run(args, &cli.global),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Adopt(args) => adopt::run(args, &cli.global),
        Command::Block(args) => block::run(args, engine::oneoff::Mode::Block, &cli.global),
        Command::Unblock(args) => block::run(args, engine::oneoff::Mode::Unblock, &cli.global),
        Command::Check(args) => check::run(args, &cli.global),
        Command::Runs(args) => runs::run(args, &cli.global),
        Command::Library(args) => library::run(args, &cli.global),
        Command::Why(args) => why::run(args, &cli.global),
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Init(args) => init::run(args, &cli.global),
        Command::Config(args) => config::run(args, &cli.global),
        Command::Completions(args) => completions::run(args, &cli.global),
        Command::Man(args) => man::run(args, &cli.global),
        Command::Quickstart(args) => quickstart::run(args, &cli.global),
    }
}
