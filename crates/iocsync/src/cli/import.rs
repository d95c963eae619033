//! `iocsync import`: the command-line layer over [`ingest::import`], which reads feeds —
//! files, standard input, `https://` URLs, TAXII 2.1 collections — and merges their sightings
//! into the library.
//!
//! Flags become an [`ingest::import::Plan`] before any I/O; TAXII credentials come from the
//! environment. Problems are printed as `file:line: reason` above the progress bar (the first
//! [`SHOWN_PROBLEMS`]; `--errors-file` keeps all), then the summary, and the exit code says
//! how it went.

use super::Exit;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use feeds::taxii::{self, Auth};
use feeds::{Columns, Defaults, FeedError, Format, Options, Severity};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::import::{Input, Plan, Summary, TaxiiOptions};
use ingest::{Problems, ReportError};
use store::Class;

use super::GlobalArgs;
use super::collections::LibraryArgs;

/// Problems printed on stderr before the rest are only counted.
const SHOWN_PROBLEMS: usize = 50;
/// Environment variables holding TAXII credentials (never flags: argv is visible to others).
const TOKEN_VAR: &str = "IOCSYNC_TAXII_TOKEN";
const USER_VAR: &str = "IOCSYNC_TAXII_USER";
const PASSWORD_VAR: &str = "IOCSYNC_TAXII_PASSWORD";

const AFTER_HELP: &str = "\
Inputs:
  FILE        a file; its format comes from its extension and first bytes unless --format
              is given (text, csv, jsonl, stix, misp)
  -           standard input
  https://HOST/PATH
              downloaded and read as it arrives (credentials in the URL are refused)
  taxii+https://HOST/API-ROOT/collections/ID/
              a TAXII 2.1 collection, polled page by page from the cursor the previous
              poll saved, so each poll imports only what was added since; a TAXII URL
              without /collections/ID lists the server's collections

TAXII credentials come from the environment, never from flags:
  IOCSYNC_TAXII_TOKEN                         bearer token
  IOCSYNC_TAXII_USER, IOCSYNC_TAXII_PASSWORD  basic authentication

Problems are printed as `file:line: reason` (the first 50; --errors-file keeps them all).
Skipped records (a STIX AND pattern, a MISP attribute not marked to_ids, ...) are counted,
not errors; -v prints them.

Exit status: 0 everything imported; 3 some records were invalid and the rest imported;
1 failure (an input could not be read; with --strict, any invalid record, and then nothing
is written).

Examples:
  iocsync import blocklist.txt --score 7 --tag c2
  iocsync import assets.csv --class asset --source cmdb
  curl -s https://feeds.example/ioc.csv | iocsync import - --format csv
  IOCSYNC_TAXII_TOKEN=... iocsync import taxii+https://taxii.example/api1/collections/91a7b528/";

/// Arguments of `iocsync import`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// What to import: files, `-` for standard input, `https://` URLs, or
    /// `taxii+https://HOST/API-ROOT/collections/ID/` for a TAXII 2.1 collection (see below).
    #[arg(required = true, value_name = "FILE|URL")]
    pub inputs: Vec<String>,
    /// Feed format: text, csv, jsonl, stix or misp. Detected from the name and the first bytes
    /// when absent. Does not apply to TAXII inputs (always STIX).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Source name recorded with every sighting. Default: the file name without its
    /// extension, `stdin`, the URL's host and path, or `taxii:HOST/COLLECTION`.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Score 0–10 for records that carry none.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub score: Option<u8>,
    /// Tag added to every sighting (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Class of every sighting: `indicator` (a threat) or `asset` (one of your own, which
    /// guards keep out of every block list).
    #[arg(long, value_name = "CLASS", default_value = "indicator")]
    pub class: Class,
    /// Write nothing unless every record of every input is valid; any invalid record makes
    /// the import fail (exit 1). Sightings are held in memory until all inputs are read.
    #[arg(long)]
    pub strict: bool,
    /// Write every problem (invalid and skipped records) to PATH, one `file:line: reason` a
    /// line.
    #[arg(long, value_name = "PATH")]
    pub errors_file: Option<PathBuf>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub taxii: TaxiiArgs,
    #[command(flatten)]
    pub library: LibraryArgs,
}

