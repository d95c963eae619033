//! [`XdrV2Client`]: start a block or a restore-block and follow its task to a final status.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::SecretString;
use url::Url;

use super::config::XdrV2Config;
use super::request::{block_body, error_message, parse_action_id, parse_task};
use super::{ActionId, PRODUCT, TaskStatus, ValueType};
use crate::Error;
use crate::error::excerpt;
use crate::tasks::{self, Pace, TaskSource};
use crate::transport::{
    CallStats, EXCERPT_CHARS, HttpClient, Profile, Response, join_path, secret_header,
};

const BLOCK: &str = "POST /v2.0/xdr/response/block";
const RESTORE: &str = "POST /v2.0/xdr/response/restoreBlock";
const GET_TASK: &str = "GET /v2.0/xdr/response/getTask";
/// Task reads in flight at once in one poll round of a [`TaskWatch`].
const TASK_READS: usize = 16;

/// Follows XDR v2 block tasks: one poller for many ([`crate::tasks::TaskWatch`]).
pub type TaskWatch<'c> = tasks::TaskWatch<'c, XdrV2Client>;

/// Why a wait for an XDR v2 task ended without a final status.
pub type WaitError = tasks::WaitError<TaskStatus>;

impl TaskSource for XdrV2Client {
    type Task = TaskStatus;
    type Status = TaskStatus;

    fn read(&self, id: &str) -> impl Future<Output = Result<TaskStatus, Error>> + Send {
        let id = ActionId(id.to_owned());
        async move { self.get_task(&id).await }
    }

    fn status(task: &TaskStatus) -> TaskStatus {
        task.clone()
    }

    fn is_final(task: &TaskStatus) -> bool {
        task.is_final()
    }

    fn unread() -> TaskStatus {
        TaskStatus::Pending
    }
}

/// A client for the XDR v2.0 response API of one region.
#[derive(Debug)]
pub struct XdrV2Client {
    http: HttpClient,
    base: Url,
    api_key: SecretString,
    poll_min: Duration,
    poll_max: Duration,
}

impl XdrV2Client {
    /// Validates the configuration and builds the client (no request is sent).
    pub fn new(config: &XdrV2Config) -> Result<Self, Error> {
        let base = config.validate()?;
        secret_header("Bearer ", &config.api_key, "api_key")?;
        let http = HttpClient::new(&config.http, Profile::named(PRODUCT))?;
        Ok(Self {
            http,
            base,
            api_key: config.api_key.clone(),
            poll_min: Duration::from_millis(config.poll_min_delay_ms),
            poll_max: Duration::from_millis(config.poll_max_delay_ms),
        })
    }

    /// API calls, retries and rate-limit pauses so far.
    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// Asks XDR to block `value`; returns the task's action ID.
    pub async fn block(
        &self,
        value_type: ValueType,
        value: &str,
        description: &str,
        product_id: &str,
    ) -> Result<ActionId, Error> {
        self.start(
            BLOCK,
            "/v2.0/xdr/response/block",
            value_type,
            value,
            description,
            product_id,
        )
        .await
    }

    /// Asks XDR to lift a block of `value`; returns the task's action ID.
    pub async fn restore_block(
        &self,
        value_type: ValueType,
        value: &str,
        description: &str,
        product_id: &str,
    ) -> Result<ActionId, Error> {
        self.start(
            RESTORE,
            "/v2.0/xdr/response/restoreBlock",
            value_type,
            value,
            description,
            product_id,
        )
        .await
    }

    /// The task's current status.
    pub async fn get_task(&self, action_id: &ActionId) -> Result<TaskStatus, Error> {
        let mut url = join_path(&self.base, "/v2.0/xdr/response/getTask");
        url.query_pairs_mut().append_pair("actionId", &action_id.0);
        let auth = self.auth()?;
        let response = self
            .http
            .send(GET_TASK, |client| {
                client.get(url.clone()).header(AUTHORIZATION, auth.clone())
            })
            .await?;
        let response = self.succeed(GET_TASK, response)?;
        parse_task(&response.body)
            .map_err(|reason| self.http.unexpected(GET_TASK, &response, reason))
    }

    /// How a [`TaskWatch`] following this client's tasks paces itself: the configured poll
    /// delays, up to `timeout` per task.
    pub fn pace(&self, timeout: Duration) -> Pace {
        Pace {
            min: self.poll_min,
            max: self.poll_max,
            timeout,
            reads: TASK_READS,
        }
    }

    async fn start(
        &self,
        endpoint: &'static str,
        path: &str,
        value_type: ValueType,
        value: &str,
        description: &str,
        product_id: &str,
    ) -> Result<ActionId, Error> {
        for (what, text) in [("value", value), ("product ID", product_id)] {
            if text.trim().is_empty() {
                return Err(Error::InvalidInput {
                    what: what.to_owned(),
                    reason: "is empty".to_owned(),
                });
            }
        }
        let body = Bytes::from(block_body(value_type, value, description, product_id).to_string());
        let url = join_path(&self.base, path);
        let auth = self.auth()?;
        let response = self.http.post_json(endpoint, &url, &auth, body).await?;
        let response = self.succeed(endpoint, response)?;
        parse_action_id(&response.body)
            .map_err(|reason| self.http.unexpected(endpoint, &response, reason))
    }

    fn succeed(&self, endpoint: &'static str, response: Response) -> Result<Response, Error> {
        if response.status.is_success() {
            return Ok(response);
        }
        let message =
            error_message(&response.body).unwrap_or_else(|| excerpt(&response.body, EXCERPT_CHARS));
        Err(self.http.status_error(endpoint, &response, message, None))
    }

    fn auth(&self) -> Result<HeaderValue, Error> {
        secret_header("Bearer ", &self.api_key, "api_key")
    }
}
