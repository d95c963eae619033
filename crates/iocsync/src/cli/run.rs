//! `iocsync run WORKFLOW`: plan and apply one workflow, with a progress bar on a terminal and
//! a summary table (or the whole report as JSON). Exit code 0 when everything applied, 3 when
//! some items were refused or failed, 1 when the workflow was halted.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use comfy_table::{Table, presets};
use engine::{Config, Progress, RunOptions, RunReport};
use store::{Library, RunStatus};

use super::{EXIT_FAILURE, EXIT_PARTIAL, GlobalArgs};

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
    /// Read the target back first and repair drift (objects deleted or changed in the console).
    #[arg(long)]
    pub verify: bool,
    /// Print the run report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run as of this instant (RFC 3339) instead of now: for tests and replays.
    #[arg(long, hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Loads the config file and opens its library.
pub(super) fn open(global: &GlobalArgs) -> anyhow::Result<(Config, Library)> {
    let config = Config::load(&global.config_path())?;
    let library = Library::open(&config.library)
        .with_context(|| format!("cannot open the library {}", config.library.display()))?;
    Ok((config, library))
}

/// Runs `iocsync run`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let (config, mut library) = open(global)?;
    let options = RunOptions {
        now: args.now.unwrap_or_else(Utc::now),
        manual: args.manual,
        dry_run: args.dry_run,
        verify: args.verify,
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
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(match report.status() {
        RunStatus::Succeeded | RunStatus::Running => ExitCode::SUCCESS,
        RunStatus::Partial => ExitCode::from(EXIT_PARTIAL),
        RunStatus::Failed => ExitCode::from(EXIT_FAILURE),
    })
}

fn print_summary(report: &RunReport) {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "workflow",
        "adds",
        "updates",
        "removals",
        "skips",
        "deferred",
        "failed",
        "API calls",
        "time",
    ]);
    let (adds, updates, removals) = if report.dry_run {
        (
            report.plan.adds.len(),
            report.plan.updates.len(),
            report.plan.removals.len(),
        )
    } else {
        (report.added, report.updated, report.removed)
    };
    table.add_row([
        report.workflow.clone(),
        adds.to_string(),
        updates.to_string(),
        removals.to_string(),
        report.skipped.to_string(),
        report.deferred.to_string(),
        report.failed.len().to_string(),
        report.api_calls.to_string(),
        format!("{:.1}s", report.elapsed_ms as f64 / 1000.0),
    ]);
    println!("{table}");
    if report.dry_run {
        println!("dry run: nothing was sent");
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
