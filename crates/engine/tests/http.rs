//! The HTTP template workflow: the shared suite with the emulator as the webhook's receiver
//! (target `webhook` posts `[{"ip": "$value"}]` to its suspicious-object endpoint, so faults
//! and request counts apply), then a small axum receiver that checks the payload and the
//! credential header, which config refers to and never holds inline.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::suite::{Spec, compliance, ip};
use common::{Harness, sighting};
use indicator::Kind;
use serde_json::Value;
use testkit::ConfigBuilder;

const SPEC: Spec = Spec {
    target: "webhook",
    action: "http",
    parameters: "",
    value: ip,
    held: Harness::suspicious,
    // A webhook has no undo: a removal only forgets the value.
    undoes: false,
    writes_for: |adds, _removals| adds,
    stop_after: 10,
    shared: true,
    emulator: emulator::EmulatorConfig::default,
    moves_target_clock: true,
};

compliance!(SPEC);

type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn receive(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    seen.lock().unwrap().push((auth, body));
    StatusCode::NO_CONTENT
}

async fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn one_call_per_new_or_changed_value() {
    let (url, seen) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let key = testkit::secret_file(dir.path(), "token", "hook-token");
    let flow = ConfigBuilder::fragment()
        .http(
            "hook",
            &url,
            r#"{"indicator": "$value", "type": "$kind", "score": "$score"}"#,
        )
        .header("Authorization", &format!("Bearer ${{{key}}}"))
        .workflow("notify", "hook", "http")
        .toml();
    let mut h = Harness::new(&flow).await;
    let now = h.now;
    h.merge(&[
        sighting(Kind::Ipv4, "45.6.7.8", 9, now),
        sighting(Kind::Md5, &"c".repeat(32), 4, now),
    ]);
    let first = h.run("notify").await;
    assert_eq!(first.added, 2, "{:?} {:?}", first.failed, first.halted);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0.as_deref(), Some("Bearer hook-token"));
        assert_eq!(seen[0].1["indicator"], "45.6.7.8");
        assert_eq!(seen[0].1["score"], 9);
    }
    assert_eq!(h.run("notify").await.plan.changes(), 0);
    assert_eq!(seen.lock().unwrap().len(), 2);
    h.merge(&[sighting(Kind::Ipv4, "45.6.7.8", 10, now)]);
    assert_eq!(h.run("notify").await.updated, 1);
    assert_eq!(seen.lock().unwrap()[2].1["score"], 10);
}

#[tokio::test]
async fn an_inline_credential_header_is_refused() {
    // Written out, not built: the target's text is what is refused (and must not be echoed).
    let flow = r#"
[[targets]]
name = "hook"
product = "http"
base_url = "http://127.0.0.1:9/hook"
payload = '{"v": "$value"}'
headers = { Authorization = "Bearer abc123" }
"#;
    let text = format!("[library]\npath = \"x.db\"\n{flow}");
    let error = config::Config::from_toml(&text).unwrap_err().to_string();
    assert!(
        error.starts_with("targets[0].headers.Authorization:"),
        "{error}"
    );
    assert!(!error.contains("abc123"), "{error}");
}
