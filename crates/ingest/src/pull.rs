//! Pulling a `[[feeds]]` entry into the library — the one code path of `iocsync pull` and of
//! the daemon's scheduled pulls.
//!
//! A file or URL feed is first copied to a temporary file while its SHA-256 is computed
//! (streamed: memory stays flat). A 304, or the bytes of the snapshot in force, is recorded
//! as *unchanged* without parsing. Otherwise the copy is read with the feed's reader and its
//! sightings go into one library transaction ([`store::PullWriter`]) that the library then
//! applies (withdrawing what a snapshot stopped listing) or holds (a pull that looks broken).
//! TAXII collections are polled from the cursor kept with the feed, which is committed with
//! the sightings. A pull that cannot download or read its feed is recorded as *failed*, with
//! the reason, and changes nothing but `expire_after`.
//!
//! Records are read and batched as an import reads them (`read`, `batch`); problems go to
//! the caller's [`Problems`] and the first are kept in the [`PullSummary`]. [`views`] is
//! every configured feed with what the library remembers of it (`iocsync feeds`, the status
//! page).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use config::{Config, Feed, FeedFormat, Location};
use engine::schedule::Timetable;
use feeds::{Defaults, Format, Options};
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::{
    Checks, FeedState, Finish, Library, Outcome, PullReport, PullWriter, Unread, Validators,
};

use crate::batch::{Batcher, Counts};
use crate::problems::Kept;
use crate::read::{self, Poll};
use crate::{Error, Problems};

/// Record problems kept in a pull's report (all are counted).
const KEPT_PROBLEMS: usize = 20;

/// What a pull did, as `iocsync pull --json` prints it and the daemon logs it.
#[derive(Debug, Clone, Serialize)]
pub struct PullSummary {
    pub feed: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub listed: u64,
    pub new: u64,
    pub withdrawn: u64,
    /// Values the snapshot in force listed before.
    pub previous: u64,
    pub records: u64,
    pub invalid: u64,
    pub skipped: u64,
    /// The first record problems, `file:line: reason`.
    pub problems: Vec<String>,
    pub seconds: f64,
}

impl PullSummary {
    /// Whether the pull changed which values the feed stands behind (workflows that follow
    /// the feed run then): new values, or withdrawn ones — also by `expire_after` during a
    /// pull that found the feed unchanged or failed.
    pub fn changed(&self) -> bool {
        self.new > 0 || self.withdrawn > 0
    }
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Apply a held download after a person looked at it (`pull --accept`): the copy kept
    /// when it was held is applied as it is, without the sanity checks.
    pub accept: bool,
    pub now: DateTime<Utc>,
    /// Where a held download is kept for a person to look at (`<feed>.download`), and where
    /// `--accept` takes it from; `None` keeps nothing.
    pub held_dir: Option<PathBuf>,
}

impl PullOptions {
    /// Options for a pull now, keeping held downloads in `held_dir` (beside the library:
    /// `config::LibraryLocation::held_dir`).
    pub fn holding_in(held_dir: PathBuf, accept: bool) -> PullOptions {
        PullOptions {
            accept,
            now: Utc::now(),
            held_dir: Some(held_dir),
        }
    }

    /// The kept copy of `feed`'s held download.
    pub fn held_copy(&self, feed: &str) -> Option<PathBuf> {
        self.held_dir
            .as_ref()
            .map(|dir| dir.join(format!("{feed}.download")))
    }
}

/// Pulls `feed` (entry `index` of `[[feeds]]`, for error key paths) into `library`,
/// reporting record problems and progress to `problems`. A feed that cannot be downloaded or
/// read is a pull recorded as failed, not an error; an error means the library could not
/// record the pull.
pub fn pull(
    library: &mut Library,
    feed: &Feed,
    index: usize,
    options: PullOptions,
    problems: &mut dyn Problems,
) -> Result<PullSummary, Error> {
    let started = Instant::now();
    let state = library.feed_state(&feed.name)?;
    let mut counts = Counts::default();
    let mut kept = Kept::new(problems, KEPT_PROBLEMS);
    let pulling = Pulling {
        feed,
        index,
        state: &state,
        options: &options,
    };
    let outcome = match feed.format {
        FeedFormat::Taxii => pull_taxii(library, pulling, &mut counts, &mut kept),
        FeedFormat::MispApi => pull_misp(library, pulling, &mut counts, &mut kept),
        _ => pull_download(library, pulling, &mut counts, &mut kept),
    };
    let report = match outcome {
        Ok(report) => report,
        Err(error) => record(
            library,
            feed,
            Outcome::Failed,
            Some(crate::chain(&error)),
            options.now,
        )?,
    };
    Ok(summary(feed, report, &counts, kept.kept, started))
}

