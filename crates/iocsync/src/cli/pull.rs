//! `iocsync pull [FEED...]` pulls `[[feeds]]` by hand, with the daemon's code
//! ([`ingest::pull`]); `iocsync feeds` lists every feed with its last pull and next one.

use super::Exit;

use chrono::{DateTime, Utc};
use config::Config;
use store::{FeedState, Outcome};

use super::GlobalArgs;
use super::out::{self, outln};
use ingest::problems::Quiet;
use ingest::pull::{PullOptions, PullSummary, pull, views};

const AFTER_HELP: &str = "\
A snapshot feed's download is its whole current list: what it no longer lists is withdrawn
(that source's vote; another source that still lists a value keeps it). A download that
looks broken — empty, mostly invalid, or listing fewer than min_ratio of the snapshot in
force — is held: nothing changes until `iocsync pull FEED --accept` after a person looked.

Exit status: 0 every feed pulled (or unchanged); 3 some records were invalid; 4 a pull was
held; 1 a feed could not be pulled.";

/// Arguments of `iocsync pull`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Feeds to pull, by name (default: every feed in the config).
    #[arg(value_name = "FEED")]
    pub feeds: Vec<String>,
    /// Apply the held download after looking at it: the checks that held it are skipped
    /// when the feed still serves the same bytes.
    #[arg(long)]
    pub accept: bool,
    /// Create the library if it does not exist (otherwise a missing library is an error).
    #[arg(long)]
    pub init_library: bool,
    /// Print the pull reports as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `iocsync feeds`.
#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    /// Print the feeds as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync pull`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, mut library) = super::run::open(global, args.init_library)?;
    if args.accept && args.feeds.is_empty() {
        anyhow::bail!("--accept applies held pulls of the feeds you name: give FEED");
    }
    let chosen = chosen(&config, &args.feeds)?;
    let mut summaries = Vec::new();
    for index in chosen {
        let feed = &config.feeds[index];
        let options = PullOptions::holding_in(config.library.held_dir(), args.accept);
        // Problems are printed with the summary (the first of them).
        let summary = pull(&mut library, feed, index, options, &mut Quiet)?;
        if !args.json {
            print(&summary);
        }
        summaries.push(summary);
    }
    if args.json {
        out::json(&summaries)?;
    }
    Ok(exit_code(&summaries))
}

/// The indexes of the feeds to pull: the named ones, or all.
fn chosen(config: &Config, names: &[String]) -> anyhow::Result<Vec<usize>> {
    if names.is_empty() {
        if config.feeds.is_empty() {
            anyhow::bail!("the config file has no [[feeds]]");
        }
        return Ok((0..config.feeds.len()).collect());
    }
    names
        .iter()
        .map(
            |name| match config.feeds.iter().position(|f| &f.name == name) {
                Some(index) => Ok(index),
                // The config's own error names the feeds there are.
                None => Err(config.feed(name).err().map_or_else(
                    || anyhow::anyhow!("no feed named `{name}`"),
                    anyhow::Error::from,
                )),
            },
        )
        .collect()
}

fn print(s: &PullSummary) {
    let counts = format!(
        "listed {}, new {}, withdrawn {}, invalid {}",
        s.listed, s.new, s.withdrawn, s.invalid
    );
    match s.outcome {
        Outcome::Applied => outln!("{}: applied — {counts} ({:.1}s)", s.feed, s.seconds),
        Outcome::Unchanged => outln!(
            "{}: unchanged ({}){}",
            s.feed,
            s.reason.as_deref().unwrap_or("same content"),
            withdrawn_note(s.withdrawn)
        ),
        Outcome::Held => eprintln!(
            "{}: HELD, nothing applied — {}. Look at the feed, then `iocsync pull {} --accept` to apply it.",
            s.feed,
            s.reason.as_deref().unwrap_or("it looks broken"),
            s.feed
        ),
        Outcome::Failed => eprintln!(
            "{}: failed — {}{}",
            s.feed,
            s.reason.as_deref().unwrap_or("unknown error"),
            withdrawn_note(s.withdrawn)
        ),
    }
    for problem in &s.problems {
        eprintln!("  {problem}");
    }
    if s.invalid > s.problems.len() as u64 {
        eprintln!("  … {} invalid records in all", s.invalid);
    }
}

fn withdrawn_note(withdrawn: u64) -> String {
    if withdrawn > 0 {
        format!("; {withdrawn} withdrawn by expire_after")
    } else {
        String::new()
    }
}

fn exit_code(summaries: &[PullSummary]) -> Exit {
    let any = |outcome| summaries.iter().any(|s| s.outcome == outcome);
    if any(Outcome::Failed) {
        Exit::Failure
    } else if any(Outcome::Held) {
        Exit::Held
    } else if summaries.iter().any(|s| s.invalid > 0) {
        Exit::Partial
    } else {
        Exit::Success
    }
}

/// Runs `iocsync feeds`.
pub fn list(args: FeedsArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let (config, library) = super::run::open(global, false)?;
    let views = views(&config, &library, Utc::now())?;
    if args.json {
        out::json(&views)?;
        return Ok(Exit::Success);
    }
    let mut rows = out::Rows::new(&[
        ("feed", 16),
        ("mode", 11),
        ("last pull", 19),
        ("outcome", 9),
        ("listed", 7),
        ("new", 6),
        ("withdrawn", 9),
        ("invalid", 7),
        ("live", 7),
        ("next pull", 19),
        ("reason", 0),
    ])?;
    let time = |t: Option<DateTime<Utc>>| {
        t.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    for view in &views {
        let s = view.state.as_ref();
        let n = |f: fn(&FeedState) -> u64| s.map_or_else(String::new, |s| f(s).to_string());
        rows.row(&[
            &view.name,
            if view.mode == store::FeedMode::Snapshot {
                "snapshot"
            } else {
                "incremental"
            },
            &time(s.map(|s| s.last_pull)),
            s.map_or("never", |s| s.outcome.as_str()),
            &n(|s| s.listed),
            &n(|s| s.new),
            &n(|s| s.withdrawn),
            &n(|s| s.invalid),
            &n(|s| s.live),
            &view
                .next_pull
                .map_or_else(|| "by hand".to_owned(), |t| time(Some(t))),
            s.and_then(|s| s.reason.as_deref()).unwrap_or(""),
        ])?;
    }
    rows.finish()?;
    Ok(Exit::Success)
}
