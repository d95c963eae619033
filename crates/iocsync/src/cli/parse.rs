//! `iocsync parse`: refang, canonicalise and classify candidate indicators from files or
//! standard input, one per line (or found inside free text with `--extract`), and show each
//! result as a table row or a JSON line. Bad lines are reported with their file, line number
//! and reason and never stop the run; a summary goes to stderr, and the exit code is 3 when
//! any line was invalid.

use super::Exit;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use indicator::{Flag, Indicator, Kind, Scope};
use serde::Serialize;

use super::GlobalArgs;
use super::out;

/// Parse, refang, canonicalise and classify indicators, one per line or found in free text.
///
/// Every result shows the kind, the canonical value, the IANA scope of addresses and networks,
/// and flags saying what canonicalising changed; a line that is not a valid indicator shows the
/// reason. Exit code 3 when some lines were invalid.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to read, one candidate indicator per line (`#` comments and blank lines are
    /// skipped). `-` or no file at all reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Find indicators anywhere inside free text (reports, e-mails) instead of reading one
    /// indicator per line.
    #[arg(long)]
    pub extract: bool,
    /// Print one JSON object per result instead of a table: `{"file", "line", "input", "kind",
    /// "value", "display", "scope", "flags", "error", "reason"}`.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocsync parse`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let sources: Vec<Option<PathBuf>> = if args.files.is_empty() {
        vec![None]
    } else {
        args.files
            .iter()
            .map(|f| (f.as_os_str() != "-").then(|| f.clone()))
            .collect()
    };
    let mut sink = Sink::new(args.json, sources.len() > 1);
    let mut tally = Tally::default();
    let mut unreadable = false;
    for source in &sources {
        let name = source
            .as_ref()
            .map_or_else(|| "-".to_owned(), |p| p.display().to_string());
        let outcome = open(source.as_ref())
            .and_then(|reader| read(reader, &name, args.extract, &mut sink, &mut tally));
        match outcome {
            Ok(()) => {}
            Err(Failure::Output(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(Exit::Success);
            }
            Err(Failure::Output(err)) => return Err(err).context("cannot write the results"),
            Err(Failure::Input(err)) => {
                eprintln!("error: cannot read {name}: {err}");
                unreadable = true;
            }
        }
    }
    match sink.finish() {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(Exit::Success),
        other => other.context("cannot write the results")?,
    }
    if !global.quiet {
        eprintln!("{}", tally.summary(args.extract));
    }
    Ok(match (unreadable, tally.invalid) {
        (true, _) => Exit::Failure,
        (false, 0) => Exit::Success,
        (false, _) => Exit::Partial,
    })
}

/// Why reading a source stopped: its input failed (reported, the run goes on) or the output
/// failed (the run stops).
enum Failure {
    Input(io::Error),
    Output(io::Error),
}

/// Opens a file, or standard input for `None`.
fn open(path: Option<&PathBuf>) -> Result<Box<dyn BufRead>, Failure> {
    match path {
        None => Ok(Box::new(io::stdin().lock())),
        Some(path) => File::open(path)
            .map(|file| Box::new(BufReader::with_capacity(1 << 16, file)) as Box<dyn BufRead>)
            .map_err(Failure::Input),
    }
}

/// Reads every line of one source, sending each result to `sink`.
fn read(
    mut reader: Box<dyn BufRead>,
    file: &str,
    extract: bool,
    sink: &mut Sink,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let mut buf = Vec::with_capacity(256);
    let mut number = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(Failure::Input)? == 0 {
            return Ok(());
        }
        number += 1;
        let bytes = strip_newline(&buf);
        let at = Place { file, line: number };
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                let text = if number == 1 {
                    text.trim_start_matches('\u{feff}')
                } else {
                    text
                };
                if extract {
                    extract_line(text, at, sink, tally)
                } else {
                    parse_line(text, at, sink, tally)
                }
            }
            Err(err) => {
                let input = String::from_utf8_lossy(bytes);
                let error = format!(
                    "the line is not valid UTF-8 (bad byte at column {})",
                    err.valid_up_to() + 1
                );
                tally.reject("invalid-utf8");
                sink.push(Row::error(at, &input, error, "invalid-utf8"))
            }
        }
        .map_err(Failure::Output)?;
    }
}

