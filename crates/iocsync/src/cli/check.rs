//! `iocsync check TARGET [--write]`: is the target reachable, is the key valid, may it read the
//! lists — and, with `--write`, may it change them: a harmless value in the `.example` domain
//! (RFC 2606), marked as iocsync's, logged not blocked, expiring in a day, is added and removed
//! at once on each list the target has (suspicious objects, exceptions, response tasks, IP
//! lists), and each permission is reported on its own line.

use crate::cli::out::outln;
use std::process::ExitCode;

use engine::config::{Product, Target};
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::{ActionId, XdrV2Client};

use super::{EXIT_FAILURE, GlobalArgs};

mod write;

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
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let config = engine::Config::load(&global.config_path())?;
    let target = config.target(&args.target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(probe(target));
    let error = outcome.err().map(|e| format!("{e:#}"));
    let writes = if args.write && error.is_none() {
        runtime.block_on(write::check(target))
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
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

/// Whether `product` has a call that checks a target without changing anything on it.
pub(crate) fn probeable(product: Product) -> bool {
    !matches!(product, Product::Http)
}

/// Checks that `target` answers, accepts its key and lets it read its lists, with the
/// cheapest call that changes nothing (`iocsync check` and the daemon's health probe).
pub(crate) async fn probe(target: &Target) -> anyhow::Result<()> {
    match target.product {
        Product::VisionOne => VisionOneClient::new(&target.vision_one()?)?.check().await?,
        Product::DeepSecurity => {
            DeepSecurityClient::new(&target.deep_security()?)?
                .check()
                .await?;
        }
        Product::XdrV2 => check_xdr(target).await?,
        Product::Http => anyhow::bail!(
            "an http target has no side-effect-free call to check; use `iocsync run --dry-run`"
        ),
    }
    Ok(())
}

/// XDR v2 has no health check: ask for a task that does not exist. "Not found" or a refused
/// request proves the host answers and the token is accepted; a bad token, a missing
/// permission or no answer at all is an error.
async fn check_xdr(target: &Target) -> anyhow::Result<()> {
    let client = XdrV2Client::new(&target.xdr_v2()?)?;
    match client.get_task(&ActionId("0".to_owned())).await {
        Ok(_) => Ok(()),
        Err(error) if error.stops_target() => Err(error.into()),
        Err(_) => Ok(()),
    }
}
