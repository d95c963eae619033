//! A TAXII 2.1 client for polling a collection as a feed: server discovery, collection
//! listing, and the objects endpoint with `added_after`, paging through `more`/`next` (or,
//! for servers without `next`, by moving `added_after` to `X-TAXII-Date-Added-Last`).
//!
//! The client never stores anything: [`Poll`] reports the newest `X-TAXII-Date-Added-Last` it
//! has seen as its [`cursor`](Poll::cursor), and the caller saves it once the objects are
//! committed to the library. Passing the saved cursor as `added_after` on the next poll makes
//! polling incremental. Credentials are [`SecretString`](secrecy::SecretString)s, sent only as the `Authorization`
//! header and never put in messages.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, HeaderMap};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::fetch::redact;
use crate::{Defaults, Record};

/// The TAXII 2.1 media type, sent in `Accept`.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// Objects per page asked for when the caller does not say. Always sending a `limit` keeps
/// paging by `next` working on servers that expect it on every request (medallion does).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Prefix marking a TAXII collection on the command line (`taxii+https://…`).
pub const URL_PREFIX: &str = "taxii+";

/// Checks an `added_after` given by a person: TAXII wants an RFC 3339 timestamp.
pub fn check_added_after(text: &str) -> Result<String, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|_| text.to_owned())
        .map_err(|err| format!("not an RFC 3339 time ({err}), e.g. 2026-01-31T00:00:00Z"))
}

pub use crate::fetch::Auth;

/// Why talking to a TAXII server failed.
#[derive(Debug, thiserror::Error)]
pub enum TaxiiError {
    #[error("`{0}` is not a TAXII URL: {1}")]
    BadUrl(String, &'static str),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("GET {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "{url}: the server refused the credentials (HTTP {status}); set IOCSYNC_TAXII_TOKEN or IOCSYNC_TAXII_USER and IOCSYNC_TAXII_PASSWORD"
    )]
    Unauthorized { url: String, status: u16 },
    #[error("{url}: not found (HTTP 404); check the API root and collection id")]
    NotFound { url: String },
    #[error("{url}: HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: the answer is not a TAXII 2.1 {what}: {reason}")]
    Answer {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error("the server keeps saying there is more without sending it ({reason})")]
    Stuck { reason: &'static str },
}

/// A collection to poll: its API root (ending in `/`) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionUrl {
    pub api_root: Url,
    pub id: String,
}

/// What a `taxii+https://…` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `…/api-root/collections/ID/`: a collection to poll.
    Collection(CollectionUrl),
    /// Any other URL: a server (or API root) whose collections can be listed.
    Server(Url),
}

impl Target {
    /// Parses `taxii+https://host/api-root/collections/ID/` (the trailing `/` is optional;
    /// `taxii+http://` is accepted for local servers). Without `/collections/ID` the URL names
    /// a server to discover.
    pub fn parse(spec: &str) -> Result<Self, TaxiiError> {
        let bad = |why| TaxiiError::BadUrl(redact(spec), why);
        let rest = spec
            .strip_prefix(URL_PREFIX)
            .ok_or_else(|| bad("it must start with taxii+https://"))?;
        let url = Url::parse(rest).map_err(|_| bad("the part after taxii+ is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(
                "use taxii+https:// (or taxii+http:// for a local server)",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials must not be in the URL; set IOCSYNC_TAXII_TOKEN or IOCSYNC_TAXII_USER and IOCSYNC_TAXII_PASSWORD",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a query or fragment"));
        }
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|seg| !seg.is_empty()).collect())
            .unwrap_or_default();
        match segments.as_slice() {
            [root @ .., "collections", id] if !root.is_empty() => {
                let mut api_root = url.clone();
                api_root.set_path(&format!("/{}/", root.join("/")));
                Ok(Target::Collection(CollectionUrl {
                    api_root,
                    id: (*id).to_owned(),
                }))
            }
            _ => Ok(Target::Server(url)),
        }
    }
}

