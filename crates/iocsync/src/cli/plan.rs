//! `iocsync plan WORKFLOW`: what `iocsync run` would send, computed from the library and the
//! ledger without touching the network (with `--verify`, after reading the target back as
//! `run --verify` would); as a table of changes or as the plan's JSON. Removals the brake
//! would hold are listed as `held`.

use super::Exit;
use crate::cli::out::{self, outln};

use chrono::{DateTime, Utc};

use super::GlobalArgs;

/// Arguments of `iocsync plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow to plan, as named in the config file.
    pub workflow: String,
    /// Plan a manual run (Deep Security's "clear IP list on manual run" applies).
    #[arg(long)]
    pub manual: bool,
    /// Read the target back first, as `run --verify` would (needs the target's credentials).
    #[arg(long)]
    pub verify: bool,
    /// Plan as `run --allow-removals` would: removals past the brake are not held.
    #[arg(long)]
    pub allow_removals: bool,
    /// Print the plan as JSON (exactly what `run` would send).
    #[arg(long)]
    pub json: bool,
    /// List every skipped member read, not the first 100 of each reason (a capped workflow
    /// reads only the members that can fill its cap: the rest are counted, never listed).
    #[arg(long)]
    pub all_skips: bool,
    /// Plan as of this instant (RFC 3339) instead of now: for tests and replays.
    #[arg(long, hide = true)]
    pub now: Option<DateTime<Utc>>,
}

/// Runs `iocsync plan`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, library) = super::run::open(global, false)?;
    let options = engine::RunOptions {
        now: args.now.unwrap_or_else(Utc::now),
        manual: args.manual,
        dry_run: true,
        verify: args.verify,
        allow_removals: args.allow_removals,
        all_skips: args.all_skips,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let plan = runtime.block_on(engine::plan_workflow(
        &config,
        &*library,
        &args.workflow,
        options,
    ))?;
    if args.json {
        out::json(&plan)?;
        return Ok(Exit::Success);
    }
    let mut table = out::Rows::new(&[("change", 8), ("kind", 6), ("value", 48), ("reason", 0)])?;
    let lists = [
        ("add", &plan.adds),
        ("update", &plan.updates),
        ("claim", &plan.joins),
        ("remove", &plan.removals),
        ("release", &plan.releases),
        ("restore", &plan.restores),
        ("held", &plan.held),
    ];
    for (label, changes) in lists {
        for change in changes {
            table.row(&[label, change.kind.as_str(), &change.value, &change.reason])?;
        }
    }
    for skip in &plan.skips {
        table.row(&["skip", skip.kind.as_str(), &skip.value, &skip.reason])?;
    }
    table.finish()?;
    outln!(
        "{}: {} to add, {} to update, {} to remove, {} claims to record or release without a write, {} skipped, {} deferred to later runs, {} IP-list parts to write",
        plan.workflow,
        plan.adds.len(),
        plan.updates.len(),
        plan.removals.len(),
        plan.joins.len() + plan.releases.len(),
        plan.skipped_total(),
        plan.deferred,
        plan.parts.len()
    );
    for (reason, count) in &plan.skipped {
        outln!("skipped, {reason}: {count}");
    }
    if plan.skips.len() as u64 != plan.skipped_total() {
        outln!(
            "({} of the {} skips listed: `--all-skips` lists every skipped member read)",
            plan.skips.len(),
            plan.skipped_total()
        );
    }
    for note in &plan.notes {
        outln!("note: {note}");
    }
    if let Some(why) = &plan.brake {
        outln!(
            "held: {} removals would not be sent: {why}; `iocsync run {} --allow-removals` sends them",
            plan.held.len(),
            plan.workflow
        );
    }
    Ok(Exit::Success)
}