fn summary(
    feed: &Feed,
    report: PullReport,
    counts: &Counts,
    problems: Vec<String>,
    started: Instant,
) -> PullSummary {
    PullSummary {
        feed: feed.name.clone(),
        outcome: report.outcome,
        reason: report.reason,
        listed: report.listed,
        new: report.new,
        withdrawn: report.withdrawn,
        previous: report.previous,
        records: counts.read,
        invalid: counts.invalid + report.merge.rejected.len() as u64,
        skipped: counts.skipped,
        problems,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Records a pull that did not read the feed.
fn record(
    library: &mut Library,
    feed: &Feed,
    outcome: Outcome,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<PullReport, Error> {
    let unread = Unread {
        outcome,
        reason,
        mode: feed.mode,
        expire_after: expire_after(feed),
    };
    Ok(library.record_pull(&feed.name, unread, now)?)
}

fn expire_after(feed: &Feed) -> Option<chrono::Duration> {
    feed.expire_after
        .and_then(|after| chrono::Duration::from_std(after).ok())
}

/// One pull's inputs: the feed, its place in `[[feeds]]` (for error key paths), what the
/// library remembers of it, and how to pull.
#[derive(Clone, Copy)]
struct Pulling<'a> {
    feed: &'a Feed,
    index: usize,
    state: &'a Option<FeedState>,
    options: &'a PullOptions,
}

/// The reader options of a feed's pull: its defaults, seen now.
fn reader_options(feed: &Feed, now: DateTime<Utc>) -> Options {
    let mut defaults = Defaults::new(feed.name.clone());
    defaults.score = feed.score;
    defaults.tags = feed.tags.clone();
    defaults.class = feed.class;
    defaults.now = now;
    Options::new(defaults)
}

/// Reads one pull's records into its transaction with `read`; `counts` gets what they gave
/// (also when reading failed half-way), and the transaction ends with what
/// `finish(counts)` says.
fn transaction(
    library: &mut Library,
    pulling: Pulling<'_>,
    counts: &mut Counts,
    problems: &mut dyn Problems,
    read: impl FnOnce(
        &mut Batcher<Box<dyn PullWriter + '_>>,
        &mut dyn Problems,
    ) -> Result<(Validators, Option<String>), Error>,
) -> Result<PullReport, Error> {
    let Pulling {
        feed,
        state,
        options,
        ..
    } = pulling;
    let mut batcher = Batcher::new(library.begin_pull(&feed.name, options.now)?, false);
    let read = read(&mut batcher, problems);
    *counts = batcher.counts.clone();
    let (validators, cursor) = read?;
    let finish = finish(feed, state.as_ref(), options, counts, validators, cursor);
    let writer = batcher.into_sink(problems)?;
    Ok(writer.finish(finish)?)
}

/// How a pull that read `counts` ends: the feed's mode and checks, the download's
/// validators, the cursor to save.
fn finish(
    feed: &Feed,
    state: Option<&FeedState>,
    options: &PullOptions,
    counts: &Counts,
    validators: Validators,
    cursor: Option<String>,
) -> Finish {
    Finish {
        mode: feed.mode,
        checks: checks(
            feed,
            state,
            validators.content_hash.as_deref(),
            options.accept,
        ),
        records: counts.read,
        invalid: counts.invalid,
        validators,
        cursor,
        expire_after: expire_after(feed),
    }
}

/// The sanity checks of a pull, or none when a person accepted this very download.
fn checks(
    feed: &Feed,
    state: Option<&FeedState>,
    hash: Option<&str>,
    accept: bool,
) -> Option<Checks> {
    let held = state.and_then(|s| s.held_hash.as_deref());
    if accept && (held.is_none() || held == hash) {
        return None;
    }
    Some(Checks {
        min_ratio: feed.min_ratio,
        max_invalid: feed.max_invalid,
    })
}

/// One feed as `iocsync feeds` shows it.
#[derive(Debug, Serialize)]
pub struct FeedView {
    pub name: String,
    pub mode: store::FeedMode,
    pub schedule: Option<String>,
    /// Never pulled: `None`.
    pub state: Option<FeedState>,
    pub age_seconds: Option<i64>,
    pub next_pull: Option<DateTime<Utc>>,
}

/// Every configured feed with what the library remembers of it, as of `now`.
pub fn views(
    config: &Config,
    library: &store::Library,
    now: DateTime<Utc>,
) -> Result<Vec<FeedView>, Error> {
    config
        .feeds
        .iter()
        .map(|feed| {
            let state = library.feed_state(&feed.name)?;
            let next_pull = feed.schedule.as_ref().and_then(|schedule| {
                let timetable = Timetable::new(&feed.name, schedule).ok()?;
                match &state {
                    Some(state) => timetable.next_after(state.last_pull).map(|t| t.max(now)),
                    None => Some(now),
                }
            });
            Ok(FeedView {
                name: feed.name.clone(),
                mode: feed.mode,
                schedule: feed.schedule.as_ref().map(ToString::to_string),
                age_seconds: state.as_ref().map(|s| (now - s.last_pull).num_seconds()),
                state,
                next_pull,
            })
        })
        .collect()
}

// --- files and URLs ---------------------------------------------------------------------------

/// A feed's bytes, copied aside, with what identifies them.
struct Spooled {
    file: File,
    validators: Validators,
    /// The first bytes, for format detection.
    head: Vec<u8>,
}

/// What fetching a feed gave.
enum Fetched {
    NotModified,
    Spooled(Spooled),
}

fn pull_download(
    library: &mut Library,
    pulling: Pulling<'_>,
    counts: &mut Counts,
    problems: &mut dyn Problems,
) -> Result<PullReport, Error> {
    let Pulling {
        feed,
        index,
        state,
        options,
    } = pulling;
    let held = state.as_ref().and_then(|s| s.held_hash.as_deref());
    let kept = if options.accept {
        kept_copy(feed, options, held)?
    } else {
        None
    };
    let fetched = match kept {
        Some(spooled) => Fetched::Spooled(spooled),
        None => fetch(feed, index, state.as_ref())?,
    };
    let spooled = match fetched {
        Fetched::NotModified => {
            return record(
                library,
                feed,
                Outcome::Unchanged,
                Some("HTTP 304".into()),
                options.now,
            );
        }
        Fetched::Spooled(spooled) => spooled,
    };
    let hash = spooled.validators.content_hash.clone();
    // After a held pull, the same bytes as the snapshot in force are read and applied rather
    // than called unchanged: that clears the hold (and its kept copy) once the feed recovers.
    let in_force = state
        .as_ref()
        .filter(|s| {
            matches!(
                s.outcome,
                Outcome::Applied | Outcome::Unchanged | Outcome::Failed
            )
        })
        .and_then(|s| s.validators.content_hash.as_deref());
    if hash.is_some() && in_force == hash.as_deref() {
        return record(
            library,
            feed,
            Outcome::Unchanged,
            Some("same content".into()),
            options.now,
        );
    }
    let format = format_of(feed, &spooled.head);
    let origin = origin(feed);
    let reader_options = reader_options(feed, options.now);
    // A second handle on the copy, to keep it if the pull is held.
    let mut copy = spooled.file.try_clone().map_err(Error::SpoolReopen)?;
    let length = spooled.file.metadata().ok().map(|m| m.len());
    let mut report = transaction(library, pulling, counts, problems, |batcher, problems| {
        let body = problems.reading(&origin, length, Box::new(spooled.file));
        let read = read::in_parallel(
            format,
            &origin,
            BufReader::new(body),
            reader_options,
            batcher,
            problems,
        );
        problems.done();
        read.map(|()| (spooled.validators, None))
    })?;
    if let Some(path) = options.held_copy(&feed.name) {
        if report.outcome == Outcome::Held {
            keep(&mut copy, &path)?;
            let reason = report.reason.take().unwrap_or_default();
            report.reason = Some(format!(
                "{reason}; the download is kept at {}",
                path.display()
            ));
        } else if path.exists() {
            // Applied (accepted, or the feed recovered): the held copy is history.
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(report)
}

/// Keeps a held download's copy at `path` for a person to look at (written aside, then
/// renamed, so a half-written copy is never taken for the held one).
fn keep(copy: &mut File, path: &Path) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::HeldDir {
        dir: dir.to_owned(),
        source,
    })?;
    let mut aside = tempfile::NamedTempFile::new_in(dir).map_err(|source| Error::HeldWrite {
        dir: dir.to_owned(),
        source,
    })?;
    let kept = |source: Box<dyn std::error::Error + Send + Sync>| Error::HeldKeep {
        path: path.to_owned(),
        source,
    };
    copy.rewind()
        .and_then(|()| io::copy(copy, &mut aside).map(drop))
        .map_err(|error| kept(error.into()))?;
    aside.persist(path).map_err(|error| kept(error.into()))?;
    Ok(())
}

/// The kept copy of the held download, when it is still the one held (its hash says so).
fn kept_copy(
    feed: &Feed,
    options: &PullOptions,
    held: Option<&str>,
) -> Result<Option<Spooled>, Error> {
    let (Some(path), Some(held)) = (options.held_copy(&feed.name), held) else {
        return Ok(None);
    };
    let Ok(file) = File::open(&path) else {
        return Ok(None);
    };
    let spooled = spool(file, feed.max_bytes, Validators::default())?;
    Ok((spooled.validators.content_hash.as_deref() == Some(held)).then_some(spooled))
}

/// The name problems carry: the file, or the URL without its query.
fn origin(feed: &Feed) -> String {
    match &feed.location {
        Location::File(path) => path.display().to_string(),
        Location::Url(url) => {
            let mut shown = url.clone();
            shown.set_query(None);
            shown.to_string()
        }
    }
}

fn format_of(feed: &Feed, head: &[u8]) -> Format {
    match feed.format {
        FeedFormat::Text => Format::Text,
        FeedFormat::Csv => Format::Csv,
        FeedFormat::Jsonl => Format::Jsonl,
        FeedFormat::Stix | FeedFormat::Taxii => Format::Stix,
        FeedFormat::Misp | FeedFormat::MispApi => Format::Misp,
        FeedFormat::Auto => feeds::detect(&origin(feed), head, &feeds::Columns::default()),
    }
}

fn fetch(feed: &Feed, index: usize, state: Option<&FeedState>) -> Result<Fetched, Error> {
    match &feed.location {
        Location::File(path) => {
            let file = File::open(path).map_err(|source| Error::OpenFeed {
                path: path.clone(),
                source,
            })?;
            spool(file, feed.max_bytes, Validators::default()).map(Fetched::Spooled)
        }
        Location::Url(url) => fetch_url(feed, index, url, state),
    }
}

fn fetch_url(
    feed: &Feed,
    index: usize,
    url: &url::Url,
    state: Option<&FeedState>,
) -> Result<Fetched, Error> {
    use feeds::fetch::{self, Fetched as Answer, Request};
    let in_force = state.map(|s| &s.validators);
    let request = Request {
        url: url.to_string(),
        headers: feed.resolve_headers(index)?,
        auth: fetch_auth(feed, index)?,
        etag: in_force.and_then(|v| v.etag.clone()),
        last_modified: in_force.and_then(|v| v.last_modified.clone()),
        max_bytes: feed.max_bytes,
        transport: transport(feed),
    };
    match fetch::fetch(&request)? {
        Answer::NotModified => Ok(Fetched::NotModified),
        Answer::Body(download) => {
            let validators = Validators {
                etag: download.etag,
                last_modified: download.last_modified,
                content_hash: None,
            };
            spool(download.body, feed.max_bytes, validators).map(Fetched::Spooled)
        }
    }
}

/// The TLS, CA and proxy settings of a feed.
fn transport(feed: &Feed) -> feeds::fetch::Transport {
    feeds::fetch::Transport {
        verify_tls: feed.verify_tls,
        ca_file: feed.ca_file.clone(),
        proxy: feed.proxy.clone(),
        ..feeds::fetch::Transport::default()
    }
}

/// The feed's `bearer` or `basic_*` credentials, resolved.
fn fetch_auth(feed: &Feed, index: usize) -> Result<feeds::fetch::Auth, Error> {
    use feeds::fetch::Auth;
    let secret = feed.resolve_secret(index)?;
    Ok(match (&feed.auth, secret) {
        (config::FeedAuth::Bearer(_), Some(token)) => Auth::Bearer(token),
        (config::FeedAuth::Basic { user, .. }, Some(password)) => Auth::Basic {
            username: user.clone(),
            password,
        },
        _ => Auth::None,
    })
}

/// Copies `body` to a temporary file (at most `max_bytes`), hashing it on the way.
fn spool(
    mut body: impl Read,
    max_bytes: u64,
    mut validators: Validators,
) -> Result<Spooled, Error> {
    let mut file = tempfile::tempfile().map_err(Error::SpoolCreate)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut total: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Error::BrokeOff(error)),
        };
        total += n as u64;
        if total > max_bytes {
            return Err(Error::TooLarge { max_bytes });
        }
        if head.len() < 4096 {
            head.extend_from_slice(&buffer[..n.min(4096 - head.len())]);
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n]).map_err(Error::SpoolWrite)?;
    }
    file.rewind().map_err(Error::SpoolRewind)?;
    validators.content_hash = Some(hex(&hasher.finalize()));
    Ok(Spooled {
        file,
        validators,
        head,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// --- TAXII ------------------------------------------------------------------------------------

fn pull_taxii(
    library: &mut Library,
    pulling: Pulling<'_>,
    counts: &mut Counts,
    problems: &mut dyn Problems,
) -> Result<PullReport, Error> {
    let Pulling {
        feed,
        index,
        state,
        options,
    } = pulling;
    let Location::Url(url) = &feed.location else {
        return Err(Error::TaxiiFeedUrl);
    };
    let feeds::taxii::Target::Collection(collection) = feeds::taxii::Target::parse(url.as_str())?
    else {
        return Err(Error::TaxiiFeedServer);
    };
    let client = feeds::taxii::Client::new(fetch_auth(feed, index)?)?;
    let runtime = read::runtime()?;
    let defaults = reader_options(feed, options.now).defaults;
    let added_after = state.as_ref().and_then(|s| s.cursor.clone());
    transaction(library, pulling, counts, problems, |batcher, problems| {
        let poll = Poll {
            runtime: &runtime,
            client: &client,
            collection: &collection,
            added_after,
            page_size: None,
            defaults: &defaults,
        };
        let cursor = read::poll_collection(poll, batcher, problems)?;
        Ok((Validators::default(), cursor))
    })
}

// --- MISP ---------------------------------------------------------------------------------------

fn pull_misp(
    library: &mut Library,
    pulling: Pulling<'_>,
    counts: &mut Counts,
    problems: &mut dyn Problems,
) -> Result<PullReport, Error> {
    let Pulling {
        feed,
        index,
        state,
        options,
    } = pulling;
    let Location::Url(url) = &feed.location else {
        return Err(Error::MispFeedUrl);
    };
    let client =
        feeds::misp_api::Client::new(url.as_str(), misp_key(feed, index)?, &transport(feed))?;
    let query = feeds::misp_api::Query {
        to_ids: Some(feed.misp.to_ids),
        published: Some(feed.misp.published),
        tags: feed.misp.tags.clone(),
        ..feeds::misp_api::Query::default()
    };
    let since = state
        .as_ref()
        .and_then(|s| s.cursor.as_deref())
        .and_then(|c| c.parse::<i64>().ok());
    let reader_options = reader_options(feed, options.now);
    let origin = origin(feed);
    transaction(library, pulling, counts, problems, |batcher, problems| {
        let mut poll = client.poll(query, since);
        while let Some(page) = poll.next_page(&origin, &reader_options)? {
            batcher.counts.read += page.attributes;
            for record in page.records {
                batcher.record(record, problems)?;
            }
        }
        let cursor = poll.cursor().map(|c| c.to_string());
        Ok((Validators::default(), cursor))
    })
}

/// MISP's API key: the `Authorization` header's reference (as MISP names it), or `bearer`.
fn misp_key(feed: &Feed, index: usize) -> Result<secrecy::SecretString, Error> {
    let headers = feed.resolve_headers(index)?;
    if let Some((_, key)) = headers
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
    {
        return Ok(key);
    }
    feed.resolve_secret(index)?.ok_or(Error::MispKey { index })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(outcome: Outcome, new: u64, withdrawn: u64) -> PullSummary {
        PullSummary {
            feed: "f".into(),
            outcome,
            reason: None,
            listed: 0,
            new,
            withdrawn,
            previous: 0,
            records: 0,
            invalid: 0,
            skipped: 0,
            problems: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn expiry_during_an_unchanged_or_failed_pull_is_a_change_workflows_follow() {
        assert!(summary(Outcome::Applied, 1, 0).changed());
        assert!(summary(Outcome::Unchanged, 0, 2).changed());
        assert!(summary(Outcome::Failed, 0, 2).changed());
        assert!(!summary(Outcome::Unchanged, 0, 0).changed());
        assert!(!summary(Outcome::Held, 0, 0).changed());
    }
}
