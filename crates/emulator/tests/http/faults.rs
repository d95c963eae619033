//! Rate limits and injected faults: 429 in each family's format, 500s per request and per
//! item, latency, dropped connections and seeded determinism.

use std::time::{Duration, Instant};

use emulator::config::RateLimits;
use emulator::faults::FaultSettings;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Api, KEY, READ_ONLY, config};

const HEALTH: &str = "/v3.0/healthcheck/connectivity";

async fn set_faults(api: &Api, faults: serde_json::Value) {
    let reply = api
        .send(api.http.post(api.url("/_emulator/faults")).json(&faults))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn vision_one_rate_limit_answers_429_with_retry_after_per_key() {
    let api = Api::with(emulator::EmulatorConfig {
        rate_limits: RateLimits {
            vision_one: 3,
            deep_security: 2,
            xdr: 1,
            apex_central: 0,
        },
        ..config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
    }
    let limited = api.v1_get(HEALTH).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited.body,
        json!({"error": {"code": "TooManyRequests", "message": "Too many requests", "number": 4_290_102}})
    );
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(limited.headers["ratelimit-limit"], "3");
    // Another key has its own window; XDR and Deep Security have their own limits.
    assert_eq!(
        api.v1(Method::GET, HEALTH, READ_ONLY, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.v1_get("/v2.0/xdr/response/getTask?actionId=1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.v1_get("/v2.0/xdr/response/getTask?actionId=1")
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The window slides on the emulator's clock.
    api.advance(61).await;
    assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deep_security_rate_limit_has_its_own_body_and_no_retry_after() {
    let api = Api::with(emulator::EmulatorConfig {
        rate_limits: RateLimits {
            deep_security: 2,
            ..RateLimits::default()
        },
        ..config()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            api.ds(Method::GET, "/api/iplists", None).await.status,
            StatusCode::OK
        );
    }
    let limited = api.ds(Method::GET, "/api/iplists", None).await;
    assert_eq!(
        (limited.status, limited.body),
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Too many API requests."})
        )
    );
    assert!(!limited.headers.contains_key("retry-after"));
    // Unlimited by default elsewhere.
    for _ in 0..20 {
        assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn burst_of_429_then_normal_service() {
    let api = Api::start().await;
    set_faults(&api, json!({"burst_429": 2, "retry_after_seconds": 7})).await;
    let first = api.v1_get(HEALTH).await;
    assert_eq!(first.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.headers["retry-after"], "7");
    assert!(first.headers.contains_key("ratelimit-limit"));
    let second = api.ds(Method::GET, "/api/iplists", None).await;
    assert_eq!(
        (second.status, second.body),
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Too many API requests."})
        )
    );
    assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
    // Control endpoints are never faulted.
    set_faults(&api, json!({"burst_429": 5})).await;
    assert_eq!(
        api.send(api.http.get(api.url("/_emulator/state")))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_request_fails_at_error_rate_one_and_items_fail_at_item_error_rate_one() {
    let api = Api::start().await;
    set_faults(&api, json!({"error_rate": 1.0})).await;
    let v1 = api.v1_get("/v3.0/threatintel/suspiciousObjects").await;
    assert_eq!(v1.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        v1.body,
        json!({"error": {"code": "InternalServerError", "message": "Internal server error", "number": 5_000_102}})
    );
    // The connectivity check's 500 carries the innererror its spec requires.
    let health = api.v1_get(HEALTH).await;
    assert_eq!(health.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        health.body,
        json!({"error": {
            "code": "InternalServerError",
            "message": "Internal error",
            "innererror": {"code": "InternalServerError", "service": "svp"}
        }})
    );
    let ds = api.ds(Method::GET, "/api/iplists", None).await;
    assert_eq!(ds.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(ds.body["message"].is_string());

    set_faults(&api, json!({"item_error_rate": 1.0})).await;
    let reply = api
        .v1_post(
            "/v3.0/threatintel/suspiciousObjects",
            &json!([{"ip": "1.2.3.4"}, {"ip": "1.2.3.5"}]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [500, 500]);
    assert_eq!(
        reply.body[0]["body"]["error"]["code"],
        "InternalServerError"
    );
    assert!(
        api.running
            .emulator()
            .snapshot()
            .suspicious_objects
            .is_empty(),
        "failed items are not applied"
    );
}

#[tokio::test]
async fn partial_item_failures_follow_the_seed() {
    let outcome = |seed: u64| async move {
        let api = Api::with(emulator::EmulatorConfig {
            seed,
            faults: FaultSettings {
                item_error_rate: 0.5,
                ..FaultSettings::default()
            },
            ..config()
        })
        .await;
        let body: Vec<serde_json::Value> = (0..40)
            .map(|i| json!({"ip": format!("10.0.0.{i}")}))
            .collect();
        Api::statuses(
            &api.v1_post(
                "/v3.0/threatintel/suspiciousObjects",
                &serde_json::Value::Array(body),
            )
            .await,
        )
    };
    let a = outcome(42).await;
    assert_eq!(a, outcome(42).await);
    assert_ne!(a, outcome(43).await);
    assert!(a.contains(&500) && a.contains(&201));
}

#[tokio::test]
async fn latency_is_added() {
    let api = Api::start().await;
    set_faults(&api, json!({"latency_ms": 300})).await;
    let start = Instant::now();
    assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connections_get_no_response_at_all() {
    let api = Api::start().await;
    set_faults(&api, json!({"drop_rate": 1.0})).await;
    let err = api
        .http
        .get(api.url(HEALTH))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("error sending request"),
        "{err:?}"
    );
    set_faults(&api, json!({})).await;
    assert_eq!(api.v1_get(HEALTH).await.status, StatusCode::OK);
    let stats = api.running.emulator().request_stats();
    assert_eq!(
        stats.count("GET /v3.0/healthcheck/connectivity", "dropped"),
        1
    );
}

#[tokio::test]
async fn bad_fault_settings_are_refused() {
    let api = Api::start().await;
    for bad in [
        json!({"error_rate": 2.0}),
        json!({"unknown": 1}),
        json!({"latency_ms": "slow"}),
        json!({"xdr_task_outcomes": {"1.2.3.4": "rejected"}}),
        json!({"response_task_outcomes": {"1.2.3.4": "timeout"}}),
        json!({"response_task_outcomes": {"1.2.3.4": "exploded"}}),
    ] {
        let reply = api
            .send(api.http.post(api.url("/_emulator/faults")).json(&bad))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_rejected_value_gets_400_every_time_and_other_requests_pass() {
    let api = Api::start().await;
    set_faults(&api, json!({"reject_values": ["45.6.6.6"]})).await;
    let body = json!({"name": "l", "items": ["45.6.6.6"]});
    for _ in 0..2 {
        let refused = api.ds(Method::POST, "/api/iplists", Some(&body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert!(refused.text.contains("45.6.6.6"), "{}", refused.text);
    }
    let fine = json!({"name": "l", "items": ["45.7.7.7"]});
    let created = api.ds(Method::POST, "/api/iplists", Some(&fine)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let block = json!({"valueType": "ip", "targetValue": "45.6.6.6"});
    let xdr = api.v1_post("/v2.0/xdr/response/block", &block).await;
    assert_eq!(xdr.status, StatusCode::BAD_REQUEST, "{}", xdr.text);
}
