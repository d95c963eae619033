//! `iocsync check TARGET`: is the target reachable, is the key valid, may it read the lists.

use crate::cli::out::outln;
use std::process::ExitCode;

use engine::config::{Product, Target};
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::{ActionId, XdrV2Client};

use super::{EXIT_FAILURE, GlobalArgs};

/// Arguments of `iocsync check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target to check, as named in the config file.
    pub target: String,
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
    if args.json {
        let value =
            serde_json::json!({ "target": target.name, "ok": error.is_none(), "error": error });
        outln!("{value}");
    } else {
        match &error {
            None => outln!("{}: reachable, key accepted, lists readable", target.name),
            Some(error) => eprintln!("{}: {error}", target.name),
        }
    }
    Ok(if error.is_none() {
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
