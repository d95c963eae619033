//! The MISP REST API as a feed: `POST /attributes/restSearch` with a JSON filter, answered
//! with `{"response": {"Attribute": [{..., "Event": {...}, "Tag": [...]}, ...]}}`.
//!
//! [`Client`] pages through the search (`limit`/`page` until a page comes back short) and
//! reads each answer as it streams in, one attribute at a time, with the attribute rules of
//! [`misp`](crate::misp): `to_ids`, composite types, tags (the event's, with
//! `includeEventTags`, and the attribute's), `timestamp` → the feed's own date, and the
//! `threat_level_id` of the attribute's `Event` (when MISP includes it) → a score when the
//! feed has none. A saved answer reads the same way through [`Format::MispApi`](crate::Format).
//!
//! The client never stores anything: [`Poll::cursor`] is the largest attribute `timestamp` it
//! has seen, and the caller saves it once the sightings are committed, then passes it as
//! `since` next time (MISP's `timestamp` filter keeps attributes changed at or after it, so
//! the newest ones are read again, harmlessly). The API key is a [`SecretString`], sent only
//! as a sensitive `Authorization` header and never put in messages.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::fetch::{Bounded, FetchError, Transport, check_url, redact, secret_value};
use crate::json::{self, Object};
use crate::json_split::{Element, MAX_ELEMENT, Splitter};
use crate::misp::{event_context, push_attribute, timestamp};
use crate::{FeedError, FeedReader, Location, Options, Record, Source};

/// Where the attributes of a restSearch answer are (also accepted without the `response`).
const WANTED: &[&str] = &["response.Attribute", "Attribute"];

pub(crate) fn reader<'a>(
    input: impl BufRead + 'a,
    origin: Arc<str>,
    options: Options,
) -> FeedReader<'a> {
    FeedReader::new(ApiSource::new(input, origin, options))
}

/// Reads a restSearch answer attribute by attribute, noting the newest timestamp.
struct ApiSource<R> {
    splitter: Splitter<R>,
    origin: Arc<str>,
    options: Options,
    /// The largest attribute `timestamp` read (epoch seconds).
    newest: Option<i64>,
    /// The first attribute's `uuid` (or `id`), to notice a server that ignores `page`.
    first_id: Option<String>,
}

impl<R: BufRead> ApiSource<R> {
    fn new(input: R, origin: Arc<str>, options: Options) -> Self {
        Self {
            splitter: Splitter::new(input, WANTED),
            origin,
            options,
            newest: None,
            first_id: None,
        }
    }

    fn problem(&self, location: Location, reason: String) -> Record {
        Err(FeedError::invalid(&self.origin, location, reason))
    }

    fn element(&mut self, element: Element, out: &mut VecDeque<Record>) {
        let location = Location::Line(element.line);
        let bytes = match element.bytes {
            Ok(bytes) => bytes,
            Err(size) => {
                let reason =
                    format!("attribute of {size} bytes is larger than the {MAX_ELEMENT} allowed");
                return out.push_back(self.problem(location, reason));
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(attribute)) => self.attribute(&attribute, element.line, out),
            Ok(other) => {
                let reason = format!(
                    "expected a MISP attribute object, found {}",
                    json::type_name(&other)
                );
                out.push_back(self.problem(location, reason));
            }
            Err(err) => {
                let line = element.line + err.line().saturating_sub(1) as u64;
                out.push_back(self.problem(Location::Line(line), format!("not valid JSON: {err}")));
            }
        }
    }

    fn attribute(&mut self, attribute: &Object, line: u64, out: &mut VecDeque<Record>) {
        let id = attribute
            .get("uuid")
            .or_else(|| attribute.get("id"))
            .and_then(Value::as_str);
        if self.first_id.is_none() {
            self.first_id = id.map(str::to_owned);
        }
        if let Ok(Some(time)) = timestamp(attribute) {
            self.newest = self.newest.max(Some(time.timestamp()));
        }
        let location = Location::Object {
            id: format!("attribute {}", id.unwrap_or("(attribute without a uuid)")),
            line: Some(line),
        };
        let empty = Object::new();
        let event = match attribute.get("Event") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(event)) => event,
            Some(other) => {
                let reason = format!(
                    "`Event` should be an object, found {}",
                    json::type_name(other)
                );
                return out.push_back(self.problem(location, reason));
            }
        };
        match event_context(event, line, &self.options.defaults) {
            Ok(context) => push_attribute(
                attribute,
                &context,
                &self.origin,
                &self.options.defaults,
                out,
            ),
            Err(reason) => out.push_back(self.problem(location, format!("its `Event`: {reason}"))),
        }
    }
}

