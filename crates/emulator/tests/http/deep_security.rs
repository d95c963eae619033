//! Deep Security IP lists: CRUD, search, item grammar, limits, credentials and headers.

use emulator::config::Limits;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Api, KEY, READ_ONLY, config};

const LISTS: &str = "/api/iplists";

#[tokio::test]
async fn fresh_manager_has_builtin_lists_1_to_6() {
    let api = Api::start().await;
    let reply = api.ds(Method::GET, LISTS, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.contains_key("x-dsm-version"));
    let lists = reply.body["ipLists"].as_array().unwrap();
    let ids: Vec<u64> = lists.iter().map(|l| l["ID"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    assert!(
        lists
            .iter()
            .all(|l| l["name"].is_string() && l["items"].is_array())
    );
    assert!(lists.iter().any(|l| l["name"] == "Network Broadcast"));
}

#[tokio::test]
async fn create_describe_modify_delete() {
    let api = Api::start().await;
    let created = api
        .ds(Method::POST, LISTS, Some(&json!({"ID": 999, "name": "Blocked IPs", "description": "from iocsync", "items": [
            "192.168.0.1", "10.0.0.0/8", "172.16.0.0/255.240.0.0", "192.168.0.2 - 192.168.0.125", "2001:db8::/32", "255.255.255.255 #Broadcast"
        ]})))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["ID"].as_u64().unwrap();
    assert_eq!(id, 7, "ID is assigned, not taken from the body");
    assert_eq!(created.body["items"].as_array().unwrap().len(), 6);

    let described = api.ds(Method::GET, &format!("{LISTS}/{id}"), None).await;
    assert_eq!(described.body, created.body);
    assert!(described.headers.contains_key("x-dsm-version"));

    // Partial update: only the keys sent change; items replaces the array.
    let modified = api
        .ds(
            Method::POST,
            &format!("{LISTS}/{id}"),
            Some(&json!({"items": ["1.2.3.4"]})),
        )
        .await;
    assert_eq!(modified.status, StatusCode::OK);
    assert_eq!(
        modified.body,
        json!({"ID": id, "name": "Blocked IPs", "description": "from iocsync", "items": ["1.2.3.4"]})
    );
    let renamed = api
        .ds(
            Method::POST,
            &format!("{LISTS}/{id}"),
            Some(&json!({"name": "Blocked", "ID": 1})),
        )
        .await;
    assert_eq!(
        (renamed.body["ID"].as_u64(), renamed.body["name"].as_str()),
        (Some(id), Some("Blocked"))
    );
    assert_eq!(renamed.body["items"], json!(["1.2.3.4"]));

    let deleted = api.ds(Method::DELETE, &format!("{LISTS}/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(deleted.text.is_empty());
    for method in [Method::GET, Method::DELETE] {
        let gone = api.ds(method, &format!("{LISTS}/{id}"), None).await;
        assert_eq!(
            (gone.status, gone.body),
            (
                StatusCode::NOT_FOUND,
                json!({"message": "The IP list does not exist."})
            )
        );
    }
    let gone = api
        .ds(
            Method::POST,
            &format!("{LISTS}/{id}"),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.ds(Method::GET, &format!("{LISTS}/abc"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn validation_errors_name_the_problem() {
    let api = Api::start().await;
    let cases = [
        (json!({"items": []}), "name is required"),
        (json!({"name": "  "}), "name is required"),
        (json!({"name": "Loopbacks"}), "already exists"),
        (
            json!({"name": "x", "items": ["10.0.0.1", "10.0.0.300"]}),
            "item 2 \"10.0.0.300\"",
        ),
        (
            json!({"name": "x", "items": ["10.0.0.0/33"]}),
            "larger than 32",
        ),
        (
            json!({"name": "x", "items": ["10.0.0.9 - 10.0.0.1"]}),
            "starts after",
        ),
        (json!({"name": "x", "items": [42]}), "must be strings"),
        (
            json!({"name": "x", "items": "10.0.0.1"}),
            "array of strings",
        ),
        (json!({"name": 7}), "must be a string"),
        (json!(["not", "an", "object"]), "JSON object"),
        (json!({"name": "n".repeat(255)}), "longer than 254"),
    ];
    for (body, needle) in cases {
        let reply = api.ds(Method::POST, LISTS, Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body} -> {message}");
    }
    let malformed = api
        .send(
            api.http
                .post(api.url(LISTS))
                .header("api-secret-key", KEY)
                .header("api-version", "v1")
                .body("{"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body["message"].is_string());
    // Renaming onto another list's name is refused too; keeping one's own name is fine.
    let ok = api
        .ds(
            Method::POST,
            "/api/iplists/4",
            Some(&json!({"name": "Loopbacks"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let clash = api
        .ds(
            Method::POST,
            "/api/iplists/4",
            Some(&json!({"name": "Ingress Filters"})),
        )
        .await;
    assert_eq!(clash.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_size_and_count_limits() {
    let api = Api::with(emulator::EmulatorConfig {
        limits: Limits {
            ip_lists: 8,
            ..Limits::default()
        },
        ..config()
    })
    .await;
    // 32,000 characters including the newlines between items.
    let item = "10.0.0.1/32"; // 11 characters
    let fits: Vec<&str> = vec![item; 2666]; // 2666*11 + 2665 = 31,991
    let created = api
        .ds(
            Method::POST,
            LISTS,
            Some(&json!({"name": "big", "items": fits})),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let too_big: Vec<&str> = vec![item; 2667]; // 32,003
    let refused = api
        .ds(
            Method::POST,
            LISTS,
            Some(&json!({"name": "bigger", "items": too_big})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body["message"].as_str().unwrap().contains("32000"));
    let grow = api
        .ds(
            Method::POST,
            "/api/iplists/7",
            Some(&json!({"items": too_big})),
        )
        .await;
    assert_eq!(grow.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        api.ds(Method::POST, LISTS, Some(&json!({"name": "eighth"})))
            .await
            .status,
        StatusCode::OK
    );
    let ninth = api
        .ds(Method::POST, LISTS, Some(&json!({"name": "ninth"})))
        .await;
    assert_eq!(ninth.status, StatusCode::BAD_REQUEST);
    assert!(
        ninth.body["message"]
            .as_str()
            .unwrap()
            .contains("maximum number of IP lists")
    );
}

#[tokio::test]
async fn search_by_name_wildcards_and_id_paging() {
    let api = Api::start().await;
    for name in ["Blocked IPs", "Blocked_IPs", "Allowed"] {
        api.ds(Method::POST, LISTS, Some(&json!({"name": name})))
            .await;
    }
    let search = |body: Value| {
        let api = &api;
        async move {
            let reply = api
                .ds(Method::POST, "/api/iplists/search", Some(&body))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            assert!(reply.headers.contains_key("x-dsm-version"));
            reply.body["ipLists"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let exact = json!({"maxItems": 100, "searchCriteria": [{"fieldName": "name", "stringTest": "equal", "stringValue": "Blocked_IPs", "stringWildcards": false}]});
    assert_eq!(search(exact).await, ["Blocked_IPs"]);
    let wild = json!({"searchCriteria": [{"fieldName": "name", "stringValue": "Blocked_IPs"}]});
    assert_eq!(
        search(wild).await,
        ["Blocked IPs", "Blocked_IPs"],
        "_ is a wildcard by default"
    );
    let not_equal = json!({"searchCriteria": [{"fieldName": "name", "stringTest": "not-equal", "stringValue": "%o%"}]});
    assert_eq!(search(not_equal).await, ["Ingress Filters"]);
    assert_eq!(search(json!({})).await.len(), 9, "no criteria: everything");

    let mut ids = Vec::new();
    let mut last = 0;
    loop {
        let page = json!({"maxItems": 4, "searchCriteria": [{"idValue": last, "idTest": "greater-than"}], "sortByObjectID": true});
        let reply = api
            .ds(Method::POST, "/api/iplists/search", Some(&page))
            .await;
        let found: Vec<u64> = reply.body["ipLists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["ID"].as_u64().unwrap())
            .collect();
        if found.is_empty() {
            break;
        }
        last = *found.last().unwrap();
        ids.extend(found);
    }
    assert_eq!(ids, (1..=9).collect::<Vec<u64>>());

    let bad = api
        .ds(
            Method::POST,
            "/api/iplists/search",
            Some(&json!({"searchCriteria": [{"fieldName": "colour", "stringValue": "red"}]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body["message"].as_str().unwrap().contains("colour"));
}

#[tokio::test]
async fn credentials_and_api_version() {
    let api = Api::start().await;
    // Cloud One style header works as well.
    let cloud = api
        .send(
            api.http
                .get(api.url(LISTS))
                .header("Authorization", format!("ApiKey {KEY}"))
                .header("api-version", "v1"),
        )
        .await;
    assert_eq!(cloud.status, StatusCode::OK);
    let wrong = api.ds_as(Method::GET, LISTS, "wrong", None).await;
    assert_eq!(
        (wrong.status, wrong.body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"message": "Invalid API Key"})
        )
    );
    let missing = api
        .send(api.http.get(api.url(LISTS)).header("api-version", "v1"))
        .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let no_version = api
        .send(api.http.get(api.url(LISTS)).header("api-secret-key", KEY))
        .await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);
    assert!(
        no_version.body["message"]
            .as_str()
            .unwrap()
            .contains("api-version")
    );
    let v2 = api
        .send(
            api.http
                .get(api.url(LISTS))
                .header("api-secret-key", KEY)
                .header("api-version", "v2"),
        )
        .await;
    assert_eq!(v2.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        api.ds_as(Method::GET, LISTS, READ_ONLY, None).await.status,
        StatusCode::OK
    );
    let denied = [
        (
            Method::POST,
            LISTS.to_owned(),
            Some(json!({"name": "x"})),
            "Not authorized to create IP lists.",
        ),
        (
            Method::POST,
            format!("{LISTS}/1"),
            Some(json!({"name": "x"})),
            "Not authorized to modify IP lists or the requested modification is not permitted.",
        ),
        (
            Method::DELETE,
            format!("{LISTS}/1"),
            None,
            "Not authorized to delete IP lists.",
        ),
    ];
    for (method, path, body, message) in denied {
        let reply = api.ds_as(method, &path, READ_ONLY, body.as_ref()).await;
        assert_eq!(
            (reply.status, reply.body),
            (StatusCode::FORBIDDEN, json!({"message": message}))
        );
    }
    assert_eq!(
        api.ds(Method::GET, "/api/iplists/1", None).await.body["name"],
        "Domain Controller(s)"
    );
}
