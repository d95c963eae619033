//! XDR v2 block / restore / getTask and the v3 response block list with its tasks.

use emulator::config::TaskSettings;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Api, READ_ONLY, config};

async fn api_with_delay(delay: u64) -> Api {
    Api::with(emulator::EmulatorConfig {
        tasks: TaskSettings {
            delay_seconds: delay,
        },
        ..config()
    })
    .await
}

async fn task_status(api: &Api, id: u64) -> String {
    let reply = api
        .v1_get(&format!("/v2.0/xdr/response/getTask?actionId={id}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["data"]["actionId"], id);
    reply.body["data"]["taskStatus"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn xdr_block_moves_from_pending_to_success_and_restore_undoes_it() {
    let api = api_with_delay(10).await;
    let body = json!({"valueType": "ip", "targetValue": "1.2.3.4", "productId": "DNIF", "description": "Blocking malicious IP"});
    let reply = api.v1_post("/v2.0/xdr/response/block", &body).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["taskStatus"], "pending");
    let id = reply.body["actionId"].as_u64().unwrap();
    assert_eq!(task_status(&api, id).await, "pending");
    assert!(api.running.emulator().snapshot().xdr_blocked.is_empty());
    api.advance(6).await;
    assert_eq!(task_status(&api, id).await, "ongoing");
    api.advance(5).await;
    assert_eq!(task_status(&api, id).await, "success");
    let blocked = api.running.emulator().snapshot().xdr_blocked;
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        (
            blocked[0].value_type.as_str(),
            blocked[0].target_value.as_str()
        ),
        ("ip", "1.2.3.4")
    );
    assert_eq!(blocked[0].product_id.as_deref(), Some("DNIF"));

    let restore = api.v1_post("/v2.0/xdr/response/restoreBlock", &body).await;
    let restore_id = restore.body["actionId"].as_u64().unwrap();
    assert_ne!(restore_id, id);
    api.advance(11).await;
    assert_eq!(task_status(&api, restore_id).await, "success");
    assert!(api.running.emulator().snapshot().xdr_blocked.is_empty());
}

#[tokio::test]
async fn xdr_validates_value_types_and_values() {
    let api = api_with_delay(0).await;
    for (value_type, value) in [
        ("ip", "1.2.3.4"),
        ("url", "http://bad.example/x"),
        ("domain", "bad.example"),
        ("mailbox", "a@bad.example"),
        ("file_sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ] {
        let reply = api
            .v1_post(
                "/v2.0/xdr/response/block",
                &json!({"valueType": value_type, "targetValue": value}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{value_type}: {}", reply.text);
    }
    assert_eq!(api.running.emulator().snapshot().xdr_blocked.len(), 5);
    for body in [
        json!({"valueType": "file_sha256", "targetValue": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}),
        json!({"valueType": "ip", "targetValue": "10.0.0.0/8"}),
        json!({"valueType": "ip"}),
        json!({"targetValue": "1.2.3.4"}),
        json!([{"valueType": "ip", "targetValue": "1.2.3.4"}]),
    ] {
        let reply = api.v1_post("/v2.0/xdr/response/block", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["error"]["code"], "BadRequest");
    }
    assert_eq!(
        api.v1_get("/v2.0/xdr/response/getTask?actionId=99999")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.v1_get("/v2.0/xdr/response/getTask").await.status,
        StatusCode::BAD_REQUEST
    );
    let denied = api
        .v1(
            Method::POST,
            "/v2.0/xdr/response/block",
            READ_ONLY,
            Some(&json!({"valueType": "ip", "targetValue": "1.2.3.4"})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let unauth = api
        .v1(
            Method::POST,
            "/v2.0/xdr/response/block",
            "bad",
            Some(&json!({})),
        )
        .await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn v3_block_list_answers_202_with_operation_location_tasks() {
    let api = api_with_delay(4).await;
    let reply = api
        .v1_post(
            "/v3.0/response/suspiciousObjects",
            &json!([
                {"ip": "6.6.6.6", "description": "from a SIEM alert"},
                {"fileSha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                {"ip": "not an ip"}
            ]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [202, 202, 400]);
    let header = &reply.body[0]["headers"][0];
    assert_eq!(header["name"], "Operation-Location");
    let location = header["value"].as_str().unwrap();
    let url = reqwest::Url::parse(location).unwrap();
    assert!(
        url.path().starts_with("/v3.0/response/tasks/"),
        "{location}"
    );

    let task = api
        .send(api.http.get(location).bearer_auth(crate::common::KEY))
        .await;
    assert_eq!(task.status, StatusCode::OK);
    assert_eq!(task.body["status"], "queued");
    assert_eq!(task.body["action"], "block");
    assert_eq!(task.body["type"], "ip");
    assert_eq!(task.body["ip"], "6.6.6.6");
    assert!(task.body["id"].as_str().unwrap().len() == 8);
    assert!(
        task.body["createdDateTime"].is_string() && task.body["lastActionDateTime"].is_string()
    );
    api.advance(2).await;
    let running = api
        .send(api.http.get(location).bearer_auth(crate::common::KEY))
        .await;
    assert_eq!(running.body["status"], "running");
    api.advance(2).await;
    let done = api
        .send(api.http.get(location).bearer_auth(crate::common::KEY))
        .await;
    assert_eq!(done.body["status"], "succeeded");

    let listed = api.v1_get("/v3.0/threatintel/suspiciousObjects").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let ip = items.iter().find(|i| i["type"] == "ip").unwrap();
    assert_eq!(
        (ip["scanAction"].as_str(), ip["description"].as_str()),
        (Some("block"), Some("from a SIEM alert"))
    );

    let undo = api
        .v1_post(
            "/v3.0/response/suspiciousObjects/delete",
            &json!([{"ip": "6.6.6.6"}]),
        )
        .await;
    assert_eq!(Api::statuses(&undo), [202]);
    api.advance(4).await;
    let listed = api.v1_get("/v3.0/threatintel/suspiciousObjects").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.v1_get("/v3.0/response/tasks/00009999").await.status,
        StatusCode::NOT_FOUND
    );
}
