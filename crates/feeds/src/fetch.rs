//! Downloading an `http(s)://` feed as a stream: the body is read as the reader consumes it,
//! never held whole, and a [`Request`]'s `max_bytes` bounds how much of it is read. Requests
//! can be conditional (`If-None-Match` from a saved `ETag`, `If-Modified-Since` from a saved
//! `Last-Modified`): a server with nothing new answers 304 and [`fetch`] returns
//! [`Fetched::NotModified`]; the validators of a new body come back in its [`Download`] for the
//! caller to save once the data is committed.
//!
//! Credentials are refused in the URL itself (they would sit in shell history and process
//! lists). Secrets (extra header values, passwords, tokens) are [`SecretString`]s, sent as
//! sensitive headers and never put in messages or `Debug` output; with any secret set,
//! redirects are followed only within the same origin, so a secret never goes to another host.

use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use reqwest::blocking::RequestBuilder;
use reqwest::header::{self, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Why a download could not start.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not a URL iocsync downloads (use http:// or https://)")]
    Scheme(String),
    #[error(
        "the URL carries a user name or password; credentials must not be given on the command line"
    )]
    Credentials,
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("header `{name}` cannot be sent: {reason}")]
    Header { name: String, reason: &'static str },
    #[error("GET {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: the server announces {length} bytes, more than the {limit} allowed")]
    TooLarge {
        url: String,
        length: u64,
        limit: u64,
    },
}

/// The error a [`Download`]'s body gives once more than `max_bytes` have been read (inside an
/// [`io::Error`] of kind `InvalidData`; `downcast` it to tell it from a network error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the download is larger than the {limit} bytes allowed")]
pub struct BodyTooLarge {
    pub limit: u64,
}

/// How to authenticate to the server.
#[derive(Debug, Default)]
pub enum Auth {
    #[default]
    None,
    Basic {
        username: String,
        password: SecretString,
    },
    Bearer(SecretString),
}

/// How to reach servers: TLS checks, extra trusted CAs, proxy and timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// Check the server's certificate (turn off only for a test server).
    pub verify_tls: bool,
    /// A PEM file of CA certificates trusted besides the system's (a company CA).
    pub ca_file: Option<PathBuf>,
    /// A proxy URL (`http://proxy:3128`), `none` for no proxy at all; `None` (or `system`)
    /// uses the system's (`HTTPS_PROXY`, ...).
    pub proxy: Option<String>,
    /// The longest wait for a connection or between two reads (not for the whole body: a
    /// large feed may take minutes).
    pub timeout: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            verify_tls: true,
            ca_file: None,
            proxy: None,
            timeout: Duration::from_secs(120),
        }
    }
}

