//! `iocsync import`: reads feeds — files, standard input, `https://` URLs, TAXII 2.1
//! collections — with the `feeds` readers and merges their sightings into the library.
//!
//! Flags become a validated [`Plan`] before any I/O. Sightings are merged in chunks of
//! [`CHUNK`], one library transaction each, so memory stays flat; with `--strict` they are held
//! until every input has been read and written only when no record was invalid. Problems are
//! printed as `file:line: reason` (the first [`SHOWN_PROBLEMS`]; `--errors-file` keeps all).
//! A TAXII collection's cursor is saved only after its objects are committed, so a failed
//! poll is simply repeated next time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use feeds::taxii::{self, Auth, CollectionUrl, Target};
use feeds::{Columns, Defaults, FeedError, Format, Options, Record, Severity};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use store::{Class, Library, Sighting};

use super::collections::LibraryArgs;
use super::{EXIT_FAILURE, EXIT_PARTIAL, GlobalArgs};

/// Sightings merged per library transaction.
const CHUNK: usize = 10_000;
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

/// One input, as the user named it.
enum Input {
    Stdin,
    File(PathBuf),
    Url(String),
    Taxii(CollectionUrl),
    TaxiiServer(String),
}

impl Input {
    fn parse(spec: &str) -> anyhow::Result<Self> {
        Ok(if spec == "-" {
            Input::Stdin
        } else if spec.starts_with(taxii::URL_PREFIX) {
            match Target::parse(spec)? {
                Target::Collection(collection) => Input::Taxii(collection),
                Target::Server(_) => Input::TaxiiServer(spec.to_owned()),
            }
        } else if spec.starts_with("http://") || spec.starts_with("https://") {
            feeds::fetch::check_url(spec)?;
            Input::Url(spec.to_owned())
        } else {
            Input::File(PathBuf::from(spec))
        })
    }

    /// The name problems and summaries use.
    fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_owned(),
            Input::File(path) => path.display().to_string(),
            Input::Url(url) | Input::TaxiiServer(url) => url.clone(),
            Input::Taxii(collection) => collection.to_string(),
        }
    }

    /// The source name when `--source` is not given.
    fn default_source(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_owned(),
            Input::File(path) => file_source(path),
            Input::Url(url) | Input::TaxiiServer(url) => url_source(url),
            Input::Taxii(collection) => format!(
                "taxii:{}/{}",
                collection.api_root.host_str().unwrap_or("server"),
                collection.id
            ),
        }
    }
}

/// `blocklist.txt` → `blocklist`, `campaign.stix.json` → `campaign`.
fn file_source(path: &Path) -> String {
    let stem = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    [".stix", ".misp"]
        .iter()
        .find_map(|suffix| stem.strip_suffix(suffix))
        .map_or(stem.clone(), str::to_owned)
}

/// The host and path of a URL, without the scheme or a query that may hold a key.
fn url_source(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['?', '#'])
        .next()
        .unwrap_or(rest)
        .trim_end_matches('/')
        .to_owned()
}

/// Everything the flags say, checked before any I/O.
struct Plan {
    inputs: Vec<Input>,
    options: Options,
    source: Option<String>,
    format: Option<Format>,
    strict: bool,
}

impl Plan {
    fn from_args(args: &Args) -> anyhow::Result<Self> {
        let inputs = args
            .inputs
            .iter()
            .map(|spec| Input::parse(spec))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if inputs.iter().filter(|i| matches!(i, Input::Stdin)).count() > 1 {
            bail!("standard input (`-`) can be read only once");
        }
        if let Some(source) = &args.source {
            if source.trim().is_empty() {
                bail!("--source must not be empty");
            }
        }
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
        Ok(Plan {
            inputs,
            options,
            source: args.source.clone(),
            format: args.format,
            strict: args.strict,
        })
    }

    /// The options for one input, with its source name.
    fn options_for(&self, input: &Input) -> Options {
        let mut options = self.options.clone();
        options.defaults.source = self
            .source
            .clone()
            .unwrap_or_else(|| input.default_source());
        options
    }
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
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::from_args(&args)?;
    let needs_taxii = plan
        .inputs
        .iter()
        .any(|i| matches!(i, Input::Taxii(_) | Input::TaxiiServer(_)));
    let auth = if needs_taxii {
        taxii_auth()?
    } else {
        Auth::None
    };
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
    let problems = Problems::new(errors_file, global.verbose > 0 && !global.quiet);
    let mut import = Import::new(&mut library, problems, plan.strict);
    let started = Instant::now();
    let mut taxii = TaxiiSession::new(auth, &args.taxii);
    let mut failed = false;
    for input in &plan.inputs {
        let options = plan.options_for(input);
        let before = import.counts();
        let outcome = match input {
            Input::Taxii(collection) => {
                taxii.import(collection, options, &mut import, show_progress)
            }
            Input::TaxiiServer(spec) => taxii.list(spec).map(|()| None),
            _ => import_stream(input, plan.format, options, &mut import, show_progress).map(Some),
        };
        // A failed input still counts what it gave before failing (it was merged).
        let format = outcome.unwrap_or_else(|err| {
            import
                .problems
                .show(&format!("error: {}: {err:#}", input.name()));
            failed = true;
            None
        });
        let summary = import.counts().since(&before, input.name(), format);
        import.summaries.push(summary);
    }
    let written = import.finish(failed)?;
    if written {
        taxii.save_cursors(import.library, &plan.options.defaults)?;
    }
    let summary = import.summary(written, started.elapsed());
    print_summary(&summary, args.json, global.quiet)?;
    Ok(exit_code(&summary, failed, plan.strict))
}

