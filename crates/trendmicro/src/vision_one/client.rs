//! [`VisionOneClient`]: the operations on the Suspicious Object List and the Exception List.
//!
//! Writes go out in batches (by count and by bytes, see [`super::request::plan_batches`]), one
//! request at a time, so results stay in input order and a halt leaves a clear line between
//! what was sent and what was not. Inside an answered request, only the items Vision One
//! answered with a 5xx are sent again, in new batches, up to `item_attempts` requests each;
//! whole-request failures are retried by the HTTP policy.
//!
//! After a whole-request error: a bad key, a missing permission, a full list, an unreachable
//! target or a rate limit that does not lift halt the operation ([`BatchReport::halted`]);
//! any other (a 400 for the whole batch, a persistent 5xx, an unreadable answer) marks that
//! batch's items and goes on with the next batch.

use std::collections::HashSet;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::SecretString;
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use backon::{BackoffBuilder, Retryable};

use super::config::VisionOneConfig;
use super::request::{
    Encoded, ItemStatus, ListKind, MAX_FILTER, Page, RawItem, Verdict, WireError, array_body,
    encode_exception, encode_removal, encode_suspicious, is_cap_reached, next_page_url,
    parse_error, parse_multi_status, plan_batches, verdict,
};
use super::{
    BatchReport, ExceptionObject, ItemOutcome, ItemResult, ListedException, ListedSuspicious,
    ObjectValue, PRODUCT, SuspiciousObject,
};
use crate::Error;
use crate::error::excerpt;
use crate::transport::{
    CallStats, EXCERPT_CHARS, HttpClient, Profile, Response, join_path, secret_header,
};

const SUSPICIOUS_PATH: &str = "/v3.0/threatintel/suspiciousObjects";
const EXCEPTIONS_PATH: &str = "/v3.0/threatintel/suspiciousObjectExceptions";
const HEALTH_PATH: &str = "/v3.0/healthcheck/connectivity";

const ADD_SUSPICIOUS: &str = "POST /v3.0/threatintel/suspiciousObjects";
const DELETE_SUSPICIOUS: &str = "POST /v3.0/threatintel/suspiciousObjects/delete";
const LIST_SUSPICIOUS: &str = "GET /v3.0/threatintel/suspiciousObjects";
const ADD_EXCEPTIONS: &str = "POST /v3.0/threatintel/suspiciousObjectExceptions";
const DELETE_EXCEPTIONS: &str = "POST /v3.0/threatintel/suspiciousObjectExceptions/delete";
const LIST_EXCEPTIONS: &str = "GET /v3.0/threatintel/suspiciousObjectExceptions";
const HEALTH: &str = "GET /v3.0/healthcheck/connectivity";

/// A client for one Vision One target. Cheap to share by reference; all its requests share one
/// HTTP policy (limits, pause gate, metrics).
#[derive(Debug)]
pub struct VisionOneClient {
    pub(super) http: HttpClient,
    pub(super) base: Url,
    api_key: SecretString,
    settings: Settings,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    suspicious_batch: usize,
    exception_batch: usize,
    max_body: usize,
    page_size: u16,
    item_attempts: u32,
}

/// One kind of write: where it goes and how its answers read.
struct WriteOp {
    endpoint: &'static str,
    path: &'static str,
    max_count: usize,
    /// Removals read a per-item 404 as "already absent".
    removing: bool,
}

