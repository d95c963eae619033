//! `iocsync config check`: prints what [`config::check`] finds in the config file — every
//! problem with its key path, without any network access — as text or JSON. `iocsync config
//! schema`: prints the file's JSON Schema ([`config::schema()`]), or with `--markdown` the
//! reference page rendered from it (`docs/configuration.md`).

use super::Exit;
use crate::cli::out::{self, outln};
use std::io::Write;
use std::path::PathBuf;

use ::config::check::{self, Problem};
use serde::Serialize;

use super::GlobalArgs;

const AFTER_HELP: &str = "\
Checks, without network access:
  - the file's syntax and every key and value (unknown keys, bad values, wrong products),
    each problem named by its key path, e.g. `workflows[2].parameters.expiry`
  - the environment variables and files the secrets name (API keys, proxy passwords, trigger
    secrets, the status token) exist and are not empty (their contents are never printed);
    webhook payload templates are JSON
  - targets are reached safely: no secret reference or password in a URL, plain http:// only
    to loopback unless `allow_plain_http = true`
  - every workflow's collection is defined in the file or in the library
  - the library's folder exists; the guard's allowlists parse and its warninglists load

Exit status: 0 valid; 1 invalid (every problem is listed) or the file cannot be read.";

/// Subcommands of `iocsync config`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Validate the config file without network access, naming the key path of every error.
    #[command(after_help = AFTER_HELP)]
    Check(CheckArgs),
    /// Print the config file's JSON Schema (for editors and CI), or its reference page.
    #[command(after_help = SCHEMA_AFTER_HELP)]
    Schema(SchemaArgs),
}

const SCHEMA_AFTER_HELP: &str = "\
Editors that read JSON Schema validate and complete the file as it is typed, e.g. taplo or
Even Better TOML with the schema saved beside the config and named on its first line:
  iocsync config schema > iocsync.schema.json
  #:schema ./iocsync.schema.json
The schema checks each key's type and shape; `iocsync config check` also checks what depends
on several keys, on other sections or on the machine.";

/// Arguments of `iocsync config schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Print the reference page (Markdown, as docs/configuration.md) instead of the schema.
    #[arg(long)]
    pub markdown: bool,
}

/// Arguments of `iocsync config check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print the result as JSON: `{"file", "valid", "problems": [{"key", "message"}], ...}`.
    #[arg(long)]
    pub json: bool,
}

/// The outcome of a check, as printed and as `--json`.
#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    valid: bool,
    problems: Vec<Problem>,
    /// Entries per section, when the file is structurally valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    sections: Option<Sections>,
}

#[derive(Debug, Serialize)]
struct Sections {
    targets: usize,
    collections: usize,
    workflows: usize,
    triggers: usize,
}

/// Runs `iocsync config ...`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    match args {
        Args::Check(check_args) => run_check(&check_args, global),
        Args::Schema(schema_args) => run_schema(&schema_args),
    }
}

/// Prints the schema (pretty JSON) or the reference page; needs no config file.
fn run_schema(args: &SchemaArgs) -> anyhow::Result<Exit> {
    if args.markdown {
        let page = ::config::schema::markdown();
        out::check(std::io::stdout().lock().write_all(page.as_bytes()))?;
    } else {
        out::json(&::config::schema())?;
    }
    Ok(Exit::Success)
}

/// Runs `iocsync config check`.
fn run_check(check_args: &CheckArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let path = global.config_path();
    let checked = check::file(&path);
    let report = Report {
        file: path,
        valid: checked.is_valid(),
        sections: checked.config.map(|c| Sections {
            targets: c.targets.len(),
            collections: c.collections.len(),
            workflows: c.workflows.len(),
            triggers: c.triggers.len(),
        }),
        problems: checked.problems,
    };
    if check_args.json {
        out::json(&report)?;
    } else {
        print(&report, global.quiet);
    }
    Ok(if report.valid {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn print(report: &Report, quiet: bool) {
    let file = report.file.display();
    match &report.sections {
        Some(s) if report.valid => {
            if !quiet {
                let counts = [
                    (s.targets, "target"),
                    (s.collections, "collection"),
                    (s.workflows, "workflow"),
                    (s.triggers, "trigger"),
                ]
                .map(|(n, noun)| format!("{n} {noun}{}", if n == 1 { "" } else { "s" }));
                outln!("{file}: valid ({})", counts.join(", "));
            }
        }
        _ => {
            let count = report.problems.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            outln!("{file}: {count} {noun}");
            for problem in &report.problems {
                outln!("  {problem}");
            }
            if report.sections.is_none() {
                outln!(
                    "(secrets, collections, the library and the guard are checked once these are fixed)"
                );
            }
        }
    }
}