impl CollectionUrl {
    /// The objects endpoint.
    fn objects_url(&self) -> Result<Url, TaxiiError> {
        self.join(&format!("collections/{}/objects/", self.id))
    }

    fn info_url(&self) -> Result<Url, TaxiiError> {
        self.join(&format!("collections/{}/", self.id))
    }

    fn join(&self, path: &str) -> Result<Url, TaxiiError> {
        self.api_root.join(path).map_err(|_| {
            TaxiiError::BadUrl(self.to_string(), "the collection id does not fit in a URL")
        })
    }

    /// The key the collection's cursor is saved under in the library.
    pub fn cursor_key(&self) -> String {
        format!("taxii:{}collections/{}/", self.api_root, self.id)
    }
}

impl fmt::Display for CollectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{URL_PREFIX}{}collections/{}/", self.api_root, self.id)
    }
}

/// A server's discovery resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub api_roots: Vec<String>,
}

/// An API root's information resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiRoot {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Media types of the TAXII versions the root speaks.
    #[serde(default)]
    pub versions: Vec<String>,
}

impl ApiRoot {
    /// Whether the root speaks TAXII 2.1 (the only version this client knows).
    pub fn speaks_taxii_21(&self) -> bool {
        self.versions
            .iter()
            .any(|v| v.replace(' ', "").eq_ignore_ascii_case(MEDIA_TYPE))
    }
}

/// A collection as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CollectionInfo {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub can_read: bool,
    #[serde(default)]
    pub can_write: bool,
}

#[derive(Debug, Deserialize)]
struct Collections {
    #[serde(default)]
    collections: Vec<CollectionInfo>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    objects: Vec<Value>,
}

