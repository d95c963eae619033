//! `iocsync why VALUE... [--live] [--json]`: why each value is (or is not) on each workflow's
//! target, from the library, the guard and the ledger (see `engine::why`).

use super::Exit;

use chrono::Utc;

use super::GlobalArgs;
use crate::cli::out::{self, outln};

/// Arguments of `iocsync why`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Values to explain (defanged forms such as `hxxp://evil[.]com` are accepted).
    #[arg(required = true, value_name = "VALUE")]
    pub values: Vec<String>,
    /// Also read each Vision One target back to confirm what it holds.
    #[arg(long)]
    pub live: bool,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync why`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, library) = super::run::open(global, false)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut answers = Vec::new();
    for value in &args.values {
        let mut why = runtime.block_on(engine::why::why(&config, &*library, value, Utc::now()))?;
        if args.live {
            runtime.block_on(engine::why::live(&config, &mut why))?;
        }
        answers.push(why);
    }
    if args.json {
        out::json(&answers)?;
    } else {
        answers.iter().for_each(print);
    }
    Ok(Exit::Success)
}

fn print(why: &engine::why::Why) {
    if let Some(reason) = &why.unreadable {
        outln!("{}: not an indicator: {reason}", why.input);
        return;
    }
    for indicator in &why.indicators {
        outln!("{} {}", indicator.kind, indicator.value);
        match &indicator.record {
            None => outln!("  library: no feed ever listed it"),
            Some(record) => outln!(
                "  library: {}, score {}, first seen {}, last seen {}{}",
                record.status,
                record
                    .score
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                record.first_seen.format("%Y-%m-%d %H:%M UTC"),
                record.last_seen.format("%Y-%m-%d %H:%M UTC"),
                record
                    .valid_until
                    .map(|at| format!(", valid until {}", at.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            ),
        }
        for vote in &indicator.sources {
            outln!(
                "  source {}: score {}, {}, last listed {}{}",
                vote.source,
                vote.score
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                if vote.revoked { "withdrawn" } else { "listed" },
                vote.last_seen.format("%Y-%m-%d %H:%M UTC"),
                vote.reported_at
                    .map(|at| format!(", the source's date {}", at.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            );
        }
        for collection in &indicator.collections {
            if collection.member {
                outln!("  collection {}: member", collection.collection);
            } else {
                outln!(
                    "  collection {}: not a member: {}",
                    collection.collection,
                    collection.because.join("; ")
                );
            }
        }
        outln!(
            "  guard: blocklist {}; exception list {}",
            indicator.guard.blocklist,
            indicator.guard.exceptions
        );
        for on in &indicator.workflows {
            outln!("  workflow {} → {}: {}", on.workflow, on.target, on.state);
            for claim in &on.claims {
                outln!(
                    "    claimed by {} since {}{}",
                    claim.claimant,
                    claim.since.format("%Y-%m-%d %H:%M UTC"),
                    claim
                        .expires_at
                        .map(|at| format!(", expires {}", at.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                );
            }
            if let Some(live) = &on.live {
                outln!("    live: {live}");
            }
        }
    }
}