impl<R: BufRead> Source for ApiSource<R> {
    fn fill(&mut self, out: &mut VecDeque<Record>) -> Option<u64> {
        match self.splitter.next_element() {
            Ok(Some(element)) => {
                self.element(element, out);
                Some(1)
            }
            Ok(None) => None,
            Err(err) => {
                out.push_back(self.problem(
                    Location::Document,
                    format!("not a readable MISP restSearch answer: {err}"),
                ));
                None
            }
        }
    }
}

/// Why talking to MISP failed.
#[derive(Debug, thiserror::Error)]
pub enum MispApiError {
    #[error("`{0}` is not a MISP URL: {1}")]
    BadUrl(String, &'static str),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("POST {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{url}: MISP refused the API key (HTTP {status}); check the key and that its user may search attributes"
    )]
    Unauthorized { url: String, status: u16 },
    #[error("{url}: HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: page {page}: {reason}")]
    Answer {
        url: String,
        page: u32,
        reason: String,
    },
    #[error(
        "{url}: page {page} starts with the same attribute as page {previous}; the server seems to ignore `page`"
    )]
    Stuck {
        url: String,
        page: u32,
        previous: u32,
    },
}

/// What to search for. [`Query::default`] asks for attributes marked for detection in
/// published events, 1000 a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Only attributes marked "for IDS" (`to_ids`); `None` sends no filter.
    pub to_ids: Option<bool>,
    /// Only attributes of published events; `None` sends no filter.
    pub published: Option<bool>,
    /// Only attributes with (or in events with) one of these tags; empty sends no filter.
    pub tags: Vec<String>,
    /// Attributes per page.
    pub limit: u32,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            to_ids: Some(true),
            published: Some(true),
            tags: Vec::new(),
            limit: 1000,
        }
    }
}

impl Query {
    /// The restSearch body for page `page` of attributes changed at or after `since`.
    fn body(&self, since: Option<i64>, page: u32) -> Value {
        let mut body = json!({
            "returnFormat": "json",
            "limit": self.limit,
            "page": page,
            "includeEventTags": true,
        });
        let mut set = |key: &str, value: Value| {
            if let Value::Object(map) = &mut body {
                map.insert(key.to_owned(), value);
            }
        };
        if let Some(to_ids) = self.to_ids {
            set("to_ids", json!(to_ids));
        }
        if let Some(published) = self.published {
            set("published", json!(published));
        }
        if !self.tags.is_empty() {
            set("tags", json!(self.tags));
        }
        if let Some(since) = since {
            set("timestamp", json!(since));
        }
        body
    }
}

/// The largest answer page read, in bytes, unless [`Client::max_page_bytes`] says otherwise.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 256 * 1024 * 1024;

/// A blocking MISP client with one API key.
pub struct Client {
    endpoint: Url,
    key: SecretString,
    http: reqwest::blocking::Client,
    /// Bytes read at most from one answer page.
    pub max_page_bytes: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint.as_str())
            .field("key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the MISP at `base_url` (`https://misp.example`, or with a path prefix).
    pub fn new(
        base_url: &str,
        key: SecretString,
        transport: &Transport,
    ) -> Result<Self, MispApiError> {
        let base = check_url(base_url).map_err(|err| match err {
            FetchError::Credentials => MispApiError::BadUrl(
                redact(base_url),
                "credentials must not be in the URL; give the API key as a secret",
            ),
            other => MispApiError::Fetch(other),
        })?;
        let mut endpoint = base.clone();
        let path = format!(
            "{}/attributes/restSearch",
            base.path().trim_end_matches('/')
        );
        endpoint.set_path(&path);
        Ok(Self {
            endpoint,
            key,
            // Redirects stay on MISP's origin: the key goes with every request.
            http: transport.client(true)?,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
        })
    }

    /// A poll of attributes matching `query` changed at or after `since` (a saved
    /// [`Poll::cursor`]; `None` for everything).
    pub fn poll(&self, query: Query, since: Option<i64>) -> Poll<'_> {
        Poll {
            client: self,
            query,
            since,
            page: 0,
            cursor: since,
            first_id: None,
            done: false,
        }
    }

    /// Sends one restSearch and reads its answer as it streams in.
    fn search(
        &self,
        body: &Value,
        page: u32,
        origin: &Arc<str>,
        options: &Options,
    ) -> Result<Read, MispApiError> {
        let url = self.endpoint.to_string();
        let request_error = |source| MispApiError::Request {
            url: url.clone(),
            source,
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(
                reqwest::header::AUTHORIZATION,
                secret_value("Authorization", self.key.expose_secret())?,
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .map_err(request_error)?;
        check_status(&url, response)
            .map(|response| read_page(response, self.max_page_bytes, origin, options))?
            .map_err(|reason| MispApiError::Answer { url, page, reason })
    }
}

/// What one answer page gave.
struct Read {
    records: Vec<Record>,
    attributes: u64,
    newest: Option<i64>,
    first_id: Option<String>,
}

fn check_status(
    url: &str,
    response: reqwest::blocking::Response,
) -> Result<reqwest::blocking::Response, MispApiError> {
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(response),
        401 | 403 => Err(MispApiError::Unauthorized {
            url: url.to_owned(),
            status,
        }),
        _ => Err(MispApiError::Status {
            url: url.to_owned(),
            status,
            detail: error_detail(response),
        }),
    }
}

