//! XDR v2 block / restore / getTask and the v3 response block list with its tasks.

use emulator::config::TaskSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Api, KEY, READ_ONLY, config};

async fn api_with_delay(delay: u64) -> Api {
    Api::with(emulator::EmulatorConfig {
        tasks: TaskSettings {
            delay_seconds: delay,
        },
        ..config()
    })
    .await
}

/// `data` of a getTask answer, checked to have exactly the mock-up's fields
/// (`mappings/xdr/v2/common/get_task.json`): integer times, an `error` object, nothing more.
async fn task_data(api: &Api, id: u64) -> Value {
    let reply = api
        .v1_get(&format!("/v2.0/xdr/response/getTask?actionId={id}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let data = reply.body["data"].clone();
    let mut keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdTime",
            "error",
            "executedTime",
            "finishedTime",
            "taskStatus"
        ],
        "{data}"
    );
    for time in ["createdTime", "executedTime", "finishedTime"] {
        assert!(data[time].is_i64(), "{time} is epoch seconds: {data}");
    }
    assert_eq!(data["error"], json!({}));
    data
}

async fn task_status(api: &Api, id: u64) -> String {
    task_data(api, id).await["taskStatus"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn set_faults(api: &Api, faults: Value) {
    let reply = api
        .send(api.http.post(api.url("/_emulator/faults")).json(&faults))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// GET on a task's `Operation-Location` (or any task URL).
async fn get_task(api: &Api, url: &str) -> Value {
    let reply = api.send(api.http.get(url).bearer_auth(KEY)).await;
    assert_eq!(reply.status, StatusCode::OK, "{url}: {}", reply.text);
    reply.body
}

/// The `Operation-Location` of one 207 element.
fn location(item: &Value) -> String {
    assert_eq!(item["headers"][0]["name"], "Operation-Location", "{item}");
    item["headers"][0]["value"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn xdr_block_moves_from_pending_to_success_and_restore_undoes_it() {
    let api = api_with_delay(10).await;
    let body = json!({"valueType": "ip", "targetValue": "1.2.3.4", "productId": "DNIF", "description": "Blocking malicious IP"});
    let reply = api.v1_post("/v2.0/xdr/response/block", &body).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["taskStatus"], "pending");
    let id = reply.body["actionId"].as_u64().unwrap();
    let pending = task_data(&api, id).await;
    assert_eq!(pending["taskStatus"], "pending");
    assert_eq!(
        (
            pending["executedTime"].as_i64(),
            pending["finishedTime"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let created = pending["createdTime"].as_i64().unwrap();
    assert!((created - api.running.emulator().now()).abs() <= 1);
    assert!(api.running.emulator().snapshot().xdr_blocked.is_empty());
    api.advance(6).await;
    let ongoing = task_data(&api, id).await;
    assert_eq!(ongoing["taskStatus"], "ongoing");
    assert_eq!(ongoing["executedTime"].as_i64(), Some(created + 5));
    assert_eq!(ongoing["finishedTime"].as_i64(), Some(0));
    api.advance(5).await;
    let done = task_data(&api, id).await;
    assert_eq!(done["taskStatus"], "success");
    assert_eq!(done["createdTime"].as_i64(), Some(created));
    assert_eq!(done["finishedTime"].as_i64(), Some(created + 10));
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
    // Operation-Location as documented: .../v3.0/xdr/response/tasks/<id>.
    let location = location(&reply.body[0]);
    let url = reqwest::Url::parse(&location).unwrap();
    let id = url.path_segments().unwrap().next_back().unwrap().to_owned();
    assert_eq!(url.path(), format!("/v3.0/xdr/response/tasks/{id}"));
    assert_eq!(id.len(), 8);

    // The task body has exactly the documented fields (no `type`); both paths serve it.
    let task = get_task(&api, &location).await;
    let mut keys: Vec<&str> = task
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account",
            "action",
            "createdDateTime",
            "description",
            "id",
            "ip",
            "lastActionDateTime",
            "status"
        ],
        "{task}"
    );
    assert_eq!(
        (&task["id"], &task["status"], &task["action"], &task["ip"]),
        (
            &json!(id),
            &json!("queued"),
            &json!("block"),
            &json!("6.6.6.6")
        )
    );
    assert_eq!(
        get_task(&api, &api.url(&format!("/v3.0/response/tasks/{id}"))).await,
        task,
        "pytmv1's path serves the same task"
    );
    api.advance(2).await;
    assert_eq!(get_task(&api, &location).await["status"], "running");
    api.advance(2).await;
    assert_eq!(get_task(&api, &location).await["status"], "succeeded");

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
    for path in [
        "/v3.0/response/tasks/00009999",
        "/v3.0/xdr/response/tasks/00009999",
    ] {
        assert_eq!(
            api.v1_get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn xdr_tasks_end_failed_timeout_or_skipped_per_value_and_block_nothing() {
    let api = api_with_delay(4).await;
    set_faults(
        &api,
        json!({"xdr_task_outcomes": {"45.0.0.1": "failed", "45.0.0.2": "timeout", "bad.example": "skipped"}}),
    )
    .await;
    let mut ids = Vec::new();
    for (value_type, value) in [
        ("ip", "45.0.0.1"),
        ("ip", "45.0.0.2"),
        ("domain", "bad.example"),
        ("ip", "45.0.0.3"),
    ] {
        let reply = api
            .v1_post(
                "/v2.0/xdr/response/block",
                &json!({"valueType": value_type, "targetValue": value}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        ids.push(reply.body["actionId"].as_u64().unwrap());
    }
    assert_eq!(task_status(&api, ids[0]).await, "pending");
    api.advance(2).await;
    assert_eq!(task_status(&api, ids[1]).await, "ongoing");
    api.advance(2).await;
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(task_status(&api, *id).await);
    }
    assert_eq!(statuses, ["failed", "timeout", "skipped", "success"]);
    let blocked = api.running.emulator().snapshot().xdr_blocked;
    let values: Vec<&str> = blocked.iter().map(|b| b.target_value.as_str()).collect();
    assert_eq!(values, ["45.0.0.3"], "only the task that succeeded blocks");
    // The outcome is fixed when the task is created: clearing the faults changes nothing.
    set_faults(&api, json!({})).await;
    assert_eq!(task_status(&api, ids[0]).await, "failed");
}

#[tokio::test]
async fn v3_tasks_fail_are_rejected_canceled_or_wait_for_approval_per_value() {
    let api = api_with_delay(4).await;
    set_faults(
        &api,
        json!({"response_task_outcomes": {
            "45.0.0.1": "failed",
            "45.0.0.2": "rejected",
            "45.0.0.3": "canceled",
            "45.0.0.4": "pendingApproval"
        }}),
    )
    .await;
    let items: Vec<Value> = (1..=5)
        .map(|i| json!({"ip": format!("45.0.0.{i}")}))
        .collect();
    let reply = api
        .v1_post("/v3.0/response/suspiciousObjects", &Value::Array(items))
        .await;
    assert_eq!(Api::statuses(&reply), [202; 5]);
    let locations: Vec<String> = reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(location)
        .collect();
    api.advance(4).await;
    let mut tasks = Vec::new();
    for location in &locations {
        tasks.push(get_task(&api, location).await);
    }
    let statuses: Vec<&str> = tasks
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "failed",
            "rejected",
            "canceled",
            "pendingApproval",
            "succeeded"
        ]
    );
    // A failed task carries the mock-up's TaskError; the others carry no error.
    assert_eq!(
        tasks[0]["error"],
        json!({"code": "TaskError", "number": 4_009_999, "message": "An internal error has occurred."})
    );
    assert!(
        tasks[1..].iter().all(|t| t.get("error").is_none()),
        "{tasks:?}"
    );
    let listed = api.v1_get("/v3.0/threatintel/suspiciousObjects").await;
    let ips: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["45.0.0.5"], "only the task that succeeded blocks");
    // Waiting for approval never ends.
    api.advance(86_400).await;
    assert_eq!(
        get_task(&api, &locations[3]).await["status"],
        "pendingApproval"
    );
}

#[tokio::test]
async fn v3_duplicates_of_open_tasks_and_restores_of_unknown_values_are_refused_per_item() {
    let api = api_with_delay(4).await;
    let block = |ip: &str| json!([{"ip": ip}]);
    let first = api
        .v1_post("/v3.0/response/suspiciousObjects", &block("45.1.1.1"))
        .await;
    let open = location(&first.body[0]);
    // The same block while the first is open: Task duplication, pointing at the open task
    // (mock-up add_block_list_207_400_task_duplication.json). Twice in one request: the same.
    let again = api
        .v1_post(
            "/v3.0/response/suspiciousObjects",
            &json!([{"ip": "45.1.1.1"}, {"ip": "45.1.1.2"}, {"ip": "45.1.1.2"}]),
        )
        .await;
    assert_eq!(Api::statuses(&again), [400, 202, 400]);
    assert_eq!(
        again.body[0]["body"],
        json!({"error": {"code": "TaskError", "message": "Task duplication."}})
    );
    assert_eq!(location(&again.body[0]), open);
    assert_eq!(location(&again.body[2]), location(&again.body[1]));

    // Restoring a value never blocked: Target not found (delete_block_list_207_400_target_not_found.json).
    let unknown = api
        .v1_post(
            "/v3.0/response/suspiciousObjects/delete",
            &block("45.9.9.9"),
        )
        .await;
    assert_eq!(Api::statuses(&unknown), [400]);
    assert_eq!(
        unknown.body[0],
        json!({"status": 400, "body": {"error": {"code": "BadRequest", "message": "Target not found."}}})
    );
    // Restoring a value whose block is still under way is accepted; a second restore is a duplicate.
    let restore = api
        .v1_post(
            "/v3.0/response/suspiciousObjects/delete",
            &block("45.1.1.2"),
        )
        .await;
    assert_eq!(Api::statuses(&restore), [202]);
    let restore_again = api
        .v1_post(
            "/v3.0/response/suspiciousObjects/delete",
            &block("45.1.1.2"),
        )
        .await;
    assert_eq!(Api::statuses(&restore_again), [400]);
    assert_eq!(location(&restore_again.body[0]), location(&restore.body[0]));

    // Once the task is over, the value may be blocked again (a new task), and restored.
    api.advance(4).await;
    let later = api
        .v1_post("/v3.0/response/suspiciousObjects", &block("45.1.1.1"))
        .await;
    assert_eq!(Api::statuses(&later), [202]);
    assert_ne!(location(&later.body[0]), open);
    api.advance(4).await;
    let lifted = api
        .v1_post(
            "/v3.0/response/suspiciousObjects/delete",
            &block("45.1.1.1"),
        )
        .await;
    assert_eq!(Api::statuses(&lifted), [202]);

    // A task waiting for approval stays open: its duplicate is refused.
    set_faults(
        &api,
        json!({"response_task_outcomes": {"45.1.1.3": "pendingApproval"}}),
    )
    .await;
    let waiting = api
        .v1_post("/v3.0/response/suspiciousObjects", &block("45.1.1.3"))
        .await;
    api.advance(3600).await;
    let duplicate = api
        .v1_post("/v3.0/response/suspiciousObjects", &block("45.1.1.3"))
        .await;
    assert_eq!(Api::statuses(&duplicate), [400]);
    assert_eq!(location(&duplicate.body[0]), location(&waiting.body[0]));
}