/// Column names for CSV and JSON-lines feeds.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "CSV and JSON lines")]
pub struct ColumnArgs {
    /// Column (CSV) or key (JSON lines) holding the value, instead of the usual names
    /// (value, indicator, ioc, observable).
    #[arg(long, value_name = "NAME")]
    pub csv_value_column: Option<String>,
    /// Column or key holding the kind (instead of kind, type, indicator_type, ioc_type).
    #[arg(long, value_name = "NAME")]
    pub csv_kind_column: Option<String>,
    /// Column or key holding a 0–10 score (instead of score, risk, severity, and of a 0–100
    /// confidence column).
    #[arg(long, value_name = "NAME")]
    pub csv_score_column: Option<String>,
    /// Column or key holding tags separated by `;` or `|` (instead of tags, labels).
    #[arg(long, value_name = "NAME")]
    pub csv_tags_column: Option<String>,
    /// Column or key holding the description (instead of description, comment, notes).
    #[arg(long, value_name = "NAME")]
    pub csv_description_column: Option<String>,
    /// Column or key holding the expiry time (instead of valid_until, expiration, expires).
    #[arg(long, value_name = "NAME")]
    pub csv_valid_until_column: Option<String>,
}

/// Options for TAXII 2.1 inputs.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "TAXII 2.1")]
pub struct TaxiiArgs {
    /// Poll the whole collection, ignoring (and then replacing) the saved cursor.
    #[arg(long)]
    pub taxii_full: bool,
    /// Poll the objects added after TIME (RFC 3339) instead of the saved cursor.
    #[arg(long, value_name = "TIME", conflicts_with = "taxii_full", value_parser = taxii::check_added_after)]
    pub taxii_added_after: Option<String>,
    /// Objects per page to ask the server for (it may send fewer).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub taxii_page_size: Option<u32>,
}

/// Everything the flags say, checked before any I/O.
fn plan(args: &Args) -> anyhow::Result<Plan> {
    let inputs = args
        .inputs
        .iter()
        .map(|spec| Input::parse(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let mut defaults = Defaults::new(String::new());
    defaults.score = args.score;
    defaults.tags = args
        .tags
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    defaults.class = args.class;
    let columns = &args.columns;
    let options = Options {
        defaults,
        columns: Columns {
            value: columns.csv_value_column.clone(),
            kind: columns.csv_kind_column.clone(),
            score: columns.csv_score_column.clone(),
            tags: columns.csv_tags_column.clone(),
            description: columns.csv_description_column.clone(),
            valid_until: columns.csv_valid_until_column.clone(),
        },
    };
    let mut plan = Plan::new(inputs, options)?;
    if let Some(source) = &args.source {
        if source.trim().is_empty() {
            bail!("--source must not be empty");
        }
    }
    plan.source = args.source.clone();
    plan.format = args.format;
    plan.strict = args.strict;
    plan.taxii = TaxiiOptions {
        auth: Auth::None,
        full: args.taxii.taxii_full,
        added_after: args.taxii.taxii_added_after.clone(),
        page_size: args.taxii.taxii_page_size,
    };
    Ok(plan)
}

/// TAXII credentials from the environment.
fn taxii_auth() -> anyhow::Result<Auth> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var(TOKEN_VAR), var(USER_VAR), var(PASSWORD_VAR)) {
        (Some(token), _, _) => Ok(Auth::Bearer(token.into())),
        (None, Some(username), Some(password)) => Ok(Auth::Basic {
            username,
            password: password.into(),
        }),
        (None, Some(_), None) => bail!("{USER_VAR} is set but {PASSWORD_VAR} is not"),
        (None, None, Some(_)) => bail!("{PASSWORD_VAR} is set but {USER_VAR} is not"),
        (None, None, None) => Ok(Auth::None),
    }
}

/// Runs `iocsync import`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let mut plan = plan(&args)?;
    if plan.needs_taxii() {
        plan.taxii.auth = taxii_auth()?;
    }
    let errors_file = args
        .errors_file
        .as_ref()
        .map(|path| {
            File::create(path)
                .map(BufWriter::new)
                .with_context(|| format!("cannot create the errors file {}", path.display()))
        })
        .transpose()?;
    let mut library = args.library.open(global)?;
    let show_progress = !global.quiet && io::stderr().is_terminal();
    let mut printed = Printed::new(
        errors_file,
        global.verbose > 0 && !global.quiet,
        show_progress,
    );
    let report = ingest::import::run(&mut library, plan, &mut printed)?;
    print_summary(&report.summary, args.json, global.quiet)?;
    Ok(exit_code(&report.summary, report.failed, args.strict))
}

