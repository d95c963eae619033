//! `/_emulator/*`: state, request counters, reset, clock; persistence across restarts.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Api, config};

#[tokio::test]
async fn state_and_request_counters() {
    let api = Api::start().await;
    api.v1_post(
        "/v3.0/threatintel/suspiciousObjects",
        &json!([{"ip": "1.2.3.4"}, {"ip": "bad"}]),
    )
    .await;
    api.v1_post(
        "/v3.0/threatintel/suspiciousObjectExceptions",
        &json!([{"domain": "good.example"}]),
    )
    .await;
    api.ds(
        Method::POST,
        "/api/iplists",
        Some(&json!({"name": "Blocked", "items": ["1.2.3.4"]})),
    )
    .await;
    api.v1(Method::GET, "/v3.0/healthcheck/connectivity", "wrong", None)
        .await;

    let state = api.send(api.http.get(api.url("/_emulator/state"))).await;
    assert_eq!(state.status, StatusCode::OK);
    assert_eq!(state.body["suspiciousObjects"][0]["value"], "1.2.3.4");
    assert_eq!(state.body["exceptions"][0]["value"], "good.example");
    assert_eq!(state.body["ipLists"].as_array().unwrap().len(), 7);
    assert!(state.body["now"].is_string());

    let requests = api.send(api.http.get(api.url("/_emulator/requests"))).await;
    let endpoints = &requests.body["endpoints"];
    let add = &endpoints["POST /v3.0/threatintel/suspiciousObjects"];
    assert_eq!(add["requests"], 1);
    assert_eq!(add["statuses"]["207"], 1);
    assert!(add["request_bytes"].as_u64().unwrap() > 20);
    assert!(add["response_bytes"].as_u64().unwrap() > 20);
    assert_eq!(
        endpoints["GET /v3.0/healthcheck/connectivity"]["statuses"]["401"],
        1
    );
    assert_eq!(endpoints["POST /api/iplists"]["statuses"]["200"], 1);
}

#[tokio::test]
async fn reset_returns_to_the_start_and_clock_reports_time() {
    let api = Api::start().await;
    api.v1_post(
        "/v3.0/threatintel/suspiciousObjects",
        &json!([{"ip": "1.2.3.4"}]),
    )
    .await;
    api.ds(Method::DELETE, "/api/iplists/1", None).await;
    let before = api
        .send(api.http.get(api.url("/_emulator/clock")))
        .await
        .body["unix"]
        .as_i64()
        .unwrap();
    api.advance(3600).await;
    let after = api
        .send(api.http.get(api.url("/_emulator/clock")))
        .await
        .body["unix"]
        .as_i64()
        .unwrap();
    assert!(after - before >= 3600);
    let reset = api.send(api.http.post(api.url("/_emulator/reset"))).await;
    assert_eq!(reset.status, StatusCode::OK);
    let snapshot = api.running.emulator().snapshot();
    assert!(snapshot.suspicious_objects.is_empty());
    assert_eq!(snapshot.ip_lists.len(), 6);
    assert!(api.running.emulator().now() - before < 3600);
    assert!(api.running.emulator().request_stats().endpoints.is_empty());
    let bad = api
        .send(
            api.http
                .post(api.url("/_emulator/clock"))
                .json(&json!({"seconds": 5})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let with_file = || emulator::EmulatorConfig {
        state_file: Some(path.clone()),
        ..config()
    };
    let api = Api::with(with_file()).await;
    api.v1_post(
        "/v3.0/threatintel/suspiciousObjects",
        &json!([{"url": "http://bad.example/", "riskLevel": "low"}]),
    )
    .await;
    api.ds(
        Method::POST,
        "/api/iplists",
        Some(&json!({"name": "Blocked", "items": ["1.2.3.4"]})),
    )
    .await;
    api.running.shutdown().await.unwrap();
    assert!(path.exists());

    let again = Api::with(with_file()).await;
    let listed = again.v1_get("/v3.0/threatintel/suspiciousObjects").await;
    assert_eq!(listed.body["items"][0]["url"], "http://bad.example/");
    assert_eq!(listed.body["items"][0]["riskLevel"], "low");
    let created = again
        .ds(Method::POST, "/api/iplists", Some(&json!({"name": "Next"})))
        .await;
    assert_eq!(created.body["ID"], 8, "ID counter survives");
    assert_eq!(
        again.ds(Method::GET, "/api/iplists/7", None).await.body["name"],
        "Blocked"
    );
}

#[tokio::test]
async fn unknown_paths_get_each_family_s_404() {
    let api = Api::start().await;
    let v1 = api.v1_get("/v3.0/nothing/here").await;
    assert_eq!(
        (v1.status, v1.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );
    let ds = api.ds(Method::GET, "/api/nothing", None).await;
    assert_eq!(ds.status, StatusCode::NOT_FOUND);
    assert!(ds.body["message"].is_string());
}

#[tokio::test]
async fn a_bad_config_file_names_the_key() {
    let err = emulator::EmulatorConfig::from_toml_str("[limits]\nexceptionz = 3\n").unwrap_err();
    assert!(err.to_string().contains("exceptionz"), "{err}");
    let err =
        emulator::EmulatorConfig::from_toml_str("[customer_settings]\ndays_to_expiration = 0\n")
            .unwrap_err();
    assert!(err.to_string().contains("days_to_expiration"), "{err}");
    let ok = emulator::EmulatorConfig::from_toml_str(
        "api_keys = [\"k\"]\nseed = 3\n[customer_settings]\nrisk_level = \"high\"\n[rate_limits]\nvision_one = 100\n[faults]\nlatency_ms = 5\n",
    )
    .unwrap();
    assert_eq!(ok.rate_limits.vision_one, 100);
    assert_eq!(ok.faults.latency_ms, 5);
}
