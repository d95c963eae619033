//! `iocsync completions SHELL`: prints a completion script for bash, zsh, fish, PowerShell or
//! elvish, generated from the same clap definition the binary parses with, so it never lags
//! behind the commands.

use super::Exit;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, GlobalArgs};

const AFTER_HELP: &str = "\
Install, for example:
  bash        iocsync completions bash > ~/.local/share/bash-completion/completions/iocsync
  zsh         iocsync completions zsh > \"${fpath[1]}/_iocsync\"
  fish        iocsync completions fish > ~/.config/fish/completions/iocsync.fish
  powershell  iocsync completions powershell >> $PROFILE
  elvish      iocsync completions elvish >> ~/.config/elvish/rc.elv";

/// Arguments of `iocsync completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Runs `iocsync completions`: the script goes to standard output.
pub fn run(args: Args, _global: &GlobalArgs) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    clap_complete::generate(args.shell, &mut command, name, &mut std::io::stdout());
    Ok(Exit::Success)
}
