//! Shared set-up: an emulator with one full and one read-only key, and a client with helpers
//! per API family.

use emulator::{EmulatorConfig, RunningEmulator};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const KEY: &str = "test-key-full";
pub const READ_ONLY: &str = "test-key-read-only";

/// A configuration with the test keys.
pub fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_api_key(KEY)
        .with_read_only_key(READ_ONLY)
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

pub struct Api {
    pub running: RunningEmulator,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start() -> Self {
        Self::with(config()).await
    }

    pub async fn with(config: EmulatorConfig) -> Self {
        let running = emulator::spawn(config).await.unwrap();
        Self {
            running,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Vision One / XDR request with a bearer key.
    pub async fn v1(&self, method: Method, path: &str, key: &str, body: Option<&Value>) -> Reply {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    pub async fn v1_post(&self, path: &str, body: &Value) -> Reply {
        self.v1(Method::POST, path, KEY, Some(body)).await
    }

    pub async fn v1_get(&self, path: &str) -> Reply {
        self.v1(Method::GET, path, KEY, None).await
    }

    /// GET with a TMV1-Filter header.
    pub async fn v1_get_filtered(&self, path: &str, filter: &str) -> Reply {
        let request = self
            .http
            .get(self.url(path))
            .bearer_auth(KEY)
            .header("TMV1-Filter", filter);
        self.send(request).await
    }

    /// Deep Security request with `api-secret-key` and `api-version: v1`.
    pub async fn ds(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.ds_as(method, path, KEY, body).await
    }

    pub async fn ds_as(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("api-secret-key", key)
            .header("api-version", "v1");
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// Moves the emulator's clock forward through the control endpoint.
    pub async fn advance(&self, seconds: i64) {
        let reply = self
            .send(
                self.http
                    .post(self.url("/_emulator/clock"))
                    .json(&serde_json::json!({"advance_seconds": seconds})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    /// Statuses of a 207 answer, in order.
    pub fn statuses(reply: &Reply) -> Vec<u64> {
        assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["status"].as_u64().unwrap())
            .collect()
    }
}