impl Transport {
    /// A blocking client with these settings; `same_origin_only` keeps redirects on the
    /// request's origin (when it carries secrets).
    pub(crate) fn client(
        &self,
        same_origin_only: bool,
    ) -> Result<reqwest::blocking::Client, FetchError> {
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("iocsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.timeout.min(Duration::from_secs(30)))
            // Blocking reqwest applies this to sending and to each read of the body.
            .timeout(self.timeout)
            .redirect(redirect_policy(same_origin_only));
        match self.proxy.as_deref() {
            None | Some("system") => {}
            // As for targets: `proxy = "none"` ignores HTTPS_PROXY and friends.
            Some("none") => builder = builder.no_proxy(),
            Some(proxy) => {
                let proxy = reqwest::Proxy::all(proxy).map_err(|_| {
                    FetchError::Client(format!("proxy `{}` is not a URL", redact(proxy)))
                })?;
                builder = builder.proxy(proxy);
            }
        }
        if !self.verify_tls {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &self.ca_file {
            builder = builder.tls_certs_merge(read_ca_file(path)?);
        }
        builder
            .build()
            .map_err(|err| FetchError::Client(err.to_string()))
    }
}

fn redirect_policy(same_origin_only: bool) -> reqwest::redirect::Policy {
    if !same_origin_only {
        return reqwest::redirect::Policy::limited(10);
    }
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 10 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

fn read_ca_file(path: &PathBuf) -> Result<Vec<reqwest::Certificate>, FetchError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|err| FetchError::Client(format!("cannot read CA file {shown}: {err}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|err| FetchError::Client(format!("CA file {shown}: {err}")))?;
    if certs.is_empty() {
        return Err(FetchError::Client(format!(
            "CA file {shown} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

/// One download to make.
#[derive(Debug)]
pub struct Request {
    pub url: String,
    /// Headers sent besides the usual ones (an API key header, say); values are secret.
    pub headers: Vec<(String, SecretString)>,
    pub auth: Auth,
    /// The `ETag` of the copy already held: sent as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` of the copy already held: sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// The most body bytes read; past it the body's `read` fails with [`BodyTooLarge`].
    pub max_bytes: u64,
    pub transport: Transport,
}

/// The `max_bytes` of [`Request::new`]: far above any public blocklist, and the default bound
/// of a `[[feeds]]` entry.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

impl Request {
    /// A plain GET of `url`: no extra headers, no credentials, not conditional, at most
    /// [`DEFAULT_MAX_BYTES`], default transport.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
            auth: Auth::None,
            etag: None,
            last_modified: None,
            max_bytes: DEFAULT_MAX_BYTES,
            transport: Transport::default(),
        }
    }

    fn carries_secrets(&self) -> bool {
        !self.headers.is_empty() || !matches!(self.auth, Auth::None)
    }
}

/// What a [`fetch`] found.
pub enum Fetched {
    /// HTTP 304: the copy named by the request's `etag`/`last_modified` is current.
    NotModified,
    /// A new body.
    Body(Download),
}

/// An open download.
pub struct Download {
    /// The body, streamed; bounded by the request's `max_bytes`.
    pub body: Box<dyn Read + Send>,
    /// The `Content-Type` the server gave, if any.
    pub content_type: Option<String>,
    /// The size the server announced, if any (for progress).
    pub length: Option<u64>,
    /// The response's `ETag`, to send as `etag` next time.
    pub etag: Option<String>,
    /// The response's `Last-Modified`, to send as `last_modified` next time.
    pub last_modified: Option<String>,
}

/// Parses `spec` as a URL iocsync may download.
pub fn check_url(spec: &str) -> Result<Url, FetchError> {
    let url = Url::parse(spec).map_err(|_| FetchError::Scheme(redact(spec)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(redact(spec)));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Credentials);
    }
    Ok(url)
}

/// `spec` with any `user:password@` replaced by `***@`, for messages.
pub(crate) fn redact(spec: &str) -> String {
    let Some(start) = spec.find("://").map(|i| i + 3) else {
        return spec.to_owned();
    };
    let authority_end = spec[start..].find('/').map_or(spec.len(), |i| start + i);
    match spec[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &spec[..start], &spec[start + at..]),
        None => spec.to_owned(),
    }
}

/// Starts downloading `spec` with no conditions and no size bound (`iocsync import URL`).
/// Must not be called from inside an async runtime (it blocks).
pub fn download(spec: &str) -> Result<Download, FetchError> {
    let mut request = Request::new(spec);
    request.max_bytes = u64::MAX;
    match fetch(&request)? {
        Fetched::Body(download) => Ok(download),
        // Only a conditional request can be answered 304; this one is not, so a 304 is a
        // server error as far as it is concerned.
        Fetched::NotModified => Err(FetchError::Status {
            url: redact(spec),
            status: 304,
        }),
    }
}

/// Sends `request`. Must not be called from inside an async runtime (it blocks).
pub fn fetch(request: &Request) -> Result<Fetched, FetchError> {
    let url = check_url(&request.url)?;
    let request_error = |source| FetchError::Request {
        url: url.to_string(),
        source,
    };
    let client = request.transport.client(request.carries_secrets())?;
    let response = prepare(client.get(url.clone()), request)?
        .send()
        .map_err(request_error)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let length = response.content_length();
    if let Some(length) = length.filter(|&l| l > request.max_bytes) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            length,
            limit: request.max_bytes,
        });
    }
    let text = |name| header_text(response.headers(), name);
    Ok(Fetched::Body(Download {
        content_type: text(header::CONTENT_TYPE),
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
        length,
        body: Box::new(Bounded::new(response, request.max_bytes)),
    }))
}

/// Adds the request's headers, credentials and validators to `builder`.
pub(crate) fn prepare(
    mut builder: RequestBuilder,
    request: &Request,
) -> Result<RequestBuilder, FetchError> {
    for (name, value) in &request.headers {
        builder = builder.header(
            header_name(name)?,
            secret_value(name, value.expose_secret())?,
        );
    }
    builder = match &request.auth {
        Auth::None => builder,
        Auth::Basic { username, password } => {
            builder.basic_auth(username, Some(password.expose_secret()))
        }
        Auth::Bearer(token) => {
            let value = format!("Bearer {}", token.expose_secret());
            builder.header(
                header::AUTHORIZATION,
                secret_value("Authorization", &value)?,
            )
        }
    };
    if let Some(etag) = &request.etag {
        builder = builder.header(header::IF_NONE_MATCH, plain_value("etag", etag)?);
    }
    if let Some(date) = &request.last_modified {
        builder = builder.header(
            header::IF_MODIFIED_SINCE,
            plain_value("last_modified", date)?,
        );
    }
    Ok(builder)
}

fn header_name(name: &str) -> Result<HeaderName, FetchError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| FetchError::Header {
        name: name.to_owned(),
        reason: "not a valid header name",
    })
}