/// One page of objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub objects: Vec<Value>,
    pub more: bool,
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-Last`: when the last object of the page was added.
    pub date_added_last: Option<String>,
}

impl Page {
    /// The sightings and problems the page's objects give, and how many records they were.
    /// Problems are located by object id under `origin`.
    pub fn records(&self, origin: &Arc<str>, defaults: &Defaults) -> (Vec<Record>, u64) {
        let mut out = VecDeque::new();
        let read = self
            .objects
            .iter()
            .map(|object| crate::stix::object_records(object, origin, None, defaults, &mut out))
            .sum();
        (out.into(), read)
    }
}

/// A TAXII 2.1 client with one set of credentials.
pub struct Client {
    http: reqwest::Client,
    auth: Auth,
}

impl Client {
    pub fn new(auth: Auth) -> Result<Self, TaxiiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("iocsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(TaxiiError::Client)?;
        Ok(Self { http, auth })
    }

    /// `GET {server}/taxii2/` (or the URL itself when it already ends in `/taxii2/`).
    pub async fn discovery(&self, server: &Url) -> Result<Discovery, TaxiiError> {
        let url = if server.path().trim_end_matches('/').ends_with("/taxii2") {
            server.clone()
        } else {
            server
                .join("/taxii2/")
                .map_err(|_| TaxiiError::BadUrl(server.to_string(), "cannot add /taxii2/ to it"))?
        };
        let (body, _) = self.get(&url).await?;
        parse_answer(&url, &body, "discovery resource")
    }

    /// `GET {api_root}` (the API root's information).
    pub async fn api_root(&self, api_root: &Url) -> Result<ApiRoot, TaxiiError> {
        let (body, _) = self.get(api_root).await?;
        parse_answer(api_root, &body, "API root information")
    }

    /// `GET {api_root}/collections/`.
    pub async fn collections(&self, api_root: &Url) -> Result<Vec<CollectionInfo>, TaxiiError> {
        let url = api_root.join("collections/").map_err(|_| {
            TaxiiError::BadUrl(api_root.to_string(), "cannot add collections/ to it")
        })?;
        let (body, _) = self.get(&url).await?;
        Ok(parse_answer::<Collections>(&url, &body, "collections resource")?.collections)
    }

    /// `GET {api_root}/collections/{id}/`.
    pub async fn collection(&self, target: &CollectionUrl) -> Result<CollectionInfo, TaxiiError> {
        let url = target.info_url()?;
        let (body, _) = self.get(&url).await?;
        parse_answer(&url, &body, "collection resource")
    }

    /// One request to the objects endpoint.
    pub async fn objects(
        &self,
        target: &CollectionUrl,
        added_after: Option<&str>,
        next: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page, TaxiiError> {
        let mut url = target.objects_url()?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(added_after) = added_after {
                query.append_pair("added_after", added_after);
            }
            if let Some(next) = next {
                query.append_pair("next", next);
            }
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
        }
        let (body, headers) = self.get(&url).await?;
        let envelope: Envelope = if body.iter().all(u8::is_ascii_whitespace) {
            // An empty body (some servers answer 200 with nothing when there is nothing new).
            Envelope {
                more: false,
                next: None,
                objects: Vec::new(),
            }
        } else {
            parse_answer(&url, &body, "envelope")?
        };
        let date_added_last = headers
            .get("X-TAXII-Date-Added-Last")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Page {
            objects: envelope.objects,
            more: envelope.more,
            next: envelope.next.filter(|n| !n.is_empty()),
            date_added_last,
        })
    }

    /// Pages through the objects added after `added_after` (all of them when `None`),
    /// `limit` objects a page ([`DEFAULT_PAGE_SIZE`] when `None`).
    pub fn poll<'a>(
        &'a self,
        target: &'a CollectionUrl,
        added_after: Option<String>,
        limit: Option<u32>,
    ) -> Poll<'a> {
        Poll {
            client: self,
            target,
            added_after,
            next: None,
            limit: limit.unwrap_or(DEFAULT_PAGE_SIZE),
            cursor: None,
            empty_pages: 0,
            done: false,
        }
    }

    async fn get(&self, url: &Url) -> Result<(Vec<u8>, HeaderMap), TaxiiError> {
        let request_error = |source| TaxiiError::Request {
            url: url.to_string(),
            source,
        };
        let mut request = self.http.get(url.clone()).header(ACCEPT, MEDIA_TYPE);
        request = match &self.auth {
            Auth::None => request,
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
            Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
        };
        let response = request.send().await.map_err(request_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(request_error)?.to_vec();
        match status {
            200..=299 => Ok((body, headers)),
            401 | 403 => Err(TaxiiError::Unauthorized {
                url: url.to_string(),
                status,
            }),
            404 => Err(TaxiiError::NotFound {
                url: url.to_string(),
            }),
            _ => Err(TaxiiError::Status {
                url: url.to_string(),
                status,
                detail: error_detail(&body),
            }),
        }
    }
}

fn parse_answer<T: serde::de::DeserializeOwned>(
    url: &Url,
    body: &[u8],
    what: &'static str,
) -> Result<T, TaxiiError> {
    serde_json::from_slice(body).map_err(|err| TaxiiError::Answer {
        url: url.to_string(),
        what,
        reason: err.to_string(),
    })
}

/// The `title` and `description` of a TAXII error message, when the body is one.
fn error_detail(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorMessage {
        title: String,
        #[serde(default)]
        description: Option<String>,
    }
    match serde_json::from_slice::<ErrorMessage>(body) {
        Ok(ErrorMessage {
            title,
            description: Some(description),
        }) => format!(": {title}: {description}"),
        Ok(ErrorMessage { title, .. }) => format!(": {title}"),
        Err(_) => String::new(),
    }
}

/// An incremental poll of one collection, page by page.
pub struct Poll<'a> {
    client: &'a Client,
    target: &'a CollectionUrl,
    added_after: Option<String>,
    next: Option<String>,
    limit: u32,
    cursor: Option<(DateTime<Utc>, String)>,
    /// Consecutive pages marked `more` that held no object.
    empty_pages: u32,
    done: bool,
}

/// Empty pages marked `more` in a row after which a poll gives up.
const MAX_EMPTY_PAGES: u32 = 3;

impl Poll<'_> {
    /// The next page, `None` once the server has nothing more.
    pub async fn next_page(&mut self) -> Result<Option<Page>, TaxiiError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .client
            .objects(
                self.target,
                self.added_after.as_deref(),
                self.next.as_deref(),
                Some(self.limit),
            )
            .await?;
        self.note_cursor(page.date_added_last.as_deref());
        if page.more {
            self.advance(&page)?;
        } else {
            self.done = true;
        }
        Ok(Some(page))
    }

    /// The newest `X-TAXII-Date-Added-Last` seen so far: the `added_after` for the next poll.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_ref().map(|(_, text)| text.as_str())
    }

    fn note_cursor(&mut self, date_added_last: Option<&str>) {
        let Some(text) = date_added_last else { return };
        let Ok(at) = DateTime::parse_from_rfc3339(text) else {
            return;
        };
        let at = at.with_timezone(&Utc);
        if self.cursor.as_ref().is_none_or(|(seen, _)| at > *seen) {
            self.cursor = Some((at, text.to_owned()));
        }
    }

    /// Moves to the following page: by `next` when the server gives one (servers may reuse
    /// the same token for a whole session), else by `added_after`. Gives up on a server that
    /// keeps answering "more" with nothing in it.
    fn advance(&mut self, page: &Page) -> Result<(), TaxiiError> {
        let stuck = |reason| TaxiiError::Stuck { reason };
        self.empty_pages = if page.objects.is_empty() {
            self.empty_pages + 1
        } else {
            0
        };
        if self.empty_pages >= MAX_EMPTY_PAGES {
            return Err(stuck("empty pages marked `more`"));
        }
        if let Some(next) = &page.next {
            self.next = Some(next.clone());
            return Ok(());
        }
        match &page.date_added_last {
            Some(last) if self.added_after.as_ref() != Some(last) => {
                self.added_after = Some(last.clone());
                self.next = None;
                Ok(())
            }
            Some(_) => Err(stuck("the same X-TAXII-Date-Added-Last twice")),
            None => Err(stuck("`more` without `next` or X-TAXII-Date-Added-Last")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_urls_split_into_api_root_and_id() {
        let target =
            Target::parse("taxii+https://taxii.example/api1/collections/91a7b528/").unwrap();
        let Target::Collection(collection) = target else {
            panic!("not a collection: {target:?}");
        };
        assert_eq!(collection.api_root.as_str(), "https://taxii.example/api1/");
        assert_eq!(collection.id, "91a7b528");
        assert_eq!(
            collection.objects_url().unwrap().as_str(),
            "https://taxii.example/api1/collections/91a7b528/objects/"
        );
        assert_eq!(
            collection.to_string(),
            "taxii+https://taxii.example/api1/collections/91a7b528/"
        );
        let deep = Target::parse("taxii+http://127.0.0.1:5000/a/b/collections/x").unwrap();
        assert!(
            matches!(deep, Target::Collection(c) if c.api_root.as_str() == "http://127.0.0.1:5000/a/b/")
        );
    }

    #[test]
    fn other_urls_name_servers_and_bad_ones_are_refused() {
        assert!(matches!(
            Target::parse("taxii+https://taxii.example/taxii2/"),
            Ok(Target::Server(_))
        ));
        for bad in [
            "https://taxii.example/api1/collections/x/",
            "taxii+ftp://taxii.example/api1/collections/x/",
            "taxii+https://user:secret@taxii.example/api1/collections/x/",
            "taxii+https://taxii.example/api1/collections/x/?limit=5",
            "taxii+not a url",
        ] {
            let err = Target::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
            assert!(err.contains("not a TAXII URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn error_details_come_from_taxii_error_messages() {
        assert_eq!(
            error_detail(br#"{"title": "Bad", "description": "no such filter"}"#),
            ": Bad: no such filter"
        );
        assert_eq!(error_detail(b"<html>"), "");
    }
}
