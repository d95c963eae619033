//! `iocsync init [PATH]`: writes the commented example config. The text is
//! `examples/iocsync.toml`, embedded at build time, so the shipped example, `init` and
//! `quickstart` can never drift apart. An existing file is kept unless `--force`.

use super::Exit;
use crate::cli::out::outln;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::GlobalArgs;

/// The example config, every target kind, workflow action, schedule form and a trigger.
pub const EXAMPLE_CONFIG: &str = include_str!("../../../../examples/iocsync.toml");

const AFTER_HELP: &str = "\
The file names its secrets as env:NAME or file:PATH references; set those variables or write
those files, then run `iocsync config check`.

Exit status: 0 written; 1 the file exists (without --force) or cannot be written.";

/// Arguments of `iocsync init`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Where to write the config [default: --config, IOCSYNC_CONFIG or iocsync.toml].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `iocsync init`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let path = args.path.unwrap_or_else(|| global.config_path());
    write_config(&path, EXAMPLE_CONFIG, args.force)?;
    if !global.quiet {
        outln!(
            "wrote {}: edit its targets, then run `iocsync --config {} config check`",
            path.display(),
            path.display()
        );
    }
    Ok(Exit::Success)
}

/// Writes `text` to `path`, refusing to replace an existing file unless `force`. Without
/// `force` the file is created exclusively, so a file appearing meanwhile is not clobbered.
pub(super) fn write_config(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} exists: keeping it (use --force to replace it)",
                path.display()
            )
        } else {
            anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
