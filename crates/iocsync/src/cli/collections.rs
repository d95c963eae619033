//! `iocsync collections`: define, list, show and remove collections — named, saved filters over
//! the library that yield indicators in priority order. Also home of [`LibraryArgs`], the
//! `--library` option every command that opens the library flattens in.
//!
//! `show` streams members straight from the database cursor to stdout (aligned columns, or one
//! JSON object per line with `--json`), so a collection of a million indicators never sits in
//! memory. Collections defined in the config file (`[[collections]]`) are listed and shown too;
//! a config collection wins over a library one of the same name, as it does for `iocsync run`.

use super::Exit;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use config::LibraryLocation;
use indicator::Kind;
use store::{Class, Collection, IndicatorRecord, Library, Order, SeenWithin, Status};

use super::GlobalArgs;

/// The library to use: `--library PATH`, else `$IOCSYNC_LIBRARY`, else the config file's
/// `[library]` when there is a config file, else `iocsync.db` here — so a cron job run from
/// another folder fills the library the daemon reads.
#[derive(Debug, Clone, clap::Args)]
pub struct LibraryArgs {
    /// The library: a SQLite file, or a PostgreSQL URL without its password (`postgres://…`;
    /// the password from `PGPASSWORD`) [default: the config's `[library]`, else iocsync.db].
    /// Created by the commands that write to it.
    #[arg(long = "library", value_name = "PATH|URL", env = "IOCSYNC_LIBRARY")]
    pub path: Option<String>,
}

impl LibraryArgs {
    /// The library, as the struct note says.
    pub fn location(&self, global: &GlobalArgs) -> anyhow::Result<LibraryLocation> {
        if let Some(path) = &self.path {
            return Ok(LibraryLocation::from_arg(path));
        }
        match global.optional_config() {
            Some(config) => Ok(config::Config::load(&config)?.library),
            None => Ok(LibraryLocation::File(PathBuf::from(DEFAULT_LIBRARY))),
        }
    }

    /// Opens the library, creating it if it does not exist yet.
    pub fn open(&self, global: &GlobalArgs) -> anyhow::Result<Library> {
        Ok(self.location(global)?.open()?)
    }

    /// Opens a library that must already exist (commands that only read or remove must not
    /// leave an empty file behind after a typo in the path).
    pub fn open_existing(&self, global: &GlobalArgs) -> anyhow::Result<Library> {
        let location = self.location(global)?;
        if location.file().is_some_and(|file| !file.exists()) {
            bail!(
                "no library at {location} (import indicators first, or point --library or IOCSYNC_LIBRARY at one)"
            );
        }
        Ok(location.open_existing()?)
    }
}

/// The library file when neither a flag, the environment nor a config file names one.
pub const DEFAULT_LIBRARY: &str = "iocsync.db";

/// Arguments of `iocsync collections`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Define a collection: a saved filter over the library. Every filter narrows the set; a
    /// filter left out matches everything.
    Add(AddArgs),
    /// List the defined collections.
    List(ListArgs),
    /// Show the members of a collection, highest priority first.
    Show(ShowArgs),
    /// Remove a collection's definition (its indicators stay in the library).
    Remove(RemoveArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Name of the collection: letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// Only these kinds (ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256); repeat for
    /// several.
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<Kind>,
    /// Only threat indicators (`indicator`) or only the company's own assets (`asset`).
    #[arg(long, value_name = "CLASS")]
    pub class: Option<Class>,
    /// Only indicators scored at least N (0–10); unscored ones never pass.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub min_score: Option<u8>,
    /// Only indicators carrying at least one of these tags; repeat for several.
    #[arg(long = "tag-any", value_name = "TAG")]
    pub tags_any: Vec<String>,
    /// Only indicators carrying every one of these tags; repeat for several.
    #[arg(long = "tag-all", value_name = "TAG")]
    pub tags_all: Vec<String>,
    /// Leave out indicators carrying any of these tags; repeat for several.
    #[arg(long = "tag-none", value_name = "TAG")]
    pub tags_none: Vec<String>,
    /// Only indicators one of these sources reports (and has not revoked); repeat for several.
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Statuses to include (active, expired, revoked, disabled); repeat for several.
    #[arg(long = "status", value_name = "STATUS", default_value = "active")]
    pub status: Vec<Status>,
    /// Only indicators some source saw within this long (`30d`, `12h`, `1w`).
    #[arg(long, value_name = "DURATION")]
    pub seen_within: Option<SeenWithin>,
    /// Member order: `priority` (score, then most recently seen) or `recent` (most recently
    /// seen, then score).
    #[arg(long, value_name = "ORDER", default_value = "priority")]
    pub order: Order,
    /// A note on what the collection is for.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Replace a collection of the same name instead of refusing.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print one JSON object per collection (its definition) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Name of the collection.
    pub name: String,
    /// Print one JSON object per member instead of columns.
    #[arg(long)]
    pub json: bool,
    /// Show at most N members.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    #[command(flatten)]
    pub library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Name of the collection.
    pub name: String,
    #[command(flatten)]
    pub library: LibraryArgs,
}

/// Runs `iocsync collections`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    match args {
        Args::Add(args) => add(args, global),
        Args::List(args) => list(&args, global),
        Args::Show(args) => show(&args, global),
        Args::Remove(args) => remove(&args, global),
    }
}

