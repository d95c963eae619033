//! The import pipeline behind `iocsync import`: [`Input`]s (files, standard input, `https://`
//! URLs, TAXII 2.1 collections) read with the `feeds` readers and merged into the library.
//!
//! A [`Plan`] says what to read and how; [`run`] reads every input in turn, parsing on a second
//! thread while merging, in chunks of 10,000 sightings, one library transaction each, so
//! memory stays flat. With [`Plan::strict`] sightings are held until every input has been read
//! and written only when no record was invalid and no input failed. Problems go to the
//! caller's [`Problems`]. A TAXII collection's cursor is saved only after its objects are
//! committed, so a failed poll is simply repeated next time. The [`Summary`] is what the
//! command prints, and its `--json`.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use feeds::taxii::{self, Auth, CollectionUrl, Target};
use feeds::{Format, Options};
use serde::Serialize;
use store::Library;

use crate::batch::{Batcher, Counts};
use crate::read::{self, Poll};
use crate::{Error, Problems};

/// One input, as the user named it.
#[derive(Debug)]
pub enum Input {
    Stdin,
    File(PathBuf),
    Url(String),
    Taxii(CollectionUrl),
    /// A TAXII server named without a collection: importing it lists its collections and fails.
    TaxiiServer(String),
}

impl Input {
    /// `-`, `taxii+https://...`, `http(s)://...` (credentials refused) or a file path.
    pub fn parse(spec: &str) -> Result<Self, Error> {
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
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_owned(),
            Input::File(path) => path.display().to_string(),
            Input::Url(url) | Input::TaxiiServer(url) => url.clone(),
            Input::Taxii(collection) => collection.to_string(),
        }
    }

    /// The source name when none is given.
    pub fn default_source(&self) -> String {
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

    fn is_taxii(&self) -> bool {
        matches!(self, Input::Taxii(_) | Input::TaxiiServer(_))
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

/// How TAXII collections are polled.
#[derive(Debug, Default)]
pub struct TaxiiOptions {
    /// Credentials (from the environment, never from flags); the secrets are
    /// `secrecy::SecretString`s, never shown.
    pub auth: Auth,
    /// Poll the whole collection, ignoring (and then replacing) the saved cursor.
    pub full: bool,
    /// Poll the objects added after this time (RFC 3339) instead of the saved cursor.
    pub added_after: Option<String>,
    /// Objects per page to ask the server for.
    pub page_size: Option<u32>,
}

/// What to import and how, checked before any I/O.
#[derive(Debug)]
pub struct Plan {
    pub inputs: Vec<Input>,
    /// Reader options; their `defaults.source` is replaced per input.
    pub options: Options,
    /// The source name of every sighting; `None`: each input's [`Input::default_source`].
    pub source: Option<String>,
    /// The format of every stream; `None`: detected from the name and first bytes.
    pub format: Option<Format>,
    /// Write nothing unless every record of every input is valid.
    pub strict: bool,
    pub taxii: TaxiiOptions,
}

impl Plan {
    /// A plan reading `inputs` with `options`; standard input may be named only once.
    pub fn new(inputs: Vec<Input>, options: Options) -> Result<Self, Error> {
        if inputs.iter().filter(|i| matches!(i, Input::Stdin)).count() > 1 {
            return Err(Error::StdinTwice);
        }
        Ok(Plan {
            inputs,
            options,
            source: None,
            format: None,
            strict: false,
            taxii: TaxiiOptions::default(),
        })
    }

    /// Whether an input is a TAXII server or collection (and credentials are wanted).
    pub fn needs_taxii(&self) -> bool {
        self.inputs.iter().any(Input::is_taxii)
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

/// What one input gave.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub input: String,
    /// `None` for inputs that could not be read as a feed.
    pub format: Option<&'static str>,
    pub read: u64,
    pub sightings: u64,
    pub invalid: u64,
    pub skipped: u64,
}

/// What the run did, as `iocsync import` prints it and as its `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub inputs: Vec<InputSummary>,
    /// Records read (lines, rows, objects, attributes).
    pub read: u64,
    /// Sightings the records gave (a range gives several, a bad record none).
    pub sightings: u64,
    /// Sightings merged into the library.
    pub imported: u64,
    /// Indicators the library did not hold before.
    pub new: u64,
    /// Sightings merged into indicators the library already held.
    pub updated: u64,
    pub invalid: u64,
    pub skipped: u64,
    /// False when a strict import refused to write.
    pub written: bool,
    pub seconds: f64,
}

/// How an import ended.
#[derive(Debug, Clone)]
pub struct Report {
    pub summary: Summary,
    /// An input could not be read (it was reported through [`Problems::failed`]).
    pub failed: bool,
}

/// Imports every input of `plan` into `library`, reporting problems and progress to
/// `problems`. An input that fails is reported and the rest still read; an error is returned
/// only when the library cannot be written or a problem cannot be reported at the end.
pub fn run(
    library: &mut Library,
    plan: Plan,
    problems: &mut dyn Problems,
) -> Result<Report, Error> {
    let started = Instant::now();
    let mut plan = plan;
    let auth = std::mem::take(&mut plan.taxii.auth);
    let mut batcher = Batcher::new(library, plan.strict);
    let mut taxii = TaxiiSession::new(auth, &plan.taxii);
    let mut summaries = Vec::new();
    let mut failed = false;
    for input in &plan.inputs {
        let options = plan.options_for(input);
        let before = batcher.counts.clone();
        let outcome = match input {
            Input::Taxii(collection) => taxii
                .import(collection, &options, &mut batcher, problems)
                .map(|()| Some(Format::Stix)),
            Input::TaxiiServer(spec) => taxii.list(spec).map(|()| None),
            _ => import_stream(input, plan.format, options, &mut batcher, problems).map(Some),
        };
        // A failed input still counts what it gave before failing (it was merged).
        let format = outcome.unwrap_or_else(|error| {
            problems.failed(&input.name(), &error);
            failed = true;
            None
        });
        summaries.push(since(&batcher.counts, &before, input.name(), format));
    }
    problems.finished()?;
    // A strict import writes only when nothing was invalid and no input failed.
    let written = if plan.strict && (failed || batcher.counts.invalid > 0) {
        batcher.discard();
        false
    } else {
        batcher.release();
        batcher.flush(problems)?;
        true
    };
    let counts = batcher.counts.clone();
    if written {
        taxii.save_cursors(batcher.sink(), &plan.options.defaults)?;
    }
    Ok(Report {
        summary: summary(&counts, summaries, written, started.elapsed()),
        failed,
    })
}

/// The counts of one input: what changed since `before`.
fn since(now: &Counts, before: &Counts, input: String, format: Option<Format>) -> InputSummary {
    InputSummary {
        input,
        format: format.map(|f| f.as_str()),
        read: now.read - before.read,
        sightings: now.sightings - before.sightings,
        invalid: now.invalid - before.invalid,
        skipped: now.skipped - before.skipped,
    }
}

fn summary(
    counts: &Counts,
    inputs: Vec<InputSummary>,
    written: bool,
    elapsed: Duration,
) -> Summary {
    Summary {
        inputs,
        read: counts.read,
        sightings: counts.sightings,
        imported: if written {
            counts.new + counts.updated
        } else {
            0
        },
        new: counts.new,
        updated: counts.updated,
        invalid: counts.invalid,
        skipped: counts.skipped,
        written,
        seconds: elapsed.as_secs_f64(),
    }
}

/// Reads a file, standard input or a URL; returns the format it was read as.
fn import_stream(
    input: &Input,
    format: Option<Format>,
    options: Options,
    batcher: &mut Batcher<&mut Library>,
    problems: &mut dyn Problems,
) -> Result<Format, Error> {
    let (raw, length): (Box<dyn Read + Send>, Option<u64>) = match input {
        Input::File(path) => {
            let file = File::open(path).map_err(Error::Open)?;
            let length = file.metadata().ok().map(|m| m.len());
            (Box::new(file), length)
        }
        Input::Url(url) => {
            let download = feeds::fetch::download(url)?;
            (download.body, download.length)
        }
        Input::Stdin => (Box::new(io::stdin()), None),
        Input::Taxii(_) | Input::TaxiiServer(_) => unreachable!("TAXII inputs are polled"),
    };
    let name = input.name();
    let raw = problems.reading(&name, length, raw);
    let read = read_stream(&name, raw, format, options, batcher, problems);
    problems.done();
    read
}

fn read_stream(
    name: &str,
    mut raw: Box<dyn Read + Send>,
    format: Option<Format>,
    options: Options,
    batcher: &mut Batcher<&mut Library>,
    problems: &mut dyn Problems,
) -> Result<Format, Error> {
    let head = feeds::detect::read_head(&mut raw).map_err(Error::Read)?;
    let format = format.unwrap_or_else(|| feeds::detect(name, &head, &options.columns));
    let reader = BufReader::with_capacity(1 << 16, Cursor::new(head).chain(raw));
    read::in_parallel(format, name, reader, options, batcher, problems)?;
    batcher.flush(problems)?;
    Ok(format)
}

/// TAXII polling for the run: one client, and the cursors to save once data is committed.
struct TaxiiSession<'a> {
    auth: Option<Auth>,
    options: &'a TaxiiOptions,
    client: Option<taxii::Client>,
    cursors: Vec<(String, String)>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl<'a> TaxiiSession<'a> {
    fn new(auth: Auth, options: &'a TaxiiOptions) -> Self {
        Self {
            auth: Some(auth),
            options,
            client: None,
            cursors: Vec::new(),
            runtime: None,
        }
    }

    /// The runtime and client, made on first use.
    fn parts(&mut self) -> Result<(&tokio::runtime::Runtime, &taxii::Client), Error> {
        if self.runtime.is_none() {
            self.runtime = Some(read::runtime()?);
        }
        if self.client.is_none() {
            self.client = Some(taxii::Client::new(self.auth.take().unwrap_or_default())?);
        }
        match (&self.runtime, &self.client) {
            (Some(runtime), Some(client)) => Ok((runtime, client)),
            _ => unreachable!("both were just made"),
        }
    }

    /// Polls one collection into the library.
    fn import(
        &mut self,
        collection: &CollectionUrl,
        options: &Options,
        batcher: &mut Batcher<&mut Library>,
        problems: &mut dyn Problems,
    ) -> Result<(), Error> {
        let key = collection.cursor_key();
        let added_after = match (&self.options.added_after, self.options.full) {
            (Some(after), _) => Some(after.clone()),
            (None, true) => None,
            (None, false) => batcher.sink().cursor(&key)?,
        };
        let page_size = self.options.page_size;
        let (runtime, client) = self.parts()?;
        let poll = Poll {
            runtime,
            client,
            collection,
            added_after,
            page_size,
            defaults: &options.defaults,
        };
        let cursor = read::poll_collection(poll, batcher, problems);
        // What was read is merged even when the poll failed half-way; the cursor is not
        // saved then, so the next poll asks again.
        batcher.flush(problems)?;
        if let Some(cursor) = cursor? {
            self.cursors.push((key, cursor));
        }
        Ok(())
    }

    /// Lists the collections of a TAXII server named without a collection, and fails.
    fn list(&mut self, spec: &str) -> Result<(), Error> {
        let url: url::Url = spec
            .strip_prefix(taxii::URL_PREFIX)
            .unwrap_or(spec)
            .parse()
            .map_err(Error::NotAUrl)?;
        let (runtime, client) = self.parts()?;
        let listing = runtime.block_on(async {
            let discovery = client.discovery(&url).await?;
            let mut lines = Vec::new();
            for root in &discovery.api_roots {
                let api_root = url.join(root).map_err(Error::BadApiRoot)?;
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
            Ok::<_, Error>(lines)
        })?;
        Err(Error::TaxiiServer {
            listing: if listing.is_empty() {
                "  (none)".to_owned()
            } else {
                listing.join("\n")
            },
        })
    }

    /// Saves the cursor of every collection polled, once the data is committed.
    fn save_cursors(&self, library: &mut Library, defaults: &feeds::Defaults) -> Result<(), Error> {
        for (key, cursor) in &self.cursors {
            library
                .set_cursor(key, cursor, defaults.now)
                .map_err(|source| Error::SaveCursor {
                    key: key.clone(),
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }
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

    #[test]
    fn standard_input_is_read_once() {
        let options = Options::new(feeds::Defaults::new(String::new()));
        let inputs = vec![Input::Stdin, Input::Stdin];
        assert!(matches!(Plan::new(inputs, options), Err(Error::StdinTwice)));
    }
}
