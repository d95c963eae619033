//! `iocsync plan WORKFLOW`: what `iocsync run` would send, computed from the library and the
//! ledger without touching the network; as a table of changes or as the plan's JSON.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use comfy_table::{Table, presets};

use super::GlobalArgs;

/// Arguments of `iocsync plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow to plan, as named in the config file.
    pub workflow: String,
    /// Plan a manual run (Deep Security's "clear IP list on manual run" applies).
    #[arg(long)]
    pub manual: bool,
    /// Print the plan as JSON (exactly what `run` would send).
    #[arg(long)]
    pub json: bool,
    /// Plan as of this instant (RFC 3339) instead of now: for tests and replays.
    #[arg(long, hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Runs `iocsync plan`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let (config, library) = super::run::open(global)?;
    let now = args.now.unwrap_or_else(Utc::now);
    let plan = engine::plan_workflow(&config, &*library, &args.workflow, now, args.manual)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(["change", "kind", "value", "reason"]);
    let rows = [
        ("add", &plan.adds),
        ("update", &plan.updates),
        ("remove", &plan.removals),
    ];
    for (label, changes) in rows {
        for change in changes {
            table.add_row([label, change.kind.as_str(), &change.value, &change.reason]);
        }
    }
    for skip in &plan.skips {
        table.add_row(["skip", skip.kind.as_str(), &skip.value, &skip.reason]);
    }
    println!("{table}");
    println!(
        "{}: {} to add, {} to update, {} to remove, {} skipped, {} deferred to later runs, {} IP-list parts to write",
        plan.workflow,
        plan.adds.len(),
        plan.updates.len(),
        plan.removals.len(),
        plan.skips.len(),
        plan.deferred,
        plan.parts.len()
    );
    Ok(ExitCode::SUCCESS)
}