fn exit_code(summary: &Summary, failed: bool, strict: bool) -> Exit {
    if failed || (strict && summary.invalid > 0) {
        Exit::Failure
    } else if summary.invalid > 0 {
        Exit::Partial
    } else {
        Exit::Success
    }
}

fn byte_progress(length: Option<u64>, name: &str) -> ProgressBar {
    let (bar, template) = match length {
        Some(length) => (
            ProgressBar::new(length),
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::no_length(),
            "{spinner} {msg} {bytes} {bytes_per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Where problems go: stderr (capped, above any progress bar) and the errors file (all).
struct Printed {
    file: Option<BufWriter<File>>,
    show_skipped: bool,
    show_progress: bool,
    shown: usize,
    hidden: u64,
    progress: Option<ProgressBar>,
}

impl Printed {
    fn new(file: Option<BufWriter<File>>, show_skipped: bool, show_progress: bool) -> Self {
        Self {
            file,
            show_skipped,
            show_progress,
            shown: 0,
            hidden: 0,
            progress: None,
        }
    }

    /// Prints a line on stderr without tearing the progress bar.
    fn show(&self, line: &str) {
        match &self.progress {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

fn errors_file_error(error: io::Error) -> ReportError {
    ReportError::new("cannot write the errors file", error)
}

impl Problems for Printed {
    fn problem(&mut self, problem: &FeedError) -> Result<(), ReportError> {
        if let Some(file) = &mut self.file {
            writeln!(file, "{problem}").map_err(errors_file_error)?;
        }
        let visible = problem.severity == Severity::Invalid || self.show_skipped;
        if visible && self.shown < SHOWN_PROBLEMS {
            self.shown += 1;
            self.show(&problem.to_string());
        } else if visible {
            self.hidden += 1;
        }
        Ok(())
    }

    fn failed(&mut self, input: &str, error: &ingest::Error) {
        self.show(&format!("error: {input}: {}", ingest::chain(error)));
    }

    fn finished(&mut self) -> Result<(), ReportError> {
        if self.hidden > 0 {
            let hint = if self.file.is_some() {
                "all are in the errors file"
            } else {
                "--errors-file PATH keeps them all"
            };
            self.show(&format!(
                "… and {} more problems not shown ({hint})",
                self.hidden
            ));
        }
        if let Some(file) = &mut self.file {
            file.flush().map_err(errors_file_error)?;
        }
        Ok(())
    }

    fn reading(
        &mut self,
        input: &str,
        length: Option<u64>,
        body: Box<dyn Read + Send>,
    ) -> Box<dyn Read + Send> {
        if !self.show_progress {
            return body;
        }
        let bar = byte_progress(length, input);
        self.progress = Some(bar.clone());
        Box::new(bar.wrap_read(body))
    }

    fn polling(&mut self, collection: &str) {
        if self.show_progress {
            let bar = ProgressBar::new_spinner();
            bar.set_message(format!("{collection}: polling"));
            bar.enable_steady_tick(Duration::from_millis(200));
            self.progress = Some(bar);
        }
    }

    fn polled(&mut self, collection: &str, objects: usize) {
        if let Some(bar) = &self.progress {
            bar.set_message(format!("{collection}: {objects} objects"));
        }
    }

    fn done(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

fn print_summary(summary: &Summary, json: bool, quiet: bool) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, summary)?;
        writeln!(out)?;
        return Ok(());
    }
    if quiet {
        return Ok(());
    }
    for input in &summary.inputs {
        writeln!(
            out,
            "{} ({}): {} read, {} sightings, {} invalid, {} skipped",
            input.input,
            input.format.unwrap_or("-"),
            input.read,
            input.sightings,
            input.invalid,
            input.skipped
        )?;
    }
    let outcome = if summary.written {
        format!(
            "imported {} ({} new, {} updated)",
            summary.imported, summary.new, summary.updated
        )
    } else {
        "nothing written (--strict and some records were invalid or an input failed)".to_owned()
    };
    writeln!(
        out,
        "read {}, {outcome}, invalid {}, skipped {} in {:.1}s",
        summary.read, summary.invalid, summary.skipped, summary.seconds
    )?;
    Ok(())
}