impl VisionOneClient {
    /// Validates the configuration and builds the client (no request is sent).
    pub fn new(config: &VisionOneConfig) -> Result<Self, Error> {
        let base = config.validate()?;
        secret_header("Bearer ", &config.api_key, "api_key")?;
        let http = HttpClient::new(&config.http, Profile::named(PRODUCT))?;
        Ok(Self {
            http,
            base,
            api_key: config.api_key.clone(),
            settings: Settings {
                suspicious_batch: config.suspicious_batch_size,
                exception_batch: config.exception_batch_size,
                max_body: config.max_body_bytes,
                page_size: config.page_size,
                item_attempts: config.item_attempts,
            },
        })
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// API calls, retries and rate-limit pauses so far.
    /// The pauses before each of the `rounds - 1` later rounds in which a caller re-sends the
    /// items that failed with a server error (the policy's backoff, with jitter).
    pub fn retry_pauses(&self, rounds: u32) -> impl Iterator<Item = std::time::Duration> {
        self.http.backoff(rounds.saturating_sub(1) as usize).build()
    }

    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// Checks that the API answers, that the key is valid (health check) and that its role may
    /// read the Suspicious Object List (one small page). The error tells an unreachable host
    /// ([`Error::Unreachable`]) from a bad key ([`Error::Unauthorized`]) and a missing
    /// permission ([`Error::Forbidden`]). Write permission cannot be checked without writing.
    pub async fn check(&self) -> Result<(), Error> {
        #[derive(Deserialize)]
        struct Health {
            status: String,
        }
        let response = self
            .get(HEALTH, &join_path(&self.base, HEALTH_PATH), None)
            .await?;
        let health: Health = serde_json::from_slice(&response.body)
            .map_err(|error| self.http.unexpected(HEALTH, &response, error.to_string()))?;
        if health.status != "available" {
            return Err(self.http.unexpected(
                HEALTH,
                &response,
                format!("service status is `{}`", health.status),
            ));
        }
        let mut probe = join_path(&self.base, SUSPICIOUS_PATH);
        probe.query_pairs_mut().append_pair("top", "50");
        self.get(LIST_SUSPICIOUS, &probe, None).await?;
        Ok(())
    }

    /// Adds (or updates: Vision One upserts by value) objects on the Suspicious Object List.
    pub async fn add_suspicious(&self, objects: &[SuspiciousObject]) -> BatchReport {
        let op = WriteOp {
            endpoint: ADD_SUSPICIOUS,
            path: SUSPICIOUS_PATH,
            max_count: self.settings.suspicious_batch,
            removing: false,
        };
        let values = objects.iter().map(|object| object.value.clone()).collect();
        let encoded = objects.iter().map(encode_suspicious).collect();
        self.write(&op, values, encoded).await
    }

    /// Adds objects to the Exception List.
    pub async fn add_exceptions(&self, objects: &[ExceptionObject]) -> BatchReport {
        let op = WriteOp {
            endpoint: ADD_EXCEPTIONS,
            path: EXCEPTIONS_PATH,
            max_count: self.settings.exception_batch,
            removing: false,
        };
        let values = objects.iter().map(|object| object.value.clone()).collect();
        let encoded = objects.iter().map(encode_exception).collect();
        self.write(&op, values, encoded).await
    }

    /// Removes values from the Suspicious Object List; absent ones come back
    /// [`ItemOutcome::AlreadyAbsent`].
    pub async fn delete_suspicious(&self, values: &[ObjectValue]) -> BatchReport {
        let op = WriteOp {
            endpoint: DELETE_SUSPICIOUS,
            path: "/v3.0/threatintel/suspiciousObjects/delete",
            max_count: self.settings.suspicious_batch,
            removing: true,
        };
        let encoded = values
            .iter()
            .map(|value| encode_removal(value, ListKind::Suspicious))
            .collect();
        self.write(&op, values.to_vec(), encoded).await
    }

    /// Removes values from the Exception List; absent ones come back
    /// [`ItemOutcome::AlreadyAbsent`].
    pub async fn delete_exceptions(&self, values: &[ObjectValue]) -> BatchReport {
        let op = WriteOp {
            endpoint: DELETE_EXCEPTIONS,
            path: "/v3.0/threatintel/suspiciousObjectExceptions/delete",
            max_count: self.settings.exception_batch,
            removing: true,
        };
        let encoded = values
            .iter()
            .map(|value| encode_removal(value, ListKind::Exception))
            .collect();
        self.write(&op, values.to_vec(), encoded).await
    }

    /// Every Suspicious Object List entry matching `filter` (a `TMV1-Filter` expression such as
    /// `type eq 'url' and riskLevel eq 'high'`), following `nextLink` to the last page.
    pub async fn list_suspicious(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<ListedSuspicious>, Error> {
        self.list(
            LIST_SUSPICIOUS,
            SUSPICIOUS_PATH,
            filter,
            RawItem::into_suspicious,
        )
        .await
    }

    /// Every Exception List entry matching `filter`, following `nextLink` to the last page.
    pub async fn list_exceptions(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<ListedException>, Error> {
        self.list(
            LIST_EXCEPTIONS,
            EXCEPTIONS_PATH,
            filter,
            RawItem::into_exception,
        )
        .await
    }

    async fn write(
        &self,
        op: &WriteOp,
        values: Vec<ObjectValue>,
        encoded: Vec<Encoded>,
    ) -> BatchReport {
        let state = Mutex::new(WriteState::new(encoded));
        let round = || async {
            let mut state = state.lock().await;
            self.send_round(op, &mut state).await
        };
        let retries = self.settings.item_attempts.saturating_sub(1) as usize;
        let ended = round
            .retry(self.http.backoff(retries))
            .when(|end| *end == RoundEnd::ItemsLeft)
            .notify(|_, pause| {
                tracing::info!(
                    product = PRODUCT,
                    endpoint = op.endpoint,
                    pause_ms = pause.as_millis() as u64,
                    "re-sending the items Vision One answered with a server error"
                );
            })
            .await;
        if ended == Err(RoundEnd::ItemsLeft) {
            tracing::warn!(
                product = PRODUCT,
                endpoint = op.endpoint,
                "some items still fail with a server error after every attempt"
            );
        }
        state.into_inner().into_report(values)
    }

    /// Sends every item due in one round, batch by batch.
    async fn send_round(&self, op: &WriteOp, state: &mut WriteState) -> Result<(), RoundEnd> {
        let due = std::mem::take(&mut state.due);
        let sizes: Vec<usize> = due.iter().map(|&index| state.json(index).len()).collect();
        for range in plan_batches(&sizes, op.max_count, self.settings.max_body) {
            let batch = &due[range];
            let body = array_body(batch.iter().map(|&index| state.json(index)));
            for &index in batch {
                state.attempts[index] += 1;
            }
            match self.post_batch(op, body, batch.len()).await {
                Ok(statuses) => state.apply(batch, &statuses, op.removing),
                Err(error) if halts(&error) => {
                    state.halted = Some(error);
                    return Err(RoundEnd::Halted);
                }
                Err(error) => state.fail(batch, &error),
            }
        }
        if state.due.is_empty() {
            Ok(())
        } else {
            Err(RoundEnd::ItemsLeft)
        }
    }

    async fn post_batch(
        &self,
        op: &WriteOp,
        body: Vec<u8>,
        expected: usize,
    ) -> Result<Vec<ItemStatus>, Error> {
        let auth = self.auth()?;
        let url = join_path(&self.base, op.path);
        let response = self
            .http
            .post_json(op.endpoint, &url, &auth, Bytes::from(body))
            .await?;
        if !response.status.is_success() {
            return Err(self.fail(op.endpoint, &response));
        }
        parse_multi_status(&response.body, expected)
            .map_err(|reason| self.http.unexpected(op.endpoint, &response, reason))
    }

    async fn list<T>(
        &self,
        endpoint: &'static str,
        path: &str,
        filter: Option<&str>,
        convert: fn(RawItem) -> Result<T, String>,
    ) -> Result<Vec<T>, Error> {
        let filter = filter.map(filter_header).transpose()?;
        let mut url = join_path(&self.base, path);
        url.query_pairs_mut()
            .append_pair("top", &self.settings.page_size.to_string());
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        loop {
            let response = self.get(endpoint, &url, filter.as_ref()).await?;
            let page: Page = serde_json::from_slice(&response.body)
                .map_err(|error| self.http.unexpected(endpoint, &response, error.to_string()))?;
            for raw in page.items {
                match convert(raw) {
                    Ok(item) => items.push(item),
                    // An entry of a type this client does not know is not one iocsync manages.
                    Err(reason) => tracing::warn!(
                        product = PRODUCT,
                        endpoint,
                        reason,
                        "skipping a listed item"
                    ),
                }
            }
            let Some(link) = page.next_link else {
                return Ok(items);
            };
            url = next_page_url(&self.base, &link)
                .map_err(|reason| self.http.unexpected(endpoint, &response, reason))?;
            if !seen.insert(url.to_string()) {
                return Err(self.http.unexpected(
                    endpoint,
                    &response,
                    "nextLink points to a page already read",
                ));
            }
        }
    }

    /// A GET that must succeed; any other status becomes its error.
    async fn get(
        &self,
        endpoint: &'static str,
        url: &Url,
        filter: Option<&HeaderValue>,
    ) -> Result<Response, Error> {
        let auth = self.auth()?;
        let response = self
            .http
            .send(endpoint, |client| {
                let request = client.get(url.clone()).header(AUTHORIZATION, auth.clone());
                match filter {
                    Some(filter) => request.header("TMV1-Filter", filter.clone()),
                    None => request,
                }
            })
            .await?;
        if response.status.is_success() {
            Ok(response)
        } else {
            Err(self.fail(endpoint, &response))
        }
    }

    pub(super) fn auth(&self) -> Result<HeaderValue, Error> {
        secret_header("Bearer ", &self.api_key, "api_key")
    }

    /// The error for a whole-request failure, with Vision One's own message.
    pub(super) fn fail(&self, endpoint: &'static str, response: &Response) -> Error {
        let wire = parse_error(&response.body);
        if response.status == 400 && wire.as_ref().is_some_and(is_cap_reached) {
            return Error::CapReached {
                product: PRODUCT,
                message: wire.as_ref().map_or_else(String::new, WireError::text),
            };
        }
        let message = wire
            .as_ref()
            .map_or_else(|| excerpt(&response.body, EXCERPT_CHARS), WireError::text);
        let number = wire.and_then(|wire| wire.number);
        self.http.status_error(endpoint, response, message, number)
    }
}

/// A `TMV1-Filter` header, checked for length.
fn filter_header(filter: &str) -> Result<HeaderValue, Error> {
    let invalid = |reason: String| Error::InvalidInput {
        what: "TMV1-Filter".to_owned(),
        reason,
    };
    let chars = filter.chars().count();
    if chars > MAX_FILTER {
        return Err(invalid(format!(
            "{chars} characters; Vision One takes at most {MAX_FILTER}"
        )));
    }
    HeaderValue::from_bytes(filter.as_bytes())
        .map_err(|_| invalid("contains control characters".to_owned()))
}

/// Whole-request errors after which no further batch can succeed.
fn halts(error: &Error) -> bool {
    error.stops_target() || matches!(error, Error::RateLimited { .. })
}

/// How a round of sending ended, when it did not end with every item settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoundEnd {
    /// Some items got a server error and are due again.
    ItemsLeft,
    /// A whole-request error halted the operation.
    Halted,
}

/// Where every item of one write stands.
struct WriteState {
    encoded: Vec<Encoded>,
    outcomes: Vec<Option<ItemOutcome>>,
    attempts: Vec<u32>,
    /// Items to send in the next round.
    due: Vec<usize>,
    halted: Option<Error>,
}

impl WriteState {
    fn new(encoded: Vec<Encoded>) -> Self {
        let mut outcomes = Vec::with_capacity(encoded.len());
        let mut due = Vec::with_capacity(encoded.len());
        for (index, item) in encoded.iter().enumerate() {
            match item {
                Ok(_) => {
                    outcomes.push(None);
                    due.push(index);
                }
                Err(reason) => outcomes.push(Some(ItemOutcome::Rejected {
                    status: None,
                    message: reason.clone(),
                })),
            }
        }
        Self {
            attempts: vec![0; encoded.len()],
            encoded,
            outcomes,
            due,
            halted: None,
        }
    }

    /// The JSON of an item; only items that encoded are ever due.
    fn json(&self, index: usize) -> &[u8] {
        self.encoded[index].as_deref().unwrap_or_default()
    }

    fn apply(&mut self, batch: &[usize], statuses: &[ItemStatus], removing: bool) {
        for (&index, status) in batch.iter().zip(statuses) {
            self.outcomes[index] = Some(match verdict(status, removing) {
                Verdict::Final(outcome) => outcome,
                Verdict::Retry { status, message } => {
                    self.due.push(index);
                    // Stands unless a later round does better.
                    ItemOutcome::Failed {
                        status: Some(status),
                        message,
                    }
                }
            });
        }
    }

    /// Marks a batch whose whole request failed without halting the operation.
    fn fail(&mut self, batch: &[usize], error: &Error) {
        let outcome = match error {
            Error::Rejected {
                status, message, ..
            } => ItemOutcome::Rejected {
                status: Some(*status),
                message: message.clone(),
            },
            Error::Server { status, .. } | Error::UnexpectedResponse { status, .. } => {
                ItemOutcome::Failed {
                    status: Some(*status),
                    message: error.to_string(),
                }
            }
            other => ItemOutcome::Failed {
                status: None,
                message: other.to_string(),
            },
        };
        for &index in batch {
            self.outcomes[index] = Some(outcome.clone());
        }
    }

    fn into_report(self, values: Vec<ObjectValue>) -> BatchReport {
        let items = values
            .into_iter()
            .zip(self.outcomes)
            .zip(self.attempts)
            .map(|((value, outcome), attempts)| ItemResult {
                value,
                outcome: outcome.unwrap_or(ItemOutcome::Skipped),
                attempts,
            })
            .collect();
        BatchReport {
            items,
            halted: self.halted,
        }
    }
}