/// The line without its `\n` or `\r\n`.
fn strip_newline(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

/// Parses one line holding one candidate indicator (possibly followed by ` # comment`).
fn parse_line(text: &str, at: Place<'_>, sink: &mut Sink, tally: &mut Tally) -> io::Result<()> {
    let candidate = strip_comment(text).trim();
    if candidate.is_empty() {
        return Ok(());
    }
    tally.lines += 1;
    match indicator::parse(candidate) {
        Ok(found) => {
            tally.valid += 1;
            tally.indicators += found.len();
            found
                .iter()
                .try_for_each(|ind| sink.push(Row::found(at, candidate, ind)))
        }
        Err(err) => {
            tally.reject(err.code());
            sink.push(Row::error(at, candidate, err.to_string(), err.code()))
        }
    }
}

/// Finds the indicators inside one line of free text.
fn extract_line(text: &str, at: Place<'_>, sink: &mut Sink, tally: &mut Tally) -> io::Result<()> {
    if text.trim().is_empty() {
        return Ok(());
    }
    tally.lines += 1;
    let found = indicator::extract(text);
    if !found.is_empty() {
        tally.valid += 1;
    }
    tally.indicators += found.len();
    found
        .iter()
        .try_for_each(|ind| sink.push(Row::found(at, text.trim(), ind)))
}

/// Drops a comment: a line starting with `#`, or ` #...` after a value (a `#` inside a value,
/// as in a URL fragment, has no space before it).
fn strip_comment(text: &str) -> &str {
    if text.trim_start().starts_with('#') {
        return "";
    }
    match text.find(" #").or_else(|| text.find("\t#")) {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Where a line came from.
#[derive(Clone, Copy)]
struct Place<'a> {
    file: &'a str,
    line: u64,
}

/// One output record: a found indicator or the reason a line is not one.
#[derive(Serialize)]
struct Row<'a> {
    file: &'a str,
    line: u64,
    input: &'a str,
    kind: Option<Kind>,
    value: Option<&'a str>,
    display: Option<&'a str>,
    scope: Option<Scope>,
    flags: &'a [Flag],
    error: Option<String>,
    reason: Option<&'static str>,
}

impl<'a> Row<'a> {
    fn found(at: Place<'a>, input: &'a str, ind: &'a Indicator) -> Self {
        Row {
            file: at.file,
            line: at.line,
            input,
            kind: Some(ind.kind),
            value: Some(&ind.value),
            display: ind.display.as_deref(),
            scope: ind.scope,
            flags: &ind.flags,
            error: None,
            reason: None,
        }
    }

    fn error(at: Place<'a>, input: &'a str, error: String, reason: &'static str) -> Self {
        Row {
            file: at.file,
            line: at.line,
            input,
            kind: None,
            value: None,
            display: None,
            scope: None,
            flags: &[],
            error: Some(error),
            reason: Some(reason),
        }
    }
}

/// Where rows go: streamed to stdout as JSON lines, or as rows of a listing (aligned on a
/// terminal, tab-separated when piped) — never gathered, so memory stays flat.
enum Sink {
    Json(BufWriter<io::Stdout>),
    Table {
        rows: Option<out::Rows>,
        with_file: bool,
    },
}

/// The listing's columns and their widths on a terminal.
const COLUMNS: [(&str, usize); 6] = [
    ("line", 8),
    ("kind", 6),
    ("value", 48),
    ("scope", 13),
    ("flags", 16),
    ("error", 0),
];

impl Sink {
    fn new(json: bool, with_file: bool) -> Self {
        if json {
            return Sink::Json(BufWriter::with_capacity(1 << 16, io::stdout()));
        }
        // The header comes with the first row: no row, no listing.
        Sink::Table {
            rows: None,
            with_file,
        }
    }

    fn push(&mut self, row: Row<'_>) -> io::Result<()> {
        match self {
            Sink::Json(out) => {
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")
            }
            Sink::Table { rows, with_file } => {
                let line = if *with_file {
                    format!("{}:{}", row.file, row.line)
                } else {
                    row.line.to_string()
                };
                let value = match (row.value, row.display) {
                    (Some(value), Some(display)) => format!("{value} ({display})"),
                    (value, _) => value.unwrap_or(row.input).to_owned(),
                };
                let flags: Vec<&str> = row.flags.iter().map(|f| f.as_str()).collect();
                let rows = match rows {
                    Some(rows) => rows,
                    None => rows.insert(out::Rows::new(&COLUMNS)?),
                };
                rows.row(&[
                    &line,
                    &row.kind.map(|k| k.to_string()).unwrap_or_default(),
                    &value,
                    &row.scope.map(|s| s.to_string()).unwrap_or_default(),
                    &flags.join(", "),
                    &row.error.unwrap_or_default(),
                ])
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Json(mut json) => out::check(json.flush()),
            Sink::Table { rows: None, .. } => Ok(()),
            Sink::Table {
                rows: Some(rows), ..
            } => rows.finish(),
        }
    }
}

/// Counts for the summary.
#[derive(Default)]
struct Tally {
    lines: usize,
    valid: usize,
    invalid: usize,
    indicators: usize,
    reasons: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn reject(&mut self, reason: &'static str) {
        self.lines += usize::from(reason == "invalid-utf8");
        self.invalid += 1;
        *self.reasons.entry(reason).or_default() += 1;
    }

    fn summary(&self, extract: bool) -> String {
        let mut text = if extract {
            format!(
                "{} lines read, {} indicators found in {} lines",
                self.lines, self.indicators, self.valid
            )
        } else {
            format!(
                "{} lines: {} valid ({} indicators), {} invalid",
                self.lines, self.valid, self.indicators, self.invalid
            )
        };
        if self.invalid > 0 {
            let reasons: Vec<String> = self
                .reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            text.push_str(&format!(" ({})", reasons.join(", ")));
        }
        text
    }
}