fn exit_code(summary: &Summary, failed: bool, strict: bool) -> ExitCode {
    if failed || (strict && summary.invalid > 0) {
        ExitCode::from(EXIT_FAILURE)
    } else if summary.invalid > 0 {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads a file, standard input or a URL; returns the format it was read as.
fn import_stream(
    input: &Input,
    format: Option<Format>,
    options: Options,
    import: &mut Import<'_>,
    show_progress: bool,
) -> anyhow::Result<Format> {
    let (raw, length): (Box<dyn Read + Send>, Option<u64>) = match input {
        Input::Stdin => (Box::new(io::stdin()), None),
        Input::File(path) => {
            let file = File::open(path).context("cannot open")?;
            let length = file.metadata().ok().map(|m| m.len());
            (Box::new(file), length)
        }
        Input::Url(url) => {
            let download = feeds::fetch::download(url)?;
            (download.body, download.length)
        }
        Input::Taxii(_) | Input::TaxiiServer(_) => bail!("not a stream"),
    };
    let name = input.name();
    let progress = show_progress.then(|| byte_progress(length, &name));
    let mut raw: Box<dyn Read + Send> = match &progress {
        Some(bar) => Box::new(bar.wrap_read(raw)),
        None => raw,
    };
    let head = feeds::detect::read_head(&mut raw).context("cannot read")?;
    let format = format.unwrap_or_else(|| feeds::detect(&name, &head, &options.columns));
    let reader = BufReader::with_capacity(1 << 16, Cursor::new(head).chain(raw));
    import.problems.progress = progress.clone();
    import.read += read_in_parallel(format, name, reader, options, import)?;
    import.flush()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    import.problems.progress = None;
    Ok(format)
}

/// Parses the feed on a second thread while this one merges, so parsing and the library's
/// writes overlap. Returns how many records the feed had.
fn read_in_parallel(
    format: Format,
    name: String,
    reader: impl BufRead + Send,
    options: Options,
    import: &mut Import<'_>,
) -> anyhow::Result<u64> {
    /// Records handed over at once, and batches in flight: enough to keep both threads busy,
    /// few enough that memory stays flat.
    const BATCH: usize = 2048;
    const IN_FLIGHT: usize = 8;
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Vec<Record>>(IN_FLIGHT);
        let parser = scope.spawn(move || {
            let mut feed = feeds::open(format, &name, reader, options);
            let mut batch = Vec::with_capacity(BATCH);
            for record in feed.by_ref() {
                batch.push(record);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // The receiver is gone only when merging failed: stop reading.
                    if sender.send(full).is_err() {
                        return feed.records();
                    }
                }
            }
            let _ = sender.send(batch);
            feed.records()
        });
        for record in receiver.into_iter().flatten() {
            import.record(record)?;
        }
        parser
            .join()
            .map_err(|_| anyhow::anyhow!("the feed reader stopped unexpectedly"))
    })
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

