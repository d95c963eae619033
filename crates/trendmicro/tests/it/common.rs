//! Helpers shared by the tests: an emulator with known keys, reached over real HTTP, and its
//! `/_emulator/*` endpoints for faults and request counts.

use emulator::{EmulatorConfig, RunningEmulator};
use serde_json::Value;
use trendmicro::{HttpPolicy, ProxySetting, RetryPolicy};
use url::Url;

/// A key valid for reads and writes.
pub const KEY: &str = "test-key-5f1d0c9a7e";
/// A key that may read but gets 403 on writes.
pub const READ_ONLY_KEY: &str = "read-only-key-0b3e";
/// An Apex Central application with full control, and its API key.
pub const APEX_APP: &str = "7A1C3E5B-2D4F-4A6B-8C9D-0E1F2A3B4C5D";
pub const APEX_KEY: &str = "apex-key-secret-93d1f0";
/// An Apex Central application whose account is read-only, and its API key.
pub const APEX_READ_ONLY_APP: &str = "1F2E3D4C-5B6A-4978-8A6B-5C4D3E2F1A0B";
pub const APEX_READ_ONLY_KEY: &str = "apex-read-only-secret-5e7a";

pub struct Emu {
    pub running: RunningEmulator,
    control: reqwest::Client,
}

impl Emu {
    pub async fn start() -> Self {
        Self::with(EmulatorConfig::default()).await
    }

    pub async fn with(mut config: EmulatorConfig) -> Self {
        config.api_keys = vec![KEY.into()];
        config.read_only_keys = vec![READ_ONLY_KEY.into()];
        config.apex_central.applications.clear();
        let config = config
            .with_apex_application(APEX_APP, APEX_KEY)
            .with_read_only_apex_application(APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY);
        let running = emulator::spawn(config).await.unwrap();
        let control = reqwest::Client::builder().no_proxy().build().unwrap();
        Self { running, control }
    }

    /// The Vision One / XDR base URL.
    pub fn base(&self) -> Url {
        Url::parse(&self.running.base_url()).unwrap()
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}/_emulator/{path}", self.running.base_url())
    }

    /// Replaces the fault settings (`POST /_emulator/faults`).
    pub async fn faults(&self, settings: Value) {
        let response = self
            .control
            .post(self.control_url("faults"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Moves the emulator's clock (`POST /_emulator/clock`).
    pub async fn advance(&self, seconds: i64) {
        let response = self
            .control
            .post(self.control_url("clock"))
            .json(&serde_json::json!({ "advance_seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    /// Request counters (`GET /_emulator/requests`) of one endpoint.
    pub async fn endpoint(&self, endpoint: &str) -> Value {
        let stats: Value = self
            .control
            .get(self.control_url("requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["endpoints"][endpoint].clone()
    }

    /// Requests to `endpoint`, whatever their status.
    pub async fn requests(&self, endpoint: &str) -> u64 {
        self.endpoint(endpoint).await["requests"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Requests to `endpoint` that ended with `status` (`"dropped"` for dropped connections).
    pub async fn count(&self, endpoint: &str, status: &str) -> u64 {
        self.endpoint(endpoint).await["statuses"][status]
            .as_u64()
            .unwrap_or(0)
    }

    /// The whole emulated state (`GET /_emulator/state`).
    pub async fn state(&self) -> Value {
        self.control
            .get(self.control_url("state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A policy for tests: no proxy whatever the environment says, short pauses.
pub fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        proxy: ProxySetting::None,
        timeout_secs: 10,
        retry: RetryPolicy {
            max_attempts: 4,
            min_delay_ms: 5,
            max_delay_ms: 50,
            ..RetryPolicy::default()
        },
        ..HttpPolicy::default()
    }
}
