//! `iocsync check TARGET [--write]`: is the target reachable, is the key valid, may it read the
//! lists — and, with `--write`, may it change them: a harmless value in the `.example` domain
//! (RFC 2606), marked as iocsync's, logged not blocked, expiring in a day, is added and removed
//! at once on each list the target has (suspicious objects, exceptions, response tasks, IP
//! lists), and each permission is reported on its own line.

use super::Exit;
use crate::cli::out::outln;

use config::{Product, Target};

use super::GlobalArgs;

/// Arguments of `iocsync check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target to check, as named in the config file.
    pub target: String,
    /// Also check write permissions: add and at once remove a harmless value
    /// (`iocsync-permission-check.example`, or a list named `iocsync-permission-check`) on each
    /// list the target has. This changes the target for a moment.
    #[arg(long)]
    pub write: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync check`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let config = config::Config::load(&global.config_path())?;
    let target = config.target(&args.target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(probe(target));
    let error = outcome.err().map(|e| format!("{e:#}"));
    let writes = if args.write && error.is_none() {
        runtime.block_on(engine::targets::check_writes(target))
    } else {
        Vec::new()
    };
    let ok = error.is_none() && writes.iter().all(|w| w.error.is_none());
    if args.json {
        let value = serde_json::json!({
            "target": target.name, "ok": ok, "error": error, "write": writes,
        });
        outln!("{value}");
    } else {
        match &error {
            None => outln!("{}: reachable, key accepted, lists readable", target.name),
            Some(error) => eprintln!("{}: {error}", target.name),
        }
        for write in &writes {
            match &write.error {
                None => outln!("{}: {}: may add and remove", target.name, write.permission),
                Some(error) => eprintln!(
                    "{}: {}: MISSING PERMISSION (or the write failed): {error}",
                    target.name, write.permission
                ),
            }
        }
        if !args.write && error.is_none() {
            outln!(
                "{}: write permissions not checked (`iocsync check {} --write` adds and removes a harmless value)",
                target.name,
                target.name
            );
        }
    }
    Ok(if ok { Exit::Success } else { Exit::Failure })
}

/// Whether `product` has a call that checks a target without changing anything on it.
pub(crate) fn probeable(product: Product) -> bool {
    engine::targets::probeable(product)
}

/// Checks that `target` answers, accepts its key and lets it read its lists (`iocsync check`
/// and the daemon's health probe).
pub(crate) async fn probe(target: &Target) -> anyhow::Result<()> {
    engine::targets::check(target).await?;
    Ok(())
}
