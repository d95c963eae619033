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
    // The answer's lines, as the status page shows them too.
    for line in why.to_string().lines() {
        outln!("{line}");
    }
}
