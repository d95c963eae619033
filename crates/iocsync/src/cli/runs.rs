//! `iocsync runs`: the latest runs, newest first, with their counts and errors.

use std::process::ExitCode;

use comfy_table::{Table, presets};

use super::GlobalArgs;

/// Arguments of `iocsync runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Print the runs as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync runs`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let (_, library) = super::run::open(global, false)?;
    let runs = library.runs(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "id", "workflow", "started", "status", "added", "updated", "removed", "failed", "errors",
    ]);
    for run in &runs {
        let count = |key: &str| {
            run.counts
                .get(key)
                .map_or_else(String::new, ToString::to_string)
        };
        table.add_row([
            run.id.to_string(),
            run.workflow.clone(),
            run.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            run.status.to_string(),
            count("added"),
            count("updated"),
            count("removed"),
            count("failed"),
            run.errors.first().cloned().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
