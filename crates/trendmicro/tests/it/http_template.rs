//! The templated webhook against the emulator's XDR v2 block endpoint, as the DNIF seed uses it.

use std::collections::BTreeMap;

use serde_json::json;
use trendmicro::Error;
use trendmicro::http_template::{Fields, HttpTemplateClient, HttpTemplateConfig, TemplateError};

use crate::common::{Emu, KEY, fast_policy};

const DNIF_BLOCK: &str =
    r#"{"valueType":"ip","targetValue":"$SrcIP","productId":"DNIF","description":"$description"}"#;

fn config(emu: &Emu, token_file: &std::path::Path) -> HttpTemplateConfig {
    let url = emu.base().join("/v2.0/xdr/response/block").unwrap();
    let mut config = HttpTemplateConfig::new(url, DNIF_BLOCK);
    config.headers.insert(
        "Authorization".into(),
        format!("Bearer ${{file:{}}}", token_file.display()),
    );
    config.headers.insert(
        "Content-Type".into(),
        "application/json;charset=utf-8".into(),
    );
    config.http = fast_policy();
    config
}

fn fields<'a>(extra: &'a BTreeMap<String, serde_json::Value>) -> Fields<'a> {
    Fields {
        value: "203.0.113.50",
        kind: "ipv4",
        score: Some(9),
        description: "Blocking \"malicious\" IP\n(alert 42)",
        tags: &[],
        extra,
    }
}

#[tokio::test]
async fn sends_the_dnif_block_payload_with_a_secret_header() {
    let emu = Emu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("xdr-token");
    std::fs::write(&token, format!("{KEY}\n")).unwrap();
    let client = HttpTemplateClient::new(&config(&emu, &token)).unwrap();
    assert!(
        !format!("{client:?}").contains(KEY),
        "Debug must not show the token"
    );

    let extra = BTreeMap::from([("SrcIP".to_owned(), json!("203.0.113.50"))]);
    let response = client.send(&fields(&extra)).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(
        response.excerpt.contains("actionId"),
        "{}",
        response.excerpt
    );
    let tasks = emu.state().await["tasks"].to_string();
    assert!(tasks.contains("203.0.113.50"), "{tasks}");
    assert!(
        tasks.contains(r#"Blocking \"malicious\" IP\n(alert 42)"#),
        "{tasks}"
    );

    // A field the alert does not carry fails before anything is sent.
    let error = client.send(&fields(&BTreeMap::new())).await.unwrap_err();
    assert!(
        matches!(&error, Error::Template(TemplateError::MissingField { name }) if name == "SrcIP"),
        "{error:?}"
    );
    assert_eq!(client.stats().total_calls(), 1);
}

#[tokio::test]
async fn a_removal_template_undoes_what_the_payload_did() {
    let mut settings = emulator::EmulatorConfig::default();
    settings.tasks.delay_seconds = 0;
    let emu = Emu::with(settings).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("xdr-token");
    std::fs::write(&token, KEY).unwrap();
    let mut config = config(&emu, &token);
    let blocked = |state: &serde_json::Value| state["xdrBlocked"].to_string();
    let without = HttpTemplateClient::new(&config).unwrap();
    assert!(!without.can_remove());
    let extra = BTreeMap::from([("SrcIP".to_owned(), json!("203.0.113.50"))]);
    let error = without.remove(&fields(&extra)).await.unwrap_err();
    assert!(error.to_string().contains("remove_payload"), "{error}");

    config.remove_url = Some(emu.base().join("/v2.0/xdr/response/restoreBlock").unwrap());
    config.remove_payload = Some(DNIF_BLOCK.to_owned());
    let client = HttpTemplateClient::new(&config).unwrap();
    assert!(client.can_remove());
    client.send(&fields(&extra)).await.unwrap();
    assert!(blocked(&emu.state().await).contains("203.0.113.50"));
    client.remove(&fields(&extra)).await.unwrap();
    assert!(!blocked(&emu.state().await).contains("203.0.113.50"));
    let endpoints: Vec<String> = client
        .stats()
        .calls
        .iter()
        .map(|c| c.endpoint.clone())
        .collect();
    assert_eq!(endpoints, ["http", "http-remove"]);

    config.remove_payload = Some("{\"a\": $value}".to_owned());
    let error = HttpTemplateClient::new(&config).unwrap_err().to_string();
    assert!(error.contains("remove_payload"), "{error}");
}

#[tokio::test]
async fn a_refused_request_reports_status_and_body() {
    let emu = Emu::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("xdr-token");
    std::fs::write(&token, "wrong-token-31337").unwrap();
    let client = HttpTemplateClient::new(&config(&emu, &token)).unwrap();
    let extra = BTreeMap::from([("SrcIP".to_owned(), json!("203.0.113.50"))]);
    let error = client.send(&fields(&extra)).await.unwrap_err();
    match &error {
        Error::Webhook {
            status: 401,
            excerpt,
            ..
        } => {
            assert!(excerpt.contains("Invalid token"), "{excerpt}")
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert!(!error.to_string().contains("wrong-token-31337"));
}

#[test]
fn invalid_templates_and_secrets_are_refused_at_build() {
    let url = url::Url::parse("http://127.0.0.1:9/hook").unwrap();
    let error = HttpTemplateClient::new(&HttpTemplateConfig::new(url.clone(), "{\"a\": $value}"))
        .unwrap_err();
    assert!(error.to_string().contains("line 1, column 7"), "{error}");

    let mut config = HttpTemplateConfig::new(url, "{}");
    config.headers.insert(
        "Authorization".into(),
        "env:IOCSYNC_TEST_SURELY_UNSET".into(),
    );
    let error = HttpTemplateClient::new(&config).unwrap_err();
    assert!(
        error.to_string().contains("env:IOCSYNC_TEST_SURELY_UNSET"),
        "{error}"
    );
}
