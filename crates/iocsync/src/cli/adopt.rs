//! `iocsync adopt WORKFLOW [--from-library ID]`: rebuilds a lost ledger from the target (see
//! `engine::adopt`). Reads the workflow's list, records as the workflow's claims the objects
//! that carry the library's marker and that nothing claims, and writes nothing to the target.
//! The next `iocsync plan` shows what the run will then keep, rewrite and remove.

use super::Exit;
use crate::cli::out::{self, outln};

use chrono::Utc;

use super::GlobalArgs;

/// Arguments of `iocsync adopt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow whose ledger to rebuild, as named in the config file.
    pub workflow: String,
    /// Adopt the objects of this library id (the `[iocsync:<id>]` marker on the target, as a
    /// `run --verify` of the new library reports it) instead of this library's own orphans.
    #[arg(long, value_name = "ID")]
    pub from_library: Option<String>,
    /// Show what would be adopted; record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync adopt`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, mut library) = super::run::open(global, false)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(engine::adopt::adopt(
        &config,
        &mut *library,
        &args.workflow,
        args.from_library.as_deref(),
        args.dry_run,
        Utc::now(),
    ))?;
    if args.json {
        out::json(&report)?;
    } else {
        let verb = if report.dry_run {
            "would adopt"
        } else {
            "adopted"
        };
        outln!(
            "{}: {verb} {} objects of library {} ({} already claimed, {} without its marker left alone)",
            report.workflow,
            report.adopted,
            report.library,
            report.already_claimed,
            report.left_alone
        );
        if !report.dry_run && report.adopted > 0 {
            outln!(
                "next: `iocsync plan {}` shows what the next run keeps, rewrites and removes",
                report.workflow
            );
        }
    }
    Ok(Exit::Success)
}
