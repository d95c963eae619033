//! [`ApexCentralClient`]: list, find, add and remove User-Defined Suspicious Objects, and check
//! the connection.
//!
//! Each call is one request through the shared HTTP policy (retries of 5xx, timeouts and
//! dropped connections; pauses after 429; the client-side rate limit and concurrency bound),
//! signed anew on every attempt so that a retry after a long pause is not refused as stale.
//!
//! How answers become errors (status, then `Meta.ErrorCode` from the guide's code table):
//! 401 → [`Error::Unauthorized`] (codes 14–21: token missing, malformed, wrong version, unknown
//! application ID, expired, bad signature, bad checksum, unsupported hash); 403 →
//! [`Error::Forbidden`] (10, insufficient privilege); 413 with code 12 "Maximum exceeded" →
//! [`Error::CapReached`]; 429 after every pause → [`Error::RateLimited`]; other 4xx →
//! [`Error::Rejected`] with the code as `number`; 5xx after every retry → [`Error::Server`],
//! except that a delete answered with code 8 "Data not found" is [`Removal::AlreadyAbsent`]; a
//! 200 whose `Meta` reports a failure → [`Error::Rejected`]; an answer that is not Apex
//! Central's envelope → [`Error::UnexpectedResponse`].

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use url::Url;

use super::config::ApexCentralConfig;
use super::request::{Meta, Signer, add_body, parse_list, parse_meta, parse_permission, raw_url};
use super::{PRODUCT, Udso, UdsoType};
use crate::Error;
use crate::error::excerpt;
use crate::transport::{CallStats, EXCERPT_CHARS, HttpClient, Profile, Response, join_path};

const UDSO_PATH: &str = "/WebApp/api/SuspiciousObjects/UserDefinedSO";
/// The guide and XSOAR send adds to the path with a trailing slash.
const UDSO_ADD_PATH: &str = "/WebApp/api/SuspiciousObjects/UserDefinedSO/";

const LIST: &str = "GET /WebApp/api/SuspiciousObjects/UserDefinedSO";
const ADD: &str = "PUT /WebApp/api/SuspiciousObjects/UserDefinedSO/";
const REMOVE: &str = "DELETE /WebApp/api/SuspiciousObjects/UserDefinedSO";

/// `ErrorCode` of a full list ("413 Maximum exceeded").
const MAXIMUM_EXCEEDED: i64 = 12;
/// `ErrorCode` of a missing object ("500 Data not found").
const DATA_NOT_FOUND: i64 = 8;
/// `PermissionCtrl.permission` of a read-only account.
const READ_ONLY: i64 = 1;

/// What a removal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Apex Central had no such object ("Data not found"): the end state holds all the same.
    AlreadyAbsent,
}

/// A client for one Apex Central server and application. Cheap to share by reference; all its
/// requests share one HTTP policy (limits, pause gate, metrics).
#[derive(Debug)]
pub struct ApexCentralClient {
    http: HttpClient,
    base: Url,
    signer: Signer,
}