/// A header value marked sensitive (hyper and reqwest never print it); the error names the
/// header only.
pub(crate) fn secret_value(name: &str, value: &str) -> Result<HeaderValue, FetchError> {
    let mut value = plain_value(name, value)?;
    value.set_sensitive(true);
    Ok(value)
}

fn plain_value(name: &str, value: &str) -> Result<HeaderValue, FetchError> {
    HeaderValue::from_str(value).map_err(|_| FetchError::Header {
        name: name.to_owned(),
        reason: "its value holds characters a header cannot carry (a line break?)",
    })
}

fn header_text(headers: &header::HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A body that fails with [`BodyTooLarge`] once more than `limit` bytes have come: it asks
/// for one byte past the limit, so a body of exactly `limit` bytes reads whole.
pub(crate) struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            read: 0,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let too_large = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                BodyTooLarge { limit: self.limit },
            )
        };
        if self.read > self.limit {
            return Err(too_large());
        }
        let room = (self.limit - self.read).saturating_add(1);
        let wanted = usize::try_from(room).map_or(buf.len(), |room| room.min(buf.len()));
        let count = self.inner.read(&mut buf[..wanted])?;
        self.read = self.read.saturating_add(count as u64);
        if self.read > self.limit {
            return Err(too_large());
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reads_up_to_the_limit_and_fails_past_it() {
        let mut exact = Vec::new();
        Bounded::new(&b"12345"[..], 5)
            .read_to_end(&mut exact)
            .unwrap();
        assert_eq!(exact, b"12345");
        let mut over = Bounded::new(&b"123456"[..], 5);
        let err = over.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "the download is larger than the 5 bytes allowed"
        );
        assert!(
            over.read(&mut [0; 4]).is_err(),
            "it keeps failing once past the limit"
        );
        let mut empty = Vec::new();
        Bounded::new(&b""[..], 0).read_to_end(&mut empty).unwrap();
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut request = Request::new("https://feeds.example/x");
        request
            .headers
            .push(("X-Api-Key".into(), "hunter2-header".into()));
        request.auth = Auth::Bearer("hunter2-token".into());
        let shown = format!("{request:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let err = secret_value("X-Api-Key", "bad\nhunter2")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("hunter2") && err.contains("X-Api-Key"),
            "{err}"
        );
    }

    #[test]
    fn refuses_credentials_and_other_schemes() {
        assert!(matches!(
            check_url("https://u:p@feeds.example/x"),
            Err(FetchError::Credentials)
        ));
        assert!(matches!(
            check_url("https://u@feeds.example/x"),
            Err(FetchError::Credentials)
        ));
        assert!(matches!(
            check_url("file:///etc/passwd"),
            Err(FetchError::Scheme(_))
        ));
        let err = check_url("https://u:secret@bad host/")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(check_url("https://feeds.example/list.txt?token=x").is_ok());
    }

    #[test]
    fn redaction_hides_user_info_only() {
        assert_eq!(
            redact("taxii+https://u:p@h.example/a@b"),
            "taxii+https://***@h.example/a@b"
        );
        assert_eq!(
            redact("taxii+https://h.example/a@b"),
            "taxii+https://h.example/a@b"
        );
        assert_eq!(redact("no scheme"), "no scheme");
    }
}
