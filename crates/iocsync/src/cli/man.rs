//! `iocsync man [--dir DIR]`: manual pages generated from the same clap definition the binary
//! parses with (clap_mangen), so they never lag behind the commands. Without `--dir` the page
//! of `iocsync` itself goes to standard output (`iocsync man | man -l -`); with it, one page
//! per command is written: `iocsync.1`, `iocsync-run.1`, `iocsync-collections-add.1`, ...

use super::Exit;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;

use super::{Cli, GlobalArgs};

/// Arguments of `iocsync man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write one page per command into this folder (for `/usr/local/share/man/man1`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs `iocsync man`.
pub fn run(args: Args, _global: &GlobalArgs) -> anyhow::Result<Exit> {
    let command = Cli::command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            super::out::check(std::io::Write::write_all(&mut std::io::stdout(), &page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let written = write_pages(command, &dir, "iocsync")?;
            eprintln!("wrote {written} manual pages to {}", dir.display());
        }
    }
    Ok(Exit::Success)
}

/// Writes the page of `command` (named `name`) and of each of its subcommands; returns how many.
fn write_pages(command: clap::Command, dir: &Path, name: &str) -> anyhow::Result<usize> {
    let command = command
        .name(name.to_owned())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    let mut written = 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        written += write_pages(sub.clone(), dir, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(written)
}