fn add(args: AddArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let collection = Collection {
        name: args.name,
        description: args.description,
        kinds: args.kinds,
        class: args.class,
        min_score: args.min_score,
        tags_any: args.tags_any,
        tags_all: args.tags_all,
        tags_none: args.tags_none,
        sources: args.sources,
        status: args.status,
        seen_within: args.seen_within,
        order: args.order,
    };
    // Checked before the library is opened, so a bad flag never creates a file.
    collection
        .validate()
        .with_context(|| format!("invalid collection `{}`", collection.name))?;
    let mut library = args.library.open(global)?;
    library.save_collection(&collection, args.replace)?;
    if !global.quiet {
        eprintln!(
            "saved collection `{}`: {}",
            collection.name,
            describe(&collection)
        );
    }
    Ok(Exit::Success)
}

/// The collections the config file defines, if there is a config file.
fn config_collections(global: &GlobalArgs) -> anyhow::Result<Vec<Collection>> {
    match global.optional_config() {
        Some(path) => Ok(config::Config::load(&path)?.collections),
        None => Ok(Vec::new()),
    }
}

fn list(args: &ListArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let mut collections = config_collections(global)?;
    for stored in args.library.open_existing(global)?.collections()? {
        if !collections.iter().any(|c| c.name == stored.name) {
            collections.push(stored);
        }
    }
    if !args.json {
        let mut table = super::out::Rows::new(&[("NAME", 20), ("FILTER", 50), ("DESCRIPTION", 0)])?;
        for c in &collections {
            table.row(&[
                c.name.as_str(),
                &describe(c),
                c.description.as_deref().unwrap_or(""),
            ])?;
        }
        return finish_output(table.finish());
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let written = collections
        .iter()
        .try_for_each(|c| writeln!(out, "{}", json_line(c)));
    finish_output(written.and_then(|()| out.flush()))
}

fn show(args: &ShowArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let library = args.library.open_existing(global)?;
    let from_config = config_collections(global)?
        .into_iter()
        .find(|c| c.name == args.name);
    let Some(collection) = from_config.or(library.collection(&args.name)?) else {
        bail!(
            "no collection named `{}` (see `iocsync collections list`)",
            args.name
        );
    };
    // `Stdout`, not its lock: the visitor below may run on another thread (a PostgreSQL
    // library's helper) and a lock guard cannot go there. The buffer locks once per flush.
    let mut out = BufWriter::new(io::stdout());
    let mut failure = None;
    if !args.json {
        failure = writeln!(out, "{}", row_header()).err();
    }
    let now = Utc::now();
    let shown = library.scan(&collection, now, args.limit, &mut |record| {
        let written = if args.json {
            writeln!(out, "{}", json_line(&record))
        } else {
            writeln!(out, "{}", row(&record))
        };
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                failure = Some(err);
                ControlFlow::Break(())
            }
        }
    })?;
    let code = finish_output(failure.map_or_else(|| out.flush(), Err))?;
    if !global.quiet {
        eprintln!(
            "{shown} member{} of `{}` ({})",
            if shown == 1 { "" } else { "s" },
            collection.name,
            describe(&collection)
        );
    }
    Ok(code)
}

fn remove(args: &RemoveArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    if !args
        .library
        .open_existing(global)?
        .remove_collection(&args.name)?
    {
        bail!("no collection named `{}`", args.name);
    }
    if !global.quiet {
        eprintln!("removed collection `{}`", args.name);
    }
    Ok(Exit::Success)
}

/// A reader that closed the pipe (`| head`) is not an error; any other write failure is.
fn finish_output(result: io::Result<()>) -> anyhow::Result<Exit> {
    match result {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write to standard output")
        }
        _ => Ok(Exit::Success),
    }
}

fn json_line<T: serde::Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail; an empty object would be the only outcome.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

const ROW_FORMAT_WIDTHS: (usize, usize, usize, usize) = (5, 6, 8, 20);

fn row_header() -> String {
    let (score, kind, status, seen) = ROW_FORMAT_WIDTHS;
    format!(
        "{:>score$}  {:<kind$}  {:<status$}  {:<seen$}  {}  SOURCES  TAGS",
        "SCORE", "KIND", "STATUS", "LAST SEEN", "VALUE"
    )
}

/// One member as an aligned line (streamed, so columns have fixed widths except the last).
fn row(r: &IndicatorRecord) -> String {
    let (score, kind, status, seen) = ROW_FORMAT_WIDTHS;
    format!(
        "{:>score$}  {:<kind$}  {:<status$}  {:<seen$}  {}  {}  {}",
        r.score.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        r.kind.as_str(),
        r.status.as_str(),
        timestamp(r.last_seen),
        r.display.as_deref().unwrap_or(&r.value),
        r.sources.join(","),
        r.tags.join(","),
    )
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A one-line summary of a collection's filter, for listings and confirmations.
fn describe(c: &Collection) -> String {
    let mut parts = Vec::new();
    let joined = |items: Vec<&str>| items.join(",");
    if !c.kinds.is_empty() {
        parts.push(format!(
            "kind {}",
            joined(c.kinds.iter().map(|k| k.as_str()).collect())
        ));
    }
    if let Some(class) = c.class {
        parts.push(format!("class {class}"));
    }
    if let Some(score) = c.min_score {
        parts.push(format!("score >= {score}"));
    }
    for (label, list) in [
        ("tag any", &c.tags_any),
        ("tag all", &c.tags_all),
        ("tag none", &c.tags_none),
        ("source", &c.sources),
    ] {
        if !list.is_empty() {
            parts.push(format!("{label} {}", list.join(",")));
        }
    }
    parts.push(format!(
        "status {}",
        joined(c.status.iter().map(|s| s.as_str()).collect())
    ));
    if let Some(window) = c.seen_within {
        parts.push(format!("seen within {window}"));
    }
    parts.push(format!("order {}", c.order));
    parts.join("; ")
}