impl ApexCentralClient {
    /// Validates the configuration and builds the client (no request is sent).
    pub fn new(config: &ApexCentralConfig) -> Result<Self, Error> {
        config.validate()?;
        let http = HttpClient::new(&config.http, Profile::named(PRODUCT))?;
        Ok(Self {
            http,
            base: config.base_url.clone(),
            signer: Signer::new(&config.application_id, &config.api_key)?,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// API calls, retries and rate-limit pauses so far.
    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// One small read proving that the server answers as Apex Central, that it knows the
    /// application ID, that the key signs valid tokens (and the clocks agree within the
    /// communication time-out) and that the account may read the UDSO list. The account's
    /// `PermissionCtrl.permission` then tells whether it may write: read-only (1) is
    /// [`Error::Forbidden`], as adds and removes would be refused.
    pub async fn check(&self) -> Result<(), Error> {
        let response = self
            .get_list(Some(UdsoType::Ip), Some("255.255.255.255"))
            .await?;
        parse_list(&response.body)
            .map_err(|reason| self.http.unexpected(LIST, &response, reason))?;
        match parse_permission(&response.body) {
            Some(READ_ONLY) => Err(Error::Forbidden {
                product: PRODUCT,
                endpoint: ADD,
                message: "the application's account is read-only (PermissionCtrl.permission 1): \
                          adds and removes would be refused"
                    .to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// The objects of `kind` (every type when `None`) whose content matches `content_filter`
    /// as Apex Central matches it (a partial match, see [`crate::apex_central`]; `None` lists
    /// all). Objects of types this client does not manage (future ones) are left out.
    pub async fn list(
        &self,
        kind: Option<UdsoType>,
        content_filter: Option<&str>,
    ) -> Result<Vec<Udso>, Error> {
        let response = self.get_list(kind, content_filter).await?;
        let (objects, skipped) = parse_list(&response.body)
            .map_err(|reason| self.http.unexpected(LIST, &response, reason))?;
        if skipped > 0 {
            tracing::debug!(
                product = PRODUCT,
                skipped,
                "listed objects of unknown types left out"
            );
        }
        Ok(objects)
    }

    /// The object of `kind` whose content is exactly `content` (hashes and domains without
    /// regard to case), whatever else the content filter matched.
    pub async fn find(&self, kind: UdsoType, content: &str) -> Result<Option<Udso>, Error> {
        let listed = self.list(Some(kind), Some(content)).await?;
        Ok(listed
            .into_iter()
            .find(|object| object.kind == kind && kind.same_content(&object.content, content)))
    }

    /// Adds `udso`, or updates the object with the same type and content.
    pub async fn add(&self, udso: &Udso) -> Result<(), Error> {
        let body = Bytes::from(add_body(udso)?);
        let url = join_path(&self.base, UDSO_ADD_PATH);
        self.call(ADD, Method::PUT, url, Some(body))
            .await
            .map_err(|failure| self.error(ADD, failure))?;
        Ok(())
    }

    /// Removes the object of `kind` with `content`.
    pub async fn remove(&self, kind: UdsoType, content: &str) -> Result<Removal, Error> {
        if content.trim().is_empty() {
            return Err(Error::InvalidInput {
                what: "UDSO content".to_owned(),
                reason: "is empty".to_owned(),
            });
        }
        let mut url = join_path(&self.base, UDSO_PATH);
        url.query_pairs_mut()
            .append_pair("type", kind.as_str())
            .append_pair("content", content);
        match self.call(REMOVE, Method::DELETE, url, None).await {
            Ok(_) => Ok(Removal::Removed),
            Err(Failure::Answered(response, meta))
                if response.status.is_server_error()
                    && meta.as_ref().and_then(|m| m.error_code) == Some(DATA_NOT_FOUND) =>
            {
                Ok(Removal::AlreadyAbsent)
            }
            Err(failure) => Err(self.error(REMOVE, failure)),
        }
    }

    async fn get_list(
        &self,
        kind: Option<UdsoType>,
        content_filter: Option<&str>,
    ) -> Result<Response, Error> {
        let mut url = join_path(&self.base, UDSO_PATH);
        if kind.is_some() || content_filter.is_some() {
            let mut query = url.query_pairs_mut();
            if let Some(kind) = kind {
                query.append_pair("type", kind.as_str());
            }
            if let Some(filter) = content_filter {
                query.append_pair("contentFilter", filter);
            }
        }
        self.call(LIST, Method::GET, url, None)
            .await
            .map_err(|failure| self.error(LIST, failure))
    }

    /// Sends one signed request; an answer that is not a success comes back with its `Meta`.
    async fn call(
        &self,
        endpoint: &'static str,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<Response, Failure> {
        let raw = raw_url(&url);
        let signed = body.clone().unwrap_or_default();
        let response = self
            .http
            .try_send(endpoint, |client| {
                let auth = self
                    .signer
                    .authorization(method.as_str(), &raw, &signed, unix_now())?;
                let request = client
                    .request(method.clone(), url.clone())
                    .header(AUTHORIZATION, auth);
                Ok(match &body {
                    Some(body) => request
                        .header(CONTENT_TYPE, "application/json;charset=utf-8")
                        .body(body.clone()),
                    None => request,
                })
            })
            .await
            .map_err(Failure::Unsent)?;
        let meta = parse_meta(&response.body);
        if response.status.is_success() && meta.as_ref().is_some_and(Meta::succeeded) {
            return Ok(response);
        }
        Err(Failure::Answered(response, meta))
    }

    /// The error for a failed call.
    fn error(&self, endpoint: &'static str, failure: Failure) -> Error {
        let (response, meta) = match failure {
            Failure::Unsent(error) => return error,
            Failure::Answered(response, meta) => (response, meta),
        };
        let Some(meta) = meta else {
            if response.status.is_success() {
                return self
                    .http
                    .unexpected(endpoint, &response, "no Meta in the answer");
            }
            let message = excerpt(&response.body, EXCERPT_CHARS);
            return self.http.status_error(endpoint, &response, message, None);
        };
        let message = meta.describe();
        let code = meta.error_code;
        if response.status.as_u16() == 413 && code == Some(MAXIMUM_EXCEEDED) {
            return Error::CapReached {
                product: PRODUCT,
                message,
            };
        }
        if response.status.is_success() {
            return Error::Rejected {
                product: PRODUCT,
                endpoint,
                status: response.status.as_u16(),
                message,
                number: code.and_then(|c| u64::try_from(c).ok()),
            };
        }
        let number = code.and_then(|c| u64::try_from(c).ok());
        self.http.status_error(endpoint, &response, message, number)
    }
}

/// A call that did not succeed: never answered, or answered with a failure.
enum Failure {
    Unsent(Error),
    Answered(Response, Option<Meta>),
}

/// The `iat` of a request made now.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
