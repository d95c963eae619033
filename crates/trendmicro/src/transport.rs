//! Transport: the one HTTP policy every target shares, and the client that applies it.
//!
//! [`HttpPolicy`] is plain configuration (serde, every field documented). `HttpClient` is what
//! the product clients call: each request goes through, in order,
//! 1. the target's *pause gate* (a "paused until" instant that a 429 sets for the whole target),
//! 2. the client-side rate limit (governor, requests per minute),
//! 3. the concurrency limit (a semaphore; a permit is held only while a request is on the wire),
//!
//! and its result is classified once, here: 429 is retried after `Retry-After` when the product
//! sends it, otherwise after an exponential pause starting at the product's first delay (8 ms for
//! Deep Security, as in Trend's own samples); 500/502/503/504, timeouts and dropped connections
//! are retried with exponential backoff and jitter; everything else goes back to the product
//! client, which maps statuses to [`Error`]s. Both retry loops are `backon`'s. Every attempt is
//! counted by endpoint and status in `Metrics`.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, cause_chain, excerpt};

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("iocsync/", env!("CARGO_PKG_VERSION"));

/// How one target is reached: timeouts, proxy, TLS, concurrency, rate and retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpPolicy {
    /// Seconds allowed to open a connection (TCP and TLS handshake).
    pub connect_timeout_secs: u64,
    /// Seconds allowed for one whole request, response body included. Vision One itself gives
    /// up on a request after 60 s (HTTP 504).
    pub timeout_secs: u64,
    /// Which proxy to use: `"system"` (the environment's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`,
    /// the default), `"none"` (connect directly, ignoring the environment), or a proxy URL such
    /// as `"http://proxy.corp:3128"`, with the user name if the proxy asks for one
    /// (`"http://iocsync@proxy.corp:3128"`), never with a password.
    pub proxy: ProxySetting,
    /// The password of the proxy URL's user, as a secret reference (`env:NAME` or `file:PATH`).
    /// Read when the client is built and sent only in a `Proxy-Authorization` header marked
    /// sensitive, so neither the URL nor any log or debug output holds it.
    pub proxy_password: Option<String>,
    /// Verify the target's TLS certificate (the default). Turning this off makes the connection
    /// open to interception; every client built so is logged as a warning.
    pub verify_tls: bool,
    /// A PEM file of extra CA certificates to trust besides the system's (for an on-premise Deep
    /// Security Manager with a private CA).
    pub ca_bundle: Option<PathBuf>,
    /// Most requests on the wire to this target at once.
    pub max_concurrency: usize,
    /// Client-side limit on requests per minute to this target; unset means no limit.
    pub requests_per_minute: Option<NonZeroU32>,
    /// When and how often to retry.
    pub retry: RetryPolicy,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            proxy: ProxySetting::System,
            proxy_password: None,
            verify_tls: true,
            ca_bundle: None,
            max_concurrency: 4,
            requests_per_minute: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Retry settings. Server errors (500/502/503/504), timeouts and dropped connections are retried
/// up to `max_attempts` in all; HTTP 429 has its own, separate budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all (first try included) for server errors, timeouts and dropped connections.
    pub max_attempts: u32,
    /// First pause before a retry, in milliseconds; later pauses double, with jitter.
    pub min_delay_ms: u64,
    /// Longest pause between two attempts, in milliseconds (also caps 429 pauses without
    /// `Retry-After`).
    pub max_delay_ms: u64,
    /// How many times a request answered with HTTP 429 is retried before giving up.
    pub rate_limit_retries: u32,
    /// First pause after a 429 that carries no `Retry-After`, in milliseconds; later ones
    /// double. Unset means the product's default: 8 ms for Deep Security (Trend's samples wait
    /// 2^(n+3) ms), 1000 ms for the others.
    pub rate_limit_first_delay_ms: Option<u64>,
    /// Longest `Retry-After` honoured, in seconds; a target asking for a longer pause fails the
    /// request with a rate-limit error instead of stalling the run.
    pub max_retry_after_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            min_delay_ms: 500,
            max_delay_ms: 30_000,
            rate_limit_retries: 16,
            rate_limit_first_delay_ms: None,
            max_retry_after_secs: 300,
        }
    }
}

