//! `iocsync block|unblock --target T VALUE...`: block values at once on a Vision One target
//! (suspicious-object list, or v3 response tasks with `--response`), an XDR v2 target (block / restore-block) or an HTTP template
//! target (block, and unblock with a removal template), or remove such blocks. Values are
//! parsed and refanged like any input, the guard applies, and each block is a claim of its own
//! (`<target>/manual`): no workflow removes it, and unblocking it removes the object only when
//! no workflow or trigger still wants it (otherwise the object keeps their attributes).
//! `iocsync unblock --trigger NAME VALUE...` lifts blocks a webhook trigger made (its claims
//! `<target>/hook:<name>`) before their TTL, or when they have none.
//! Exit code 3 when some values were refused (each is listed with its reason).

use super::Exit;
use crate::cli::out::{self, outln};

use super::GlobalArgs;
use chrono::Utc;
use engine::oneoff::{self, Mode};

/// Arguments of `iocsync block` and `iocsync unblock`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target, as named in the config file (vision-one, xdr-v2, or http for `block` only).
    #[arg(long, required_unless_present = "trigger")]
    pub target: Option<String>,
    /// `unblock` only: lift blocks made by this webhook trigger (as named in `[[triggers]]`)
    /// instead of blocks made with `iocsync block`; its target is the trigger's.
    #[arg(long, conflicts_with = "target", value_name = "NAME")]
    pub trigger: Option<String>,
    /// Values to (un)block: IPs, domains, URLs, e-mail addresses, SHA-1 or SHA-256 hashes
    /// (defanged forms such as `hxxp://evil[.]com` are accepted).
    #[arg(required = true, value_name = "VALUE")]
    pub values: Vec<String>,
    /// On a Vision One target: block through v3 response tasks ("Add to block list", as the
    /// console's response action does) instead of writing the suspicious-object list.
    #[arg(long, conflicts_with = "trigger")]
    pub response: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Create the library when its file does not exist (blocks are recorded in it; a mistyped
    /// path would otherwise record them where nothing else looks).
    #[arg(long)]
    pub init_library: bool,
}

/// Runs `iocsync block` (or `unblock`).
pub fn run(args: Args, mode: Mode, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, library) = super::run::open(global, args.init_library)?;
    let library = std::sync::Mutex::new(library);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let now = Utc::now();
    let report = match (&args.trigger, &args.target, mode) {
        (Some(trigger), _, Mode::Unblock) => runtime.block_on(oneoff::unblock_trigger(
            &config,
            &library,
            trigger,
            &args.values,
            now,
        ))?,
        (Some(_), _, Mode::Block) => {
            anyhow::bail!(
                "--trigger works with `iocsync unblock` only: blocks are the trigger's to make"
            )
        }
        (None, Some(target), _) => runtime.block_on(oneoff::block(
            &config,
            &library,
            target,
            args.response,
            &args.values,
            mode,
            now,
        ))?,
        (None, None, _) => anyhow::bail!("give --target (or --trigger with `unblock`)"),
    };
    if args.json {
        out::json(&report)?;
    } else {
        let verb = match mode {
            Mode::Block => "blocked",
            Mode::Unblock => "unblocked",
        };
        for value in &report.applied {
            outln!("{verb}: {value}");
        }
        for refused in &report.refused {
            eprintln!("refused: {}: {}", refused.input, refused.reason);
        }
        for failure in &report.failed {
            eprintln!("failed: {}: {}", failure.value, failure.message);
        }
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        if let Some(halted) = &report.halted {
            eprintln!("halted: {halted}");
        }
    }
    Ok(Exit::of(report.status()))
}
