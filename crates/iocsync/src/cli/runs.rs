//! `iocsync runs`: the latest runs, newest first, with their counts and errors.

use super::Exit;
use crate::cli::out;

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
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (_, library) = super::run::open(global, false)?;
    let runs = library.runs(args.limit)?;
    if args.json {
        out::json(&runs)?;
        return Ok(Exit::Success);
    }
    let mut rows = out::Rows::new(&[
        ("id", 6),
        ("workflow", 22),
        ("started", 19),
        ("status", 11),
        ("added", 7),
        ("updated", 7),
        ("removed", 7),
        ("held", 6),
        ("failed", 6),
        ("errors", 0),
    ])?;
    for run in &runs {
        let count = |key: &str| {
            run.counts
                .get(key)
                .map_or_else(String::new, ToString::to_string)
        };
        rows.row(&[
            &run.id.to_string(),
            &run.workflow,
            &run.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            run.status.as_str(),
            &count("added"),
            &count("updated"),
            &count("removed"),
            &count("held"),
            &count("failed"),
            run.errors.first().map_or("", String::as_str),
        ])?;
    }
    rows.finish()?;
    Ok(Exit::Success)
}