/// Which proxy a target's requests go through.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProxySetting {
    /// The environment's proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`).
    System,
    /// No proxy at all, whatever the environment says (the seeds' "Disable Proxies").
    None,
    /// This proxy for every request.
    Url(Url),
}

impl FromStr for ProxySetting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "system" => Ok(Self::System),
            "none" => Ok(Self::None),
            other => {
                // A URL with an `@` may hold a password: never repeat it in an error.
                let shown = if other.contains('@') {
                    "a URL with credentials (not shown)".to_owned()
                } else {
                    format!("`{other}`")
                };
                let url = Url::parse(other).map_err(|error| {
                    format!("expected \"system\", \"none\" or a proxy URL, got {shown}: {error}")
                })?;
                if url.password().is_some() {
                    return Err(PROXY_PASSWORD_INLINE.to_owned());
                }
                Ok(Self::Url(url))
            }
        }
    }
}

/// Why a proxy URL with a password is refused.
pub const PROXY_PASSWORD_INLINE: &str = "a password in the proxy URL is a secret written in the \
     config file: keep the user in the URL and give the password as a reference, \
     proxy_password = \"env:NAME\" or \"file:PATH\"";

impl TryFrom<String> for ProxySetting {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ProxySetting> for String {
    fn from(setting: ProxySetting) -> Self {
        match setting {
            ProxySetting::System => "system".into(),
            ProxySetting::None => "none".into(),
            ProxySetting::Url(url) => url.into(),
        }
    }
}

impl fmt::Debug for ProxySetting {
    /// Shows a proxy URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::None => f.write_str("None"),
            Self::Url(url) => {
                let mut shown = url.clone();
                if shown.password().is_some() {
                    // set_password only fails on URLs that cannot have credentials at all.
                    let _ = shown.set_password(Some("REDACTED"));
                }
                f.debug_tuple("Url").field(&shown.as_str()).finish()
            }
        }
    }
}

/// What differs between products in how the policy applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Profile {
    /// The product's name in errors, logs and metrics.
    pub product: &'static str,
    /// The first pause after a 429 without `Retry-After`, unless the policy sets one.
    pub rate_limit_first_delay: Duration,
}

impl Profile {
    /// A product that documents no pause after a 429: Vision One's first pause, one second.
    pub(crate) fn named(product: &'static str) -> Profile {
        Profile {
            product,
            rate_limit_first_delay: Duration::from_secs(1),
        }
    }
}

/// A response read to the end. Statuses are the product client's to interpret.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Attempts it took, this one included (for error messages).
    pub attempts: u32,
}

/// Counts of what a client did; clients hand out [`CallStats`] snapshots of it.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    calls: Mutex<BTreeMap<(&'static str, Option<u16>), u64>>,
    retries: AtomicU64,
    rate_limit_pauses: AtomicU64,
    paused_ms: AtomicU64,
}

impl Metrics {
    fn record_call(&self, endpoint: &'static str, status: Option<u16>) {
        // A poisoned lock only means another thread panicked mid-increment: keep counting.
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *calls.entry((endpoint, status)).or_default() += 1;
    }

    fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn record_pause(&self, pause: Duration) {
        self.rate_limit_pauses.fetch_add(1, Ordering::Relaxed);
        let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
        self.paused_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// A snapshot of the counts so far.
    pub(crate) fn snapshot(&self) -> CallStats {
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        CallStats {
            calls: calls
                .iter()
                .map(|(&(endpoint, status), &count)| CallCount {
                    endpoint: endpoint.to_owned(),
                    status,
                    count,
                })
                .collect(),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limit_pauses: self.rate_limit_pauses.load(Ordering::Relaxed),
            paused_ms: self.paused_ms.load(Ordering::Relaxed),
        }
    }
}

/// API calls made by one client, as counted by `Metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// One entry per (endpoint, status), sorted; every attempt counts, retries included.
    pub calls: Vec<CallCount>,
    /// Retries after server errors, timeouts and dropped connections.
    pub retries: u64,
    /// Pauses of the whole target after HTTP 429.
    pub rate_limit_pauses: u64,
    /// Milliseconds spent in those pauses, summed.
    pub paused_ms: u64,
}

