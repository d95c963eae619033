//! `iocsync library copy --to PATH|URL`: moves a whole library into a new, empty one — a SQLite
//! file to PostgreSQL when a team starts running several daemons, or back ([`store::copy`]):
//! indicators, collections, the ledger of claims, runs, feed state and cursors, replay memory,
//! TAXII publications and the library's id (the marker on what it pushed, so ownership carries
//! over). The destination is filled in one transaction: whole, or untouched.

use std::time::Instant;

use anyhow::bail;
use config::LibraryLocation;
use serde::Serialize;

use super::collections::LibraryArgs;
use super::out::outln;
use super::{Exit, GlobalArgs, out};

/// `iocsync library` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Copy the whole library into a new, empty one (a SQLite file or a PostgreSQL database).
    ///
    /// Stop the daemons and cron jobs that write to the library first: a copy taken while
    /// they write holds what was committed when each table was read. Leases are not copied.
    Copy(CopyArgs),
}

/// Arguments of `iocsync library copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The library to copy (see `--library`).
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Where to copy it: a new SQLite file, or a PostgreSQL URL without its password
    /// (`postgres://…`; the password from `PGPASSWORD`) whose database holds no library data.
    #[arg(long, value_name = "PATH|URL")]
    pub to: String,
    /// Print what was copied as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `library copy --json` prints.
#[derive(Debug, Serialize)]
struct Copied {
    from: String,
    to: String,
    /// Rows per table, in copy order.
    tables: Vec<(String, u64)>,
    rows: u64,
    seconds: f64,
}

/// Runs `iocsync library`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    match args {
        Args::Copy(args) => copy(&args, global),
    }
}

fn copy(args: &CopyArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let from = args.library.location(global)?;
    let to = LibraryLocation::from_arg(&args.to);
    if from == to {
        bail!("--to names the library being copied ({from})");
    }
    let source = args.library.open_existing(global)?;
    // A file this command creates is removed again when the copy fails.
    let new_file = to
        .file()
        .filter(|file| !file.exists())
        .map(ToOwned::to_owned);
    let started = Instant::now();
    let copied = to
        .open()
        .map_err(anyhow::Error::new)
        .and_then(|mut destination| Ok(store::copy::copy(&*source, &mut *destination)?));
    let report = match copied {
        Ok(report) => report,
        Err(error) => {
            if let Some(file) = new_file {
                remove_library_file(&file);
            }
            return Err(error.context(format!("cannot copy the library {from} to {to}")));
        }
    };
    let copied = Copied {
        from: from.to_string(),
        to: to.to_string(),
        rows: report.rows(),
        tables: report.tables,
        seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        out::json(&copied)?;
        return Ok(Exit::Success);
    }
    outln!(
        "copied {} rows from {} to {} in {:.1}s",
        copied.rows,
        copied.from,
        copied.to,
        copied.seconds
    );
    for (table, rows) in &copied.tables {
        outln!("  {table:<18} {rows}");
    }
    Ok(Exit::Success)
}

/// Removes a SQLite library file and its journal files (best effort: the error that made the
/// copy fail is the one to report).
fn remove_library_file(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        if let Err(error) = std::fs::remove_file(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %std::path::Path::new(&path).display(), %error, "cannot remove the unfinished copy");
        }
    }
}
