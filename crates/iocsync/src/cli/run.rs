//! `iocsync run WORKFLOW`: plan and apply one workflow, with a progress bar on a terminal and
//! a summary table (or the whole report as JSON). Exit code 0 when everything applied, 3 when
//! some items were refused or failed, 4 when the removal brake held removals (review them with
//! `iocsync plan`, release them once with `--allow-removals`), 1 when the workflow was halted.

use super::Exit;
use crate::cli::out::{self, outln};
use std::io::IsTerminal;

use anyhow::Context;
use chrono::{DateTime, Utc};
use comfy_table::{Table, presets};
use config::Config;
use engine::{Progress, RunOptions, RunReport};
use store::Library;

use super::GlobalArgs;

/// Arguments of `iocsync run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow to run, as named in the config file.
    pub workflow: String,
    /// A run by hand: Deep Security's "clear IP list on manual run" applies.
    #[arg(long)]
    pub manual: bool,
    /// Plan only: send nothing, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Read the target back first: restore objects deleted or changed in the console, and
    /// remove orphans of this library the collection does not want (within the brake).
    #[arg(long)]
    pub verify: bool,
    /// Send the removals the brake would hold, this once (after reviewing `iocsync plan`).
    #[arg(long)]
    pub allow_removals: bool,
    /// Create the library when its file does not exist (a run never does that silently: a
    /// missing library would forget everything iocsync pushed).
    #[arg(long)]
    pub init_library: bool,
    /// Print the run report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run as of this instant (RFC 3339) instead of now: for tests and replays.
    #[arg(long, hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Loads the config file and opens its library (SQLite or PostgreSQL), which must exist
/// unless `init` (a lost or mistyped library is an error, never a new empty one that forgot
/// what was pushed).
pub(super) fn open(global: &GlobalArgs, init: bool) -> anyhow::Result<(Config, Library)> {
    open_library(Config::load(&global.config_path())?, init)
}

fn open_library(config: Config, init: bool) -> anyhow::Result<(Config, Library)> {
    let opened = if init {
        config.library.open()
    } else {
        config.library.open_existing()
    };
    let library = match opened {
        Err(error) if config::LibraryLocation::is_missing(&error) => return Err(error.into()),
        other => other.with_context(|| format!("cannot open the library {}", config.library))?,
    };
    Ok((config, library))
}

/// Runs `iocsync run`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, mut library) = open(global, args.init_library)?;
    let options = RunOptions {
        now: args.now.unwrap_or_else(Utc::now),
        manual: args.manual,
        dry_run: args.dry_run,
        verify: args.verify,
        allow_removals: args.allow_removals,
        all_skips: false,
    };
    let bar = Bar::new(!args.json && !global.quiet && std::io::stderr().is_terminal());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(engine::run_workflow(
        &config,
        &mut *library,
        &args.workflow,
        options,
        &bar,
    ))?;
    bar.finish();
    if args.json {
        out::json(&report)?;
    } else {
        print_summary(&report);
    }
    Ok(Exit::of(report.status()))
}

fn print_summary(report: &RunReport) {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "workflow",
        "adds",
        "updates",
        "removals",
        "claims only",
        "held",
        "skips",
        "deferred",
        "failed",
        "API calls",
        "time",
    ]);
    let plan = &report.plan;
    let (adds, updates, removals, claims) = if report.dry_run {
        (
            plan.adds.len(),
            plan.updates.len(),
            plan.removals.len(),
            plan.joins.len() + plan.releases.len(),
        )
    } else {
        (
            report.added,
            report.updated,
            report.removed,
            report.joined + report.released,
        )
    };
    table.add_row([
        report.workflow.clone(),
        adds.to_string(),
        updates.to_string(),
        removals.to_string(),
        claims.to_string(),
        report.held.to_string(),
        report.skipped.to_string(),
        report.deferred.to_string(),
        report.failed.len().to_string(),
        report.api_calls.to_string(),
        format!("{:.1}s", report.elapsed_ms as f64 / 1000.0),
    ]);
    outln!("{table}");
    if report.dry_run {
        outln!("dry run: nothing was sent");
    }
    for failure in report.failed.iter().take(20) {
        eprintln!(
            "failed: {}:{}: {}",
            failure.kind, failure.value, failure.message
        );
    }
    if report.failed.len() > 20 {
        eprintln!(
            "... and {} more failures (see --json)",
            report.failed.len() - 20
        );
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    for note in report.notes.iter().filter(|_| !out::quiet()) {
        eprintln!("note: {note}");
    }
    if let Some(why) = &plan.brake {
        eprintln!(
            "held: {} removals were not sent: {why}.\n  Review them with `iocsync plan {}`; if they are right, send them once with `iocsync run {} --allow-removals`.",
            report.held, report.workflow, report.workflow
        );
    }
    if let Some(halted) = &report.halted {
        eprintln!("halted: {halted}");
    }
}

/// A progress bar on stderr, or nothing when stderr is not a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(show: bool) -> Self {
        Bar(show.then(indicatif::ProgressBar::hidden))
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(steps);
        }
    }
}