/// How many attempts on one endpoint ended with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallCount {
    /// Method and path template, e.g. `POST /v3.0/threatintel/suspiciousObjects`.
    pub endpoint: String,
    /// The HTTP status, or `None` when no response came (timeout, dropped connection).
    pub status: Option<u16>,
    pub count: u64,
}

impl CallStats {
    /// Every attempt on every endpoint.
    pub fn total_calls(&self) -> u64 {
        self.calls.iter().map(|call| call.count).sum()
    }

    /// Attempts on one endpoint, whatever their status.
    pub fn calls_to(&self, endpoint: &str) -> u64 {
        self.calls
            .iter()
            .filter(|call| call.endpoint == endpoint)
            .map(|call| call.count)
            .sum()
    }
}

/// The "paused until" instant a 429 sets for the whole target; every attempt waits it out.
#[derive(Debug, Default)]
struct PauseGate {
    until: Mutex<Option<Instant>>,
}

impl PauseGate {
    fn pause_for(&self, pause: Duration) {
        let end = Instant::now() + pause;
        let mut until = self
            .until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if until.is_none_or(|current| current < end) {
            *until = Some(end);
        }
    }

    async fn wait(&self) {
        // Loop: another request may push the pause further while this one sleeps.
        loop {
            let until = *self
                .until
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match until {
                Some(end) if end > Instant::now() => tokio::time::sleep_until(end).await,
                _ => return,
            }
        }
    }
}

/// The limits shared by every request to one target.
#[derive(Debug)]
struct Shared {
    gate: PauseGate,
    limiter: Option<DefaultDirectRateLimiter>,
    slots: Semaphore,
    metrics: Metrics,
}

/// The retry settings, resolved for one product.
#[derive(Debug, Clone, Copy)]
struct Retries {
    max_attempts: u32,
    min_delay: Duration,
    max_delay: Duration,
    rate_limit_retries: u32,
    rate_limit_first_delay: Duration,
    max_retry_after: Duration,
}

/// A reqwest client with the policy applied, and the limits and metrics of one target.
#[derive(Debug)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    shared: Arc<Shared>,
    retries: Retries,
    product: &'static str,
}

/// How one attempt went, when it is worth another.
#[derive(Debug)]
enum Attempt {
    /// HTTP 429.
    RateLimited(Response),
    /// HTTP 500, 502, 503 or 504.
    ServerError(Response),
    /// No response: timeout, refused or dropped connection, TLS failure.
    Transport(reqwest::Error),
    /// The request could not be made at all (a product client's signing step failed): never
    /// retried, never sent.
    Build(Error),
}

impl Attempt {
    fn is_rate_limited(&self) -> bool {
        matches!(self, Attempt::RateLimited(_))
    }

    fn is_transient(&self) -> bool {
        match self {
            Attempt::RateLimited(_) | Attempt::Build(_) => false,
            Attempt::ServerError(_) => true,
            // Builder and redirect errors are the client's own doing: another try cannot help.
            Attempt::Transport(error) => !(error.is_builder() || error.is_redirect()),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Attempt::RateLimited(response) => retry_after(&response.headers),
            _ => None,
        }
    }
}