/// `: message` from a MISP error answer (`{"name": ..., "message": ..., "url": ...}`).
fn error_detail(response: reqwest::blocking::Response) -> String {
    let mut body = Vec::new();
    // Only the start of an error page is worth reading.
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response, 64 * 1024), &mut body);
    serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(Value::as_str)
                .map(crate::fields::shorten)
        })
        .map_or_else(String::new, |message| format!(": {message}"))
}

/// Reads one answer; a document that cannot be read to its end is an error (its cursor
/// could skip what was never read).
fn read_page(
    response: reqwest::blocking::Response,
    max_bytes: u64,
    origin: &Arc<str>,
    options: &Options,
) -> Result<Read, String> {
    let body = BufReader::new(Bounded::new(response, max_bytes));
    let mut source = ApiSource::new(body, Arc::clone(origin), options.clone());
    let mut out = VecDeque::new();
    let mut attributes = 0;
    while let Some(read) = source.fill(&mut out) {
        attributes += read;
    }
    if let Some(Err(broken)) = out.iter().find(|r| {
        matches!(
            r,
            Err(FeedError {
                location: Location::Document,
                ..
            })
        )
    }) {
        return Err(broken.reason.clone());
    }
    Ok(Read {
        records: out.into(),
        attributes,
        newest: source.newest,
        first_id: source.first_id,
    })
}

/// One page of a [`Poll`].
#[derive(Debug)]
pub struct Page {
    /// 1-based.
    pub number: u32,
    /// Sightings and per-attribute problems, in answer order.
    pub records: Vec<Record>,
    /// Attributes on the page (some give no sighting, some two).
    pub attributes: u64,
}

/// An incremental search, page by page.
pub struct Poll<'a> {
    client: &'a Client,
    query: Query,
    since: Option<i64>,
    page: u32,
    cursor: Option<i64>,
    first_id: Option<String>,
    done: bool,
}

impl Poll<'_> {
    /// The next page, `None` once a page came back shorter than the query's `limit`.
    /// `origin` names the feed in problems; `options` are the feed's defaults.
    pub fn next_page(
        &mut self,
        origin: &str,
        options: &Options,
    ) -> Result<Option<Page>, MispApiError> {
        if self.done {
            return Ok(None);
        }
        let number = self.page + 1;
        let body = self.query.body(self.since, number);
        let origin: Arc<str> = Arc::from(origin);
        let read = self.client.search(&body, number, &origin, options)?;
        if read.first_id.is_some() && read.first_id == self.first_id {
            self.done = true;
            return Err(MispApiError::Stuck {
                url: self.client.endpoint.to_string(),
                page: number,
                previous: self.page,
            });
        }
        self.page = number;
        self.first_id = read.first_id;
        self.cursor = self.cursor.max(read.newest);
        self.done = read.attributes < u64::from(self.query.limit.max(1));
        Ok(Some(Page {
            number,
            records: read.records,
            attributes: read.attributes,
        }))
    }

    /// The largest attribute `timestamp` seen so far (or the `since` it started from): the
    /// `since` of the next poll, to save once this poll's sightings are committed.
    pub fn cursor(&self) -> Option<i64> {
        self.cursor
    }
}
