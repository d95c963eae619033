//! Shared set-up: an emulator with one full and one read-only key, and a client with helpers
//! per API family.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use emulator::{EmulatorConfig, RunningEmulator};
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const KEY: &str = "test-key-full";
pub const READ_ONLY: &str = "test-key-read-only";
/// An Apex Central application with full control, and its API key.
pub const APEX_APP: &str = "5E3D7C1A-7B2F-4E8A-9C61-0D4F2B8A1E90";
pub const APEX_KEY: &str = "apex-key-2f9c41d7";
/// An Apex Central application whose account is read-only.
pub const APEX_READ_ONLY_APP: &str = "0B6F1E22-9D3C-4A57-8E10-7C5A2D9F3B44";
pub const APEX_READ_ONLY_KEY: &str = "apex-read-only-key-81e0";

/// A configuration with the test keys and Apex Central applications.
pub fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_api_key(KEY)
        .with_read_only_key(READ_ONLY)
        .with_apex_application(APEX_APP, APEX_KEY)
        .with_read_only_apex_application(APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY)
}

/// Trend's `create_checksum`: base64(SHA-256("METHOD|lower(raw url)||body")), no API headers.
pub fn apex_checksum(method: &str, raw_url: &str, body: &str) -> String {
    let text = format!(
        "{}|{}||{body}",
        method.to_uppercase(),
        raw_url.to_lowercase()
    );
    STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// A compact HS256 JWT of `header` and `claims`, made by hand so that tests can break any part.
pub fn hs256_jwt(header: &Value, claims: &Value, key: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The claims Trend's sample puts in a token.
pub fn apex_claims(app: &str, iat: f64, method: &str, raw_url: &str, body: &str) -> Value {
    json!({"appid": app, "iat": iat, "version": "V1", "checksum": apex_checksum(method, raw_url, body)})
}

/// The JWT header PyJWT writes.
pub fn hs256_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
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

    /// The emulator's clock, in (fractional, as `time.time()`) Unix seconds.
    pub fn apex_now(&self) -> f64 {
        self.running.emulator().clock().now_ms() as f64 / 1000.0
    }

    /// An Apex Central request signed correctly for `app` at the emulator's time; `path` holds
    /// the query string, if any, exactly as sent.
    pub async fn apex_as(
        &self,
        app: (&str, &str),
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let body = body.map(Value::to_string).unwrap_or_default();
        let claims = apex_claims(app.0, self.apex_now(), method.as_str(), path, &body);
        let token = hs256_jwt(&hs256_header(), &claims, app.1);
        self.apex_signed(method, path, &body, &token).await
    }

    /// An Apex Central request from the full-control application.
    pub async fn apex(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.apex_as((APEX_APP, APEX_KEY), method, path, body).await
    }

    /// An Apex Central request carrying `token` as its bearer token and `body` as sent.
    pub async fn apex_signed(&self, method: Method, path: &str, body: &str, token: &str) -> Reply {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/json;charset=utf-8")
                .body(body.to_owned());
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