/// `Retry-After` in seconds (Vision One sends an integer; HTTP dates are not used by Trend).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl HttpClient {
    /// Builds the client. Does no I/O beyond reading `ca_bundle`.
    pub(crate) fn new(policy: &HttpPolicy, profile: Profile) -> Result<Self, Error> {
        let client = build_reqwest(policy, profile.product)?;
        let limiter = policy
            .requests_per_minute
            .map(|rate| RateLimiter::direct(Quota::per_minute(rate)));
        let retry = &policy.retry;
        if retry.max_attempts == 0 {
            return Err(config_error(
                "http.retry.max_attempts",
                "must be at least 1",
            ));
        }
        if policy.max_concurrency == 0 {
            return Err(config_error("http.max_concurrency", "must be at least 1"));
        }
        let retries = Retries {
            max_attempts: retry.max_attempts,
            min_delay: Duration::from_millis(retry.min_delay_ms),
            max_delay: Duration::from_millis(retry.max_delay_ms.max(retry.min_delay_ms)),
            rate_limit_retries: retry.rate_limit_retries,
            rate_limit_first_delay: retry
                .rate_limit_first_delay_ms
                .map_or(profile.rate_limit_first_delay, Duration::from_millis),
            max_retry_after: Duration::from_secs(retry.max_retry_after_secs),
        };
        Ok(Self {
            client,
            shared: Arc::new(Shared {
                gate: PauseGate::default(),
                limiter,
                slots: Semaphore::new(policy.max_concurrency),
                metrics: Metrics::default(),
            }),
            retries,
            product: profile.product,
        })
    }

    /// Counts of calls, retries and pauses so far.
    pub(crate) fn stats(&self) -> CallStats {
        self.shared.metrics.snapshot()
    }

    /// Exponential backoff with jitter between the policy's delays, for `times` retries (also
    /// used to pace re-sending the items that failed inside an otherwise answered request).
    pub(crate) fn backoff(&self, times: usize) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.retries.min_delay)
            .with_max_delay(self.retries.max_delay)
            .with_max_times(times)
            .with_jitter()
    }

    /// The error for a whole-request status other than success, once retries are spent.
    /// `message` is the product's own text; `number` Vision One's error number.
    pub(crate) fn status_error(
        &self,
        endpoint: &'static str,
        response: &Response,
        message: String,
        number: Option<u64>,
    ) -> Error {
        let product = self.product;
        let attempts = response.attempts;
        match response.status.as_u16() {
            401 => Error::Unauthorized { product, message },
            403 => Error::Forbidden {
                product,
                endpoint,
                message,
            },
            404 => Error::NotFound {
                product,
                endpoint,
                message,
            },
            429 => Error::RateLimited {
                product,
                endpoint,
                attempts,
            },
            code @ 500..=599 => Error::Server {
                product,
                endpoint,
                status: code,
                attempts,
                message,
            },
            code @ 400..=499 => Error::Rejected {
                product,
                endpoint,
                status: code,
                message,
                number,
            },
            code => Error::UnexpectedResponse {
                product,
                endpoint,
                status: code,
                reason: "unexpected status".to_owned(),
                excerpt: message,
            },
        }
    }

    /// The error for an answer this client cannot read.
    pub(crate) fn unexpected(
        &self,
        endpoint: &'static str,
        response: &Response,
        reason: impl Into<String>,
    ) -> Error {
        Error::UnexpectedResponse {
            product: self.product,
            endpoint,
            status: response.status.as_u16(),
            reason: reason.into(),
            excerpt: excerpt(&response.body, EXCERPT_CHARS),
        }
    }

    /// POSTs a JSON `body` to `url` with the `Authorization` header `auth` ([`send`]: retried
    /// as the policy says; the last response whatever its status).
    ///
    /// [`send`]: HttpClient::send
    pub(crate) async fn post_json(
        &self,
        endpoint: &'static str,
        url: &Url,
        auth: &HeaderValue,
        body: Bytes,
    ) -> Result<Response, Error> {
        self.send(endpoint, |client| {
            client
                .post(url.clone())
                .header(reqwest::header::AUTHORIZATION, auth.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json;charset=utf-8",
                )
                .body(body.clone())
        })
        .await
    }

    /// Sends the request `build` makes, retrying as the policy says, and returns the last
    /// response whatever its status. Only a request that never got a response is an error here.
    /// `endpoint` labels the call in metrics and errors (method and path template).
    pub(crate) async fn send<F>(&self, endpoint: &'static str, build: F) -> Result<Response, Error>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.try_send(endpoint, |client| Ok(build(client))).await
    }

    /// [`HttpClient::send`] for requests whose making can fail: `build` runs again for every
    /// attempt (so a per-request signature is fresh on each retry), and its error ends the call
    /// at once, nothing sent.
    pub(crate) async fn try_send<F>(
        &self,
        endpoint: &'static str,
        build: F,
    ) -> Result<Response, Error>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, Error>,
    {
        let attempts = AtomicU32::new(0);
        let once = || {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(endpoint, &build)
        };
        let through_rate_limits = || {
            (&once)
                .retry(self.rate_limit_backoff())
                .when(Attempt::is_rate_limited)
                .adjust(|attempt, next| self.rate_limit_pause(attempt, next))
                .notify(|_, pause| self.pause_target(endpoint, pause))
        };
        let outcome = through_rate_limits
            .retry(self.transient_backoff())
            .when(Attempt::is_transient)
            .notify(|attempt, pause| self.note_retry(endpoint, attempt, pause))
            .await;
        let attempts = attempts.load(Ordering::Relaxed);
        match outcome {
            Ok(response) | Err(Attempt::RateLimited(response) | Attempt::ServerError(response)) => {
                Ok(Response {
                    attempts,
                    ..response
                })
            }
            Err(Attempt::Transport(error)) => Err(Error::Unreachable {
                product: self.product,
                endpoint,
                attempts,
                reason: describe_transport(&error),
            }),
            Err(Attempt::Build(error)) => Err(error),
        }
    }

    async fn attempt<F>(&self, endpoint: &'static str, build: &F) -> Result<Response, Attempt>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, Error>,
    {
        self.shared.gate.wait().await;
        if let Some(limiter) = &self.shared.limiter {
            limiter.until_ready().await;
        }
        // The semaphore is never closed, so acquiring cannot fail; without a permit the request
        // would merely go out unthrottled.
        let _slot = self.shared.slots.acquire().await.ok();
        let metrics = &self.shared.metrics;
        let request = build(&self.client).map_err(Attempt::Build)?;
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                metrics.record_call(endpoint, None);
                return Err(Attempt::Transport(error));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                // The connection dropped mid-body: as good as no response.
                metrics.record_call(endpoint, None);
                return Err(Attempt::Transport(error));
            }
        };
        metrics.record_call(endpoint, Some(status.as_u16()));
        let response = Response {
            status,
            headers,
            body,
            attempts: 1,
        };
        match status.as_u16() {
            429 => Err(Attempt::RateLimited(response)),
            500 | 502 | 503 | 504 => Err(Attempt::ServerError(response)),
            _ => Ok(response),
        }
    }

    fn transient_backoff(&self) -> ExponentialBuilder {
        self.backoff(self.retries.max_attempts.saturating_sub(1) as usize)
    }

    fn rate_limit_backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.retries.rate_limit_first_delay)
            .with_max_delay(
                self.retries
                    .max_delay
                    .max(self.retries.rate_limit_first_delay),
            )
            .with_max_times(self.retries.rate_limit_retries as usize)
            .with_jitter()
    }

    /// The pause after a 429: `Retry-After` when the target sent one, else the backoff's next
    /// step; `None` (give up) once the budget is spent or the target asks for too long a pause.
    fn rate_limit_pause(&self, attempt: &Attempt, next: Option<Duration>) -> Option<Duration> {
        let backoff = next?;
        match attempt.retry_after() {
            Some(asked) if asked > self.retries.max_retry_after => {
                tracing::warn!(
                    product = self.product,
                    retry_after_secs = asked.as_secs(),
                    "target asks for a longer pause than max_retry_after_secs; giving up"
                );
                None
            }
            Some(asked) => Some(asked),
            None => Some(backoff),
        }
    }

    /// Pauses every request to this target, not only the one that met the 429.
    fn pause_target(&self, endpoint: &'static str, pause: Duration) {
        tracing::info!(
            product = self.product,
            endpoint,
            pause_ms = pause.as_millis() as u64,
            "rate-limited (HTTP 429): pausing the whole target"
        );
        self.shared.gate.pause_for(pause);
        self.shared.metrics.record_pause(pause);
    }

    fn note_retry(&self, endpoint: &'static str, attempt: &Attempt, pause: Duration) {
        let cause = match attempt {
            Attempt::ServerError(response) => format!("HTTP {}", response.status.as_u16()),
            Attempt::Transport(error) => describe_transport(error),
            Attempt::RateLimited(_) => "HTTP 429".to_owned(),
            Attempt::Build(error) => error.to_string(),
        };
        tracing::warn!(
            product = self.product,
            endpoint,
            cause,
            pause_ms = pause.as_millis() as u64,
            "request failed; retrying"
        );
        self.shared.metrics.record_retry();
    }
}