/// TAXII polling for the run: one client, and the cursors to save once data is committed.
struct TaxiiSession<'a> {
    auth: Option<Auth>,
    client: Option<taxii::Client>,
    args: &'a TaxiiArgs,
    cursors: Vec<(String, String)>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl<'a> TaxiiSession<'a> {
    fn new(auth: Auth, args: &'a TaxiiArgs) -> Self {
        Self {
            auth: Some(auth),
            client: None,
            args,
            cursors: Vec::new(),
            runtime: None,
        }
    }

    /// The runtime and client, made on first use.
    fn parts(&mut self) -> anyhow::Result<(&tokio::runtime::Runtime, &taxii::Client)> {
        if self.runtime.is_none() {
            self.runtime = Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the async runtime")?,
            );
        }
        if self.client.is_none() {
            self.client = Some(taxii::Client::new(self.auth.take().unwrap_or_default())?);
        }
        match (&self.runtime, &self.client) {
            (Some(runtime), Some(client)) => Ok((runtime, client)),
            _ => bail!("the TAXII client could not be set up"),
        }
    }

    /// Polls one collection into the library.
    fn import(
        &mut self,
        collection: &CollectionUrl,
        options: Options,
        import: &mut Import<'_>,
        show_progress: bool,
    ) -> anyhow::Result<Option<Format>> {
        let key = collection.cursor_key();
        let added_after = match (&self.args.taxii_added_after, self.args.taxii_full) {
            (Some(after), _) => Some(after.clone()),
            (None, true) => None,
            (None, false) => import.library.cursor(&key)?,
        };
        let page_size = self.args.taxii_page_size;
        let (runtime, client) = self.parts()?;
        let origin: Arc<str> = Arc::from(collection.to_string());
        let progress = show_progress.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_message(format!("{origin}: polling"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        import.problems.progress = progress.clone();
        let cursor = runtime.block_on(async {
            let mut poll = client.poll(collection, added_after, page_size);
            let mut objects = 0usize;
            while let Some(page) = poll.next_page().await? {
                objects += page.objects.len();
                if let Some(bar) = &progress {
                    bar.set_message(format!("{origin}: {objects} objects"));
                }
                let (records, read) = page.records(&origin, &options.defaults);
                import.read += read;
                for record in records {
                    import.record(record)?;
                }
            }
            anyhow::Ok(poll.cursor().map(str::to_owned))
        });
        if let Some(bar) = &progress {
            bar.finish_and_clear();
        }
        import.problems.progress = None;
        // What was read is merged even when the poll failed half-way; the cursor is not
        // saved then, so the next poll asks again.
        import.flush()?;
        if let Some(cursor) = cursor? {
            self.cursors.push((key, cursor));
        }
        Ok(Some(Format::Stix))
    }

    /// Prints the collections of a TAXII server named without a collection, and fails.
    fn list(&mut self, spec: &str) -> anyhow::Result<()> {
        let url = spec
            .strip_prefix(taxii::URL_PREFIX)
            .unwrap_or(spec)
            .parse()
            .context("not a URL")?;
        let (runtime, client) = self.parts()?;
        let listing = runtime.block_on(async {
            let discovery = client.discovery(&url).await?;
            let mut lines = Vec::new();
            for root in &discovery.api_roots {
                let api_root = url
                    .join(root)
                    .context("bad API root in the discovery answer")?;
                let info = client.api_root(&api_root).await?;
                if !info.speaks_taxii_21() {
                    lines.push(format!("  {api_root} ({}): not TAXII 2.1", info.title));
                    continue;
                }
                for collection in client.collections(&api_root).await? {
                    lines.push(format!(
                        "  {}{api_root}collections/{}/  {} / {}{}",
                        taxii::URL_PREFIX,
                        collection.id,
                        info.title,
                        collection.title,
                        if collection.can_read {
                            ""
                        } else {
                            " (not readable)"
                        }
                    ));
                }
            }
            anyhow::Ok(lines)
        })?;
        bail!(
            "this names a TAXII server, not a collection; import one of its collections:\n{}",
            if listing.is_empty() {
                "  (none)".to_owned()
            } else {
                listing.join("\n")
            }
        )
    }

    /// Saves the cursor of every collection polled, once the data is committed.
    fn save_cursors(&self, library: &mut Library, defaults: &Defaults) -> anyhow::Result<()> {
        for (key, cursor) in &self.cursors {
            library
                .set_cursor(key, cursor, defaults.now)
                .with_context(|| format!("cannot save the TAXII cursor for {key}"))?;
        }
        Ok(())
    }
}

/// Where problems go: stderr (capped, above any progress bar) and the errors file (all).
struct Problems {
    file: Option<BufWriter<File>>,
    show_skipped: bool,
    shown: usize,
    hidden: u64,
    progress: Option<ProgressBar>,
}

impl Problems {
    fn new(file: Option<BufWriter<File>>, show_skipped: bool) -> Self {
        Self {
            file,
            show_skipped,
            shown: 0,
            hidden: 0,
            progress: None,
        }
    }

    fn report(&mut self, problem: &FeedError) -> anyhow::Result<()> {
        if let Some(file) = &mut self.file {
            writeln!(file, "{problem}").context("cannot write the errors file")?;
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

    /// Prints a line on stderr without tearing the progress bar.
    fn show(&self, line: &str) {
        match &self.progress {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&mut self) -> anyhow::Result<()> {
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
            file.flush().context("cannot write the errors file")?;
        }
        Ok(())
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Default)]
struct Counts {
    read: u64,
    sightings: u64,
    invalid: u64,
    skipped: u64,
    new: u64,
    updated: u64,
}

impl Counts {
    /// The counts of one input: what changed since `before`.
    fn since(&self, before: &Counts, input: String, format: Option<Format>) -> InputSummary {
        InputSummary {
            input,
            format: format.map(|f| f.as_str()),
            read: self.read - before.read,
            sightings: self.sightings - before.sightings,
            invalid: self.invalid - before.invalid,
            skipped: self.skipped - before.skipped,
        }
    }
}

/// Sightings on their way into the library.
struct Import<'l> {
    library: &'l mut Library,
    problems: Problems,
    strict: bool,
    pending: Vec<Sighting>,
    read: u64,
    counts: Counts,
    summaries: Vec<InputSummary>,
}

impl<'l> Import<'l> {
    fn new(library: &'l mut Library, problems: Problems, strict: bool) -> Self {
        Self {
            library,
            problems,
            strict,
            pending: Vec::with_capacity(CHUNK),
            read: 0,
            counts: Counts::default(),
            summaries: Vec::new(),
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            read: self.read,
            ..self.counts.clone()
        }
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        match record {
            Ok(sighting) => {
                self.counts.sightings += 1;
                self.pending.push(sighting);
                if !self.strict && self.pending.len() >= CHUNK {
                    self.flush()?;
                }
            }
            Err(problem) => {
                match problem.severity {
                    Severity::Invalid => self.counts.invalid += 1,
                    Severity::Skipped => self.counts.skipped += 1,
                }
                self.problems.report(&problem)?;
            }
        }
        Ok(())
    }

    /// Merges what is pending (not in strict mode, which waits for [`finish`](Self::finish)).
    fn flush(&mut self) -> anyhow::Result<()> {
        if self.strict || self.pending.is_empty() {
            return Ok(());
        }
        self.merge()
    }

    fn merge(&mut self) -> anyhow::Result<()> {
        for chunk in self.pending.chunks(CHUNK) {
            let report = self
                .library
                .merge(chunk)
                .context("cannot write to the library")?;
            self.counts.new += report.created as u64;
            self.counts.updated += report.updated as u64;
            for rejected in &report.rejected {
                self.counts.invalid += 1;
                let origin = chunk
                    .get(rejected.index)
                    .map_or_else(|| "library".to_owned(), |s| s.source.clone());
                let problem = FeedError::invalid(
                    &Arc::from(origin),
                    feeds::Location::Document,
                    format!(
                        "`{}` refused by the library: {}",
                        rejected.value, rejected.reason
                    ),
                );
                self.problems.report(&problem)?;
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Ends the run: in strict mode, writes everything only if nothing was invalid and no
    /// input failed. Returns whether the sightings were written.
    fn finish(&mut self, failed: bool) -> anyhow::Result<bool> {
        self.problems.finish()?;
        if !self.strict {
            self.merge()?;
            return Ok(true);
        }
        if failed || self.counts.invalid > 0 {
            self.pending.clear();
            return Ok(false);
        }
        self.strict = false;
        self.merge()?;
        Ok(true)
    }

    fn summary(&self, written: bool, elapsed: Duration) -> Summary {
        let imported = if written {
            self.counts.new + self.counts.updated
        } else {
            0
        };
        Summary {
            inputs: self.summaries.clone(),
            read: self.read,
            sightings: self.counts.sightings,
            imported,
            new: self.counts.new,
            updated: self.counts.updated,
            invalid: self.counts.invalid,
            skipped: self.counts.skipped,
            written,
            seconds: elapsed.as_secs_f64(),
        }
    }
}

/// What one input gave.
#[derive(Debug, Clone, Serialize)]
struct InputSummary {
    input: String,
    /// `None` for inputs that could not be read as a feed.
    format: Option<&'static str>,
    read: u64,
    sightings: u64,
    invalid: u64,
    skipped: u64,
}

/// What the run did, as printed and as `--json`.
#[derive(Debug, Serialize)]
struct Summary {
    inputs: Vec<InputSummary>,
    /// Records read (lines, rows, objects, attributes).
    read: u64,
    /// Sightings the records gave (a range gives several, a bad record none).
    sightings: u64,
    /// Sightings merged into the library.
    imported: u64,
    /// Indicators the library did not hold before.
    new: u64,
    /// Sightings merged into indicators the library already held.
    updated: u64,
    invalid: u64,
    skipped: u64,
    /// False when `--strict` refused to write.
    written: bool,
    seconds: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_source_names() {
        assert_eq!(file_source(Path::new("/x/blocklist.txt")), "blocklist");
        assert_eq!(file_source(Path::new("campaign.stix.json")), "campaign");
        assert_eq!(file_source(Path::new("noext")), "noext");
        assert_eq!(
            url_source("https://feeds.example/a/list.txt?key=secret"),
            "feeds.example/a/list.txt"
        );
    }
}
