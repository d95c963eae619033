//! Webhook triggers over HTTP: `POST /hooks/{name}`. This module owns the HTTP side — status
//! codes, the body limit, metrics — and leaves authentication, mapping, the guard and the
//! action to [`engine::trigger`].
//!
//! Answers: 200 with what was done to each value (502 when the target failed every value
//! it was sent or halted), 400 for a body that is not JSON or yields no value, 401 for missing, malformed,
//! wrong or stale credentials, 409 for a replayed signature, 404 for an unknown trigger,
//! 408 for a body that did not arrive within the listener's `[serve] body_timeout` and 413 for a
//! body over the trigger's `max_body`. Error answers never carry a secret.
//!
//! The module uses nothing else of the binary, so the latency bench drives it alone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use engine::trigger::{self, ArmedTrigger, AuthError, TriggerReport};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::json;
use store::{Library, RunStatus};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    trigger: String,
    outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TriggerLabel {
    trigger: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Metrics {
    calls: Family<CallLabels, Counter>,
    values: Family<CallLabels, Counter>,
    latency: Family<TriggerLabel, Histogram, fn() -> Histogram>,
}

impl Metrics {
    fn register(registry: &mut Registry) -> Metrics {
        let metrics = Metrics {
            calls: Family::default(),
            values: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        };
        registry.register(
            "iocsync_triggers",
            "Webhook trigger calls, by trigger and outcome (succeeded, partial, failed, unauthorized, replayed, too_large, too_slow, bad_request, error)",
            metrics.calls.clone(),
        );
        registry.register(
            "iocsync_trigger_values",
            "Values handled by webhook triggers, by trigger and outcome (blocked, sent, refused, failed, lifted)",
            metrics.values.clone(),
        );
        registry.register(
            "iocsync_trigger_latency_seconds",
            "Time from a trigger call's arrival to its answer, by trigger",
            metrics.latency.clone(),
        );
        metrics
    }

    fn call(&self, trigger: &str, outcome: &str) {
        self.calls
            .get_or_create(&CallLabels {
                trigger: trigger.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    fn report(&self, report: &TriggerReport) {
        for (outcome, count) in report.counts() {
            self.values
                .get_or_create(&CallLabels {
                    trigger: report.trigger.clone(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(count as u64);
        }
    }
}

/// The armed triggers, by name.
pub type Armed = BTreeMap<String, Arc<ArmedTrigger>>;

/// Every configured trigger, armed, with the library its calls are recorded in.
pub struct Triggers {
    /// Swapped whole by a reload; a call in flight keeps the trigger it started with.
    armed: RwLock<Arc<Armed>>,
    library: Mutex<Library>,
    metrics: Metrics,
}

impl Triggers {
    /// Arms every trigger of `config`, opens the library and registers the trigger metrics in
    /// `registry`. Fails (naming the trigger) when a secret cannot be read.
    pub fn new(
        config: Arc<config::Config>,
        registry: &mut Registry,
    ) -> anyhow::Result<Arc<Triggers>> {
        let triggers = Triggers::arm(&config)?;
        let library = Mutex::new(
            config
                .library
                .open()
                .with_context(|| format!("cannot open the library {}", config.library))?,
        );
        for armed in triggers.values() {
            armed
                .adopt_legacy_claims(&library)
                .with_context(|| format!("cannot set up trigger `{}`", armed.trigger.name))?;
        }
        Ok(Arc::new(Triggers {
            armed: RwLock::new(Arc::new(triggers)),
            library,
            metrics: Metrics::register(registry),
        }))
    }

    /// Resolves every trigger's secret and builds its target's client.
    pub fn arm(config: &config::Config) -> anyhow::Result<Armed> {
        config
            .triggers
            .iter()
            .map(|t| {
                let armed = ArmedTrigger::new(config, t)
                    .with_context(|| format!("cannot set up trigger `{}`", t.name))?;
                Ok((t.name.clone(), Arc::new(armed)))
            })
            .collect()
    }

    /// Replaces the triggers (a configuration reload).
    pub fn rearm(&self, triggers: Armed) {
        *self.armed.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(triggers);
    }

    fn armed(&self) -> Arc<Armed> {
        Arc::clone(&self.armed.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The routes: `POST /hooks/{name}`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/hooks/{name}", post(handle))
            .with_state(Arc::clone(self))
    }

    /// Lifts every block whose TTL has passed as of `now` (the daemon calls this on its
    /// scheduler tick). A trigger whose lift fails is logged and tried again next time.
    pub async fn lift_due(&self, now: DateTime<Utc>) -> Vec<TriggerReport> {
        let mut reports = Vec::new();
        for (name, armed) in self.armed().iter() {
            if armed.trigger.ttl.is_none() {
                continue;
            }
            match armed.lift_due(&self.library, now).await {
                Ok(Some(report)) => {
                    tracing::info!(trigger = %name, status = %report.status, lifted = report.values.len(), "lifted blocks whose TTL passed");
                    self.metrics.report(&report);
                    reports.push(report);
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(trigger = %name, %error, "cannot lift blocks"),
            }
        }
        reports
    }
}

/// A JSON error answer.
fn refuse(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

async fn handle(
    State(triggers): State<Arc<Triggers>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(armed) = triggers.armed().get(&name).cloned() else {
        return refuse(StatusCode::NOT_FOUND, "no trigger of that name");
    };
    let (outcome, response) = answer(&triggers, &armed, &headers, body).await;
    triggers.metrics.call(&name, outcome);
    triggers
        .metrics
        .latency
        .get_or_create(&TriggerLabel { trigger: name })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Whether reading a body failed because the listener's body deadline passed.
fn timed_out(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Why a trigger call was not fired: each answers with its HTTP status, a JSON
/// `{"error": ...}` body (naming headers, never secrets) and the outcome label of the
/// `iocsync_trigger_calls` metric.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the body is over this trigger's limit of {0} bytes")]
    TooLarge(usize),
    #[error("the body did not arrive in time (the daemon's [serve] body_timeout)")]
    TooSlow,
    #[error(transparent)]
    Auth(AuthError),
    #[error("the body is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("the alert gives no value: {0}")]
    NoValue(String),
    #[error(transparent)]
    Engine(engine::EngineError),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Refusal::Auth(AuthError::Replayed) => StatusCode::CONFLICT,
            Refusal::Auth(_) => StatusCode::UNAUTHORIZED,
            Refusal::NotJson(_) | Refusal::NoValue(_) => StatusCode::BAD_REQUEST,
            Refusal::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The outcome label of the call metric.
    fn outcome(&self) -> &'static str {
        match self {
            Refusal::TooLarge(_) => "too_large",
            Refusal::TooSlow => "too_slow",
            Refusal::Auth(AuthError::Replayed) => "replayed",
            Refusal::Auth(_) => "unauthorized",
            Refusal::NotJson(_) | Refusal::NoValue(_) => "bad_request",
            Refusal::Engine(_) => "error",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.status(), &self)
    }
}

/// The answer to a call that fired: 200 with every value's outcome, or 502 when the target let
/// the call down (it halted, or nothing could be done and something failed; values the guard
/// refused are an answer, not a failure).
struct Fired(trigger::TriggerReport);

impl Fired {
    fn status(&self) -> StatusCode {
        let report = &self.0;
        let done = report.values.iter().any(|v| {
            matches!(
                v.outcome,
                trigger::Outcome::Blocked { .. } | trigger::Outcome::Sent
            )
        });
        let failed = report
            .values
            .iter()
            .any(|v| matches!(v.outcome, trigger::Outcome::Failed { .. }));
        if report.halted.is_some() || (!done && failed) {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::OK
        }
    }

    /// The outcome label of the call metric.
    fn outcome(&self) -> &'static str {
        match self.0.status {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial | RunStatus::Running | RunStatus::Held => "partial",
            RunStatus::Failed | RunStatus::Interrupted => "failed",
        }
    }
}

impl IntoResponse for Fired {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.0)).into_response()
    }
}

/// Reads, authenticates, maps and fires one call; returns the metric outcome and the answer.
async fn answer(
    triggers: &Triggers,
    armed: &ArmedTrigger,
    headers: &HeaderMap,
    body: Body,
) -> (&'static str, Response) {
    match fire(triggers, armed, headers, body).await {
        Ok(fired) => (fired.outcome(), fired.into_response()),
        Err(refusal) => {
            let name = &armed.trigger.name;
            match &refusal {
                Refusal::Engine(error) => {
                    tracing::error!(trigger = %name, %error, "trigger failed")
                }
                Refusal::Auth(error) => {
                    tracing::warn!(trigger = %name, %error, "trigger call refused")
                }
                _ => {}
            }
            (refusal.outcome(), refusal.into_response())
        }
    }
}

async fn fire(
    triggers: &Triggers,
    armed: &ArmedTrigger,
    headers: &HeaderMap,
    body: Body,
) -> Result<Fired, Refusal> {
    let limit = armed.trigger.max_body;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Refusal::TooLarge(limit));
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|error| {
        if timed_out(&error) {
            Refusal::TooSlow
        } else {
            Refusal::TooLarge(limit)
        }
    })?;
    let lookup = |wanted: &str| {
        headers
            .get(wanted)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    armed
        .authenticate(&triggers.library, &lookup, &body, Utc::now())
        .map_err(Refusal::Engine)?
        .map_err(Refusal::Auth)?;
    let alert: serde_json::Value = serde_json::from_slice(&body).map_err(Refusal::NotJson)?;
    let mapped = trigger::map_alert(&armed.trigger, &alert);
    if mapped.inputs.is_empty() {
        let reasons: Vec<String> = mapped
            .skipped
            .iter()
            .map(|(template, reason)| format!("{template}: {reason}"))
            .collect();
        return Err(Refusal::NoValue(reasons.join("; ")));
    }
    let report = armed
        .fire(&triggers.library, &mapped, Utc::now())
        .await
        .map_err(Refusal::Engine)?;
    let name = &armed.trigger.name;
    tracing::info!(trigger = %name, status = %report.status, run = report.run_id, values = report.values.len(), "trigger fired");
    triggers.metrics.report(&report);
    Ok(Fired(report))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use emulator::EmulatorConfig;
    use reqwest::StatusCode as Status;
    use serde_json::Value;

    use super::*;

    const KEY: &str = "triggers-test-key";
    const SECRET: &str = "triggers-test-secret";
    const TOKEN: &str = "triggers-test-token";

    struct Fixture {
        _dir: tempfile::TempDir,
        emulator: emulator::RunningEmulator,
        url: String,
        registry: Registry,
        config: Arc<config::Config>,
        triggers: Arc<Triggers>,
        client: reqwest::Client,
    }

    fn config_text(dir: &Path, v1: &str) -> String {
        let file = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let (key, secret, token) = (
            file("key", KEY),
            file("secret", SECRET),
            file("token", TOKEN),
        );
        format!(
            r#"
[library]
path = "{lib}"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "{v1}"
api_key = "file:{key}"
proxy = "none"

[[triggers]]
name = "signed"
target = "v1"
action = "blocklist"
secret = "file:{secret}"
max_body = 256
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "event.src"

[[triggers]]
name = "bearer"
target = "v1"
action = "blocklist"
token = "file:{token}"
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "event.src"

[[triggers]]
name = "ttl"
target = "v1"
action = "blocklist"
token = "file:{token}"
ttl = "1h"
values = ["$SrcIP"]
[triggers.fields]
SrcIP = "event.src"
"#,
            lib = dir.join("library.db").display(),
        )
    }

    async fn fixture() -> Fixture {
        let emulator = emulator::spawn(EmulatorConfig {
            api_keys: vec![KEY.into()],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), &emulator.base_url().to_string());
        let config = Arc::new(config::Config::from_toml(&text).unwrap());
        let mut registry = Registry::default();
        let triggers = Triggers::new(Arc::clone(&config), &mut registry).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = triggers.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Fixture {
            _dir: dir,
            emulator,
            url,
            registry,
            config,
            triggers,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    impl Fixture {
        async fn post(
            &self,
            trigger: &str,
            headers: &[(&str, String)],
            body: &str,
        ) -> (Status, Value) {
            let url = format!("{}/hooks/{trigger}", self.url);
            post_to(&self.client, &url, headers, body).await
        }

        async fn signed(&self, body: &str, at: i64) -> (Status, Value) {
            self.post("signed", &signed_headers(body, at), body).await
        }

        fn blocked(&self) -> Vec<String> {
            let snapshot = self.emulator.emulator().snapshot();
            snapshot
                .suspicious_objects
                .into_iter()
                .map(|o| o.value)
                .collect()
        }

        fn metrics(&self) -> String {
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, &self.registry).unwrap();
            text
        }
    }

    async fn post_to(
        client: &reqwest::Client,
        url: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (Status, Value) {
        let mut request = client.post(url).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The headers of `body` signed with the test secret at `at`.
    fn signed_headers(body: &str, at: i64) -> [(&'static str, String); 2] {
        [
            (
                "X-Iocsync-Signature",
                trigger::sign(SECRET.as_bytes(), at, body.as_bytes()),
            ),
            ("X-Iocsync-Timestamp", at.to_string()),
        ]
    }

    const ALERT: &str = r#"{"event": {"src": "45.6.6.6"}}"#;

    #[tokio::test]
    async fn signed_calls_block_and_bad_ones_get_their_status() {
        let f = fixture().await;
        let now = Utc::now().timestamp();

        let (status, answer) = f.post("signed", &[], ALERT).await;
        assert_eq!(status, Status::UNAUTHORIZED, "{answer}");
        let wrong = [
            (
                "X-Iocsync-Signature",
                trigger::sign(b"guess", now, ALERT.as_bytes()),
            ),
            ("X-Iocsync-Timestamp", now.to_string()),
        ];
        assert_eq!(
            f.post("signed", &wrong, ALERT).await.0,
            Status::UNAUTHORIZED
        );
        assert_eq!(
            f.signed(ALERT, now - 3600).await.0,
            Status::UNAUTHORIZED,
            "stale"
        );
        assert!(f.blocked().is_empty(), "nothing sent for refused calls");

        let (status, answer) = f.signed(ALERT, now).await;
        assert_eq!(status, Status::OK, "{answer}");
        assert_eq!(answer["status"], "succeeded");
        assert_eq!(answer["values"][0]["outcome"], "blocked");
        assert_eq!(answer["values"][0]["value"], "45.6.6.6");
        assert_eq!(f.blocked(), ["45.6.6.6"]);
        let (status, answer) = f.signed(ALERT, now).await;
        assert_eq!(status, Status::CONFLICT, "replay: {answer}");

        let text = f.metrics();
        for line in [
            r#"iocsync_triggers_total{trigger="signed",outcome="succeeded"} 1"#,
            r#"iocsync_triggers_total{trigger="signed",outcome="unauthorized"} 3"#,
            r#"iocsync_triggers_total{trigger="signed",outcome="replayed"} 1"#,
            r#"iocsync_trigger_values_total{trigger="signed",outcome="blocked"} 1"#,
            r#"iocsync_trigger_latency_seconds_count{trigger="signed"} 5"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!text.contains(SECRET));
    }

    #[tokio::test]
    async fn bodies_unknown_triggers_and_unmappable_alerts_are_refused() {
        let f = fixture().await;
        let now = Utc::now().timestamp();
        let big = format!(
            r#"{{"event": {{"src": "45.6.6.6", "pad": "{}"}}}}"#,
            "x".repeat(300)
        );
        assert_eq!(f.signed(&big, now).await.0, Status::PAYLOAD_TOO_LARGE);
        assert_eq!(f.post("nope", &[], ALERT).await.0, Status::NOT_FOUND);
        let (status, answer) = f.signed("{not json", now).await;
        assert_eq!(status, Status::BAD_REQUEST);
        assert!(
            answer["error"].as_str().unwrap().contains("not JSON"),
            "{answer}"
        );
        let (status, answer) = f.signed(r#"{"event": {}}"#, now).await;
        assert_eq!(status, Status::BAD_REQUEST);
        assert!(
            answer["error"].as_str().unwrap().contains("SrcIP"),
            "{answer}"
        );

        let private = r#"{"event": {"src": "10.9.9.9"}}"#;
        let (status, answer) = f.signed(private, now).await;
        assert_eq!(status, Status::OK, "a guard refusal is an answer: {answer}");
        assert_eq!(answer["values"][0]["outcome"], "refused");
        assert!(
            answer["values"][0]["rule"]
                .as_str()
                .unwrap()
                .starts_with("builtin:")
        );
        let stats = f.emulator.emulator().request_stats();
        let requests: u64 = stats.endpoints.values().map(|e| e.requests).sum();
        assert_eq!(requests, 0, "nothing reached the target");
    }

    #[tokio::test]
    async fn bearer_tokens_let_the_right_caller_in() {
        let f = fixture().await;
        let auth = |token: &str| [("Authorization", format!("Bearer {token}"))];
        assert_eq!(
            f.post("bearer", &auth("wrong"), ALERT).await.0,
            Status::UNAUTHORIZED
        );
        let (status, answer) = f.post("bearer", &auth(TOKEN), ALERT).await;
        assert_eq!(status, Status::OK, "{answer}");
        assert_eq!(f.blocked(), ["45.6.6.6"]);
        assert!(
            f.triggers.lift_due(Utc::now()).await.is_empty(),
            "no TTL, nothing to lift"
        );
    }

    #[tokio::test]
    async fn ttl_blocks_are_lifted_after_a_restart() {
        let f = fixture().await;
        let auth = [("Authorization", format!("Bearer {TOKEN}"))];
        let (status, answer) = f.post("ttl", &auth, ALERT).await;
        assert_eq!(status, Status::OK, "{answer}");
        assert!(answer["values"][0]["lift_at"].is_string(), "{answer}");
        assert_eq!(f.blocked(), ["45.6.6.6"]);

        // A restart: new triggers over the same config and library file.
        let mut registry = Registry::default();
        let restarted = Triggers::new(Arc::clone(&f.config), &mut registry).unwrap();
        let now = Utc::now();
        assert!(
            restarted
                .lift_due(now + chrono::Duration::minutes(30))
                .await
                .is_empty()
        );
        assert_eq!(f.blocked(), ["45.6.6.6"]);
        let lifted = restarted.lift_due(now + chrono::Duration::hours(2)).await;
        assert_eq!(lifted.len(), 1);
        assert_eq!(lifted[0].status, RunStatus::Succeeded, "{:?}", lifted[0]);
        assert!(f.blocked().is_empty());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"iocsync_trigger_values_total{trigger="ttl",outcome="lifted"} 1"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_signature_replayed_after_a_restart_gets_409() {
        let f = fixture().await;
        let now = Utc::now().timestamp();
        let headers = signed_headers(ALERT, now);
        assert_eq!(f.post("signed", &headers, ALERT).await.0, Status::OK);

        // A restart: new triggers over the same config and library file, on a new listener.
        let restarted = Triggers::new(Arc::clone(&f.config), &mut Registry::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/signed", listener.local_addr().unwrap());
        let router = restarted.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let (status, answer) = post_to(&f.client, &url, &headers, ALERT).await;
        assert_eq!(status, Status::CONFLICT, "{answer}");
        let fresh = signed_headers(ALERT, now + 1);
        assert_eq!(post_to(&f.client, &url, &fresh, ALERT).await.0, Status::OK);
        let stored = library_bytes(f.config.library.file().unwrap());
        let signature = headers[0].1.as_bytes();
        assert!(
            !stored.windows(signature.len()).any(|w| w == signature),
            "the library keeps a hash, not the signature"
        );
    }

    /// The library file's bytes, with its WAL (the signature must be in neither).
    fn library_bytes(library: &Path) -> Vec<u8> {
        let mut bytes = std::fs::read(library).unwrap();
        let wal = library.with_extension("db-wal");
        bytes.extend(std::fs::read(wal).unwrap_or_default());
        bytes
    }
}