/// A transport error with its chain of causes, its URL shown without query string or password
/// (a webhook URL may carry a token there).
fn describe_transport(error: &reqwest::Error) -> String {
    let text = cause_chain(error);
    match error.url() {
        Some(url) => {
            let mut shown = url.clone();
            shown.set_query(None);
            // Fails only for URLs that cannot carry credentials, which then have none to hide.
            let _ = shown.set_password(None);
            text.replace(url.as_str(), shown.as_str())
        }
        None => text,
    }
}

fn build_reqwest(policy: &HttpPolicy, product: &'static str) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(policy.connect_timeout_secs))
        .timeout(Duration::from_secs(policy.timeout_secs))
        // Trend's APIs never redirect; following one could carry the key to another host.
        .redirect(reqwest::redirect::Policy::none());
    builder = match &policy.proxy {
        ProxySetting::System => builder,
        ProxySetting::None => builder.no_proxy(),
        ProxySetting::Url(url) => {
            let mut proxy = reqwest::Proxy::all(url.as_str())
                .map_err(|error| config_error("http.proxy", &cause_chain(&error)))?;
            if let Some(reference) = &policy.proxy_password {
                proxy = proxy.custom_http_auth(proxy_authorization(url, reference)?);
            }
            builder.proxy(proxy)
        }
    };
    if !policy.verify_tls {
        tracing::warn!(
            product,
            "TLS certificate verification is DISABLED for this target: anyone on the network \
             path can read and alter its traffic, API key included"
        );
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some(path) = &policy.ca_bundle {
        builder = builder.tls_certs_merge(read_ca_bundle(path)?);
    }
    builder
        .build()
        .map_err(|error| config_error("http", &cause_chain(&error)))
}

/// `Basic` credentials for the proxy URL's user with the password `reference` names, marked
/// sensitive. (Not `Proxy::basic_auth`, which puts the password in the proxy URL that the
/// client's `Debug` prints.)
fn proxy_authorization(url: &Url, reference: &str) -> Result<HeaderValue, Error> {
    use base64::Engine;
    let password = crate::secret::expand(reference)?;
    let user = percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy();
    let pair = SecretString::from(format!("{user}:{}", password.expose_secret()));
    let token = base64::engine::general_purpose::STANDARD.encode(pair.expose_secret());
    secret_header("Basic ", &SecretString::from(token), "http.proxy_password")
}

fn read_ca_bundle(path: &PathBuf) -> Result<Vec<reqwest::Certificate>, Error> {
    let key = "http.ca_bundle";
    let pem = std::fs::read(path)
        .map_err(|error| config_error(key, &format!("cannot read {}: {error}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
        config_error(key, &format!("{}: {}", path.display(), cause_chain(&error)))
    })?;
    if certs.is_empty() {
        return Err(config_error(
            key,
            &format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

/// How much of a response body error messages quote.
pub(crate) const EXCERPT_CHARS: usize = 300;

/// A header carrying a secret: `prefix` then the secret, marked sensitive so that neither
/// reqwest nor hyper ever prints it. `config_key` names the setting if the secret cannot be a
/// header value (a stray newline, say).
pub(crate) fn secret_header(
    prefix: &str,
    secret: &SecretString,
    config_key: &str,
) -> Result<HeaderValue, Error> {
    let mut value =
        HeaderValue::from_str(&format!("{prefix}{}", secret.expose_secret())).map_err(|_| {
            config_error(
                config_key,
                "contains characters that cannot go in an HTTP header (a trailing newline?)",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

pub(crate) fn config_error(key: &str, reason: &str) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Appends an API path to a base URL, keeping any path prefix the base has (a gateway, the
/// emulator) and dropping a trailing slash.
pub(crate) fn join_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_setting_parses_the_three_forms() {
        assert_eq!("system".parse(), Ok(ProxySetting::System));
        assert_eq!("none".parse(), Ok(ProxySetting::None));
        assert!(matches!(
            "http://proxy.corp:3128".parse::<ProxySetting>(),
            Ok(ProxySetting::Url(_))
        ));
        let error = "prox y".parse::<ProxySetting>().unwrap_err();
        assert!(error.contains("expected \"system\""), "{error}");
    }

    #[test]
    fn proxy_urls_never_carry_a_password() {
        let error = "http://user:hunter2@proxy.corp:3128"
            .parse::<ProxySetting>()
            .unwrap_err();
        assert!(error.contains("proxy_password"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = "http://user:hunter 2@proxy.corp:3128"
            .parse::<ProxySetting>()
            .unwrap_err();
        assert!(!error.contains("hunter"), "{error}");
        assert!(matches!(
            "http://user@proxy.corp:3128".parse::<ProxySetting>(),
            Ok(ProxySetting::Url(url)) if url.username() == "user"
        ));
    }

    #[test]
    fn proxy_debug_hides_the_password() {
        // Built directly: parsing refuses such a URL, but a library user can still make one.
        let setting = ProxySetting::Url(Url::parse("http://user:hunter2@proxy.corp:3128").unwrap());
        let shown = format!("{setting:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user:REDACTED@proxy.corp"), "{shown}");
    }

    #[test]
    fn policy_reads_from_toml_with_defaults() {
        let policy: HttpPolicy =
            toml::from_str("proxy = \"none\"\nverify_tls = false\n[retry]\nmax_attempts = 2\n")
                .unwrap();
        assert_eq!(policy.proxy, ProxySetting::None);
        assert!(!policy.verify_tls);
        assert_eq!(policy.retry.max_attempts, 2);
        assert_eq!(
            policy.retry.max_delay_ms,
            RetryPolicy::default().max_delay_ms
        );
        assert_eq!(policy.timeout_secs, 60);
    }

    #[test]
    fn join_path_keeps_prefixes() {
        let base = Url::parse("http://127.0.0.1:9/gw/").unwrap();
        assert_eq!(
            join_path(&base, "/v3.0/x").as_str(),
            "http://127.0.0.1:9/gw/v3.0/x"
        );
        let bare = Url::parse("https://api.xdr.trendmicro.com").unwrap();
        assert_eq!(
            join_path(&bare, "/v3.0/x").as_str(),
            "https://api.xdr.trendmicro.com/v3.0/x"
        );
    }

    #[test]
    fn retry_after_reads_integer_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[tokio::test]
    async fn a_request_that_cannot_be_made_fails_at_once_unsent() {
        let client = HttpClient::new(
            &HttpPolicy::default(),
            Profile {
                product: "Test",
                rate_limit_first_delay: Duration::from_millis(1),
            },
        )
        .unwrap();
        let built = AtomicU32::new(0);
        let error = client
            .try_send("GET /x", |_| {
                built.fetch_add(1, Ordering::Relaxed);
                Err(config_error("api_key", "cannot sign"))
            })
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        assert_eq!(built.load(Ordering::Relaxed), 1);
        assert_eq!(client.stats().total_calls(), 0);
        assert_eq!(client.stats().retries, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_gate_holds_until_the_latest_pause() {
        let gate = PauseGate::default();
        let start = Instant::now();
        gate.pause_for(Duration::from_secs(2));
        gate.pause_for(Duration::from_secs(1));
        gate.wait().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
