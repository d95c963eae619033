//! The TAXII 2.1 client against a small in-test TAXII server (axum, real HTTP): discovery,
//! collections, paging by `next` and by `added_after`, the cursor, authentication and the
//! media type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use feeds::Defaults;
use feeds::taxii::{Auth, Client, CollectionUrl, MEDIA_TYPE, Target, TaxiiError};
use serde_json::{Value, json};

const TOKEN: &str = "t0ken-that-must-not-leak";

#[derive(Clone, Default)]
struct Server {
    /// Every objects request: its query string and Accept header.
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

/// Five objects added one minute apart.
fn objects() -> Vec<(String, Value)> {
    (1..=5)
        .map(|i| {
            let added = format!("2026-02-01T00:0{i}:00.000000Z");
            let object = json!({
                "type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--0000000{i}"),
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": format!("[ipv4-addr:value = '198.51.100.{i}']"),
                "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
            });
            (added, object)
        })
        .collect()
}

fn authorised(headers: &HeaderMap) -> bool {
    let basic = base64::engine::general_purpose::STANDARD.encode("analyst:pa55word");
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}") || v == format!("Basic {basic}"))
}

async fn discovery() -> Json<Value> {
    Json(json!({"title": "Test TAXII", "default": "/api1/", "api_roots": ["/api1/"]}))
}

async fn api_root() -> Json<Value> {
    Json(
        json!({"title": "API 1", "versions": ["application/taxii+json; version=2.1"], "max_content_length": 1000}),
    )
}

async fn collections() -> Json<Value> {
    Json(json!({"collections": [
        {"id": "with-next", "title": "Paged by next", "can_read": true, "can_write": false},
        {"id": "no-next", "title": "Paged by added_after", "can_read": true, "can_write": false}
    ]}))
}

async fn objects_endpoint(
    State(server): State<Server>,
    Path(collection): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let raw_query = {
        let mut pairs: Vec<_> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        pairs.join("&")
    };
    server.requests.lock().unwrap().push((raw_query, accept));
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"title": "Unauthorized"})),
        )
            .into_response();
    }
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(2);
    let after = query.get("added_after").cloned().unwrap_or_default();
    let pending: Vec<(String, Value)> = objects()
        .into_iter()
        .filter(|(added, _)| *added > after)
        .collect();
    let start = match (collection.as_str(), query.get("next")) {
        ("with-next", Some(next)) => next.parse().unwrap_or(0),
        _ => 0,
    };
    let page: Vec<(String, Value)> = if collection == "stuck" {
        Vec::new()
    } else {
        pending.iter().skip(start).take(limit).cloned().collect()
    };
    let more = start + page.len() < pending.len() || collection == "stuck";
    let mut body =
        json!({"more": more, "objects": page.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>()});
    if more && collection != "no-next" {
        // One token for the whole session, as medallion does.
        body["next"] = json!(if collection == "stuck" {
            "session".to_owned()
        } else {
            (start + page.len()).to_string()
        });
    }
    let mut response = (
        [(header::CONTENT_TYPE, MEDIA_TYPE)],
        serde_json::to_string(&body).unwrap(),
    )
        .into_response();
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let headers = response.headers_mut();
        headers.insert("X-TAXII-Date-Added-First", first.0.parse().unwrap());
        headers.insert("X-TAXII-Date-Added-Last", last.0.parse().unwrap());
    }
    response
}

async fn start() -> (String, Server) {
    let server = Server::default();
    let app = Router::new()
        .route("/taxii2/", get(discovery))
        .route("/api1/", get(api_root))
        .route("/api1/collections/", get(collections))
        .route("/api1/collections/{id}/objects/", get(objects_endpoint))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), server)
}

fn collection(base: &str, id: &str) -> CollectionUrl {
    match Target::parse(&format!("taxii+{base}/api1/collections/{id}/")).unwrap() {
        Target::Collection(collection) => collection,
        Target::Server(url) => panic!("not a collection: {url}"),
    }
}

fn bearer() -> Auth {
    Auth::Bearer(TOKEN.into())
}

/// Polls to the end; returns the values seen and the cursor.
async fn poll_all(
    client: &Client,
    target: &CollectionUrl,
    after: Option<String>,
) -> Result<(Vec<String>, Option<String>), TaxiiError> {
    let mut poll = client.poll(target, after, Some(2));
    let mut values = Vec::new();
    let origin: Arc<str> = Arc::from(target.to_string());
    let defaults = Defaults::new("taxii-test");
    while let Some(page) = poll.next_page().await? {
        let (records, _) = page.records(&origin, &defaults);
        values.extend(records.into_iter().map(|r| r.unwrap().value));
    }
    Ok((values, poll.cursor().map(str::to_owned)))
}

#[tokio::test]
async fn discovery_and_collections() {
    let (base, _) = start().await;
    let client = Client::new(Auth::None).unwrap();
    let discovery = client.discovery(&base.parse().unwrap()).await.unwrap();
    assert_eq!(discovery.api_roots, ["/api1/"]);
    let api_root = format!("{base}/api1/").parse().unwrap();
    let root = client.api_root(&api_root).await.unwrap();
    assert_eq!(root.title, "API 1");
    assert!(root.speaks_taxii_21());
    let listed = client.collections(&api_root).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["with-next", "no-next"]);
    assert!(listed[0].can_read);
}

#[tokio::test]
async fn pages_by_next_and_polls_incrementally_from_the_cursor() {
    let (base, server) = start().await;
    let client = Client::new(bearer()).unwrap();
    let target = collection(&base, "with-next");
    let (values, cursor) = poll_all(&client, &target, None).await.unwrap();
    assert_eq!(
        values,
        [
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "198.51.100.4",
            "198.51.100.5"
        ]
    );
    assert_eq!(cursor.as_deref(), Some("2026-02-01T00:05:00.000000Z"));
    {
        let requests = server.requests.lock().unwrap();
        let queries: Vec<&str> = requests.iter().map(|(q, _)| q.as_str()).collect();
        assert_eq!(queries, ["limit=2", "limit=2&next=2", "limit=2&next=4"]);
        assert!(requests.iter().all(|(_, accept)| accept == MEDIA_TYPE));
    }

    // The second poll starts from the cursor and finds nothing new.
    let (again, second_cursor) = poll_all(&client, &target, cursor.clone()).await.unwrap();
    assert!(again.is_empty());
    assert_eq!(
        second_cursor, None,
        "no objects, no new cursor: the caller keeps the old one"
    );
    let last = server.requests.lock().unwrap().last().unwrap().0.clone();
    assert_eq!(last, "added_after=2026-02-01T00:05:00.000000Z&limit=2");

    // From a cursor in the middle, only the later objects come.
    let (later, _) = poll_all(&client, &target, Some("2026-02-01T00:03:00.000000Z".into()))
        .await
        .unwrap();
    assert_eq!(later, ["198.51.100.4", "198.51.100.5"]);
}

#[tokio::test]
async fn pages_by_added_after_when_the_server_gives_no_next() {
    let (base, server) = start().await;
    let client = Client::new(bearer()).unwrap();
    let (values, cursor) = poll_all(&client, &collection(&base, "no-next"), None)
        .await
        .unwrap();
    assert_eq!(values.len(), 5);
    assert_eq!(cursor.as_deref(), Some("2026-02-01T00:05:00.000000Z"));
    let requests = server.requests.lock().unwrap();
    assert_eq!(
        requests[1].0,
        "added_after=2026-02-01T00:02:00.000000Z&limit=2"
    );
}

#[tokio::test]
async fn basic_auth_works_and_bad_credentials_are_refused_without_echoing_them() {
    let (base, _) = start().await;
    let basic = Auth::Basic {
        username: "analyst".into(),
        password: "pa55word".into(),
    };
    let client = Client::new(basic).unwrap();
    let (values, _) = poll_all(&client, &collection(&base, "with-next"), None)
        .await
        .unwrap();
    assert_eq!(values.len(), 5);

    for auth in [Auth::None, Auth::Bearer("wrong-secret-value".into())] {
        let client = Client::new(auth).unwrap();
        let err = poll_all(&client, &collection(&base, "with-next"), None)
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, TaxiiError::Unauthorized { status: 401, .. }),
            "{message}"
        );
        assert!(message.contains("IOCSYNC_TAXII_TOKEN"), "{message}");
        assert!(
            !message.contains("wrong-secret-value") && !message.contains(TOKEN),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_server_that_never_moves_on_is_stopped() {
    let (base, server) = start().await;
    let client = Client::new(bearer()).unwrap();
    let err = poll_all(&client, &collection(&base, "stuck"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TaxiiError::Stuck { .. }), "{err}");
    let requests = server.requests.lock().unwrap().len();
    assert_eq!(requests, 3, "gives up after three empty pages");
}

#[tokio::test]
async fn missing_collections_and_dead_servers_are_clear_errors() {
    let (base, _) = start().await;
    let client = Client::new(bearer()).unwrap();
    let api_root = format!("{base}/nope/").parse().unwrap();
    let err = client.collections(&api_root).await.unwrap_err();
    assert!(matches!(err, TaxiiError::NotFound { .. }), "{err}");

    let dead = collection("http://127.0.0.1:9", "x");
    let err = poll_all(&client, &dead, None).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GET http://127.0.0.1:9/api1/collections/x/objects/"),
        "{err}"
    );
}

#[test]
fn page_records_locate_bad_objects_by_id() {
    let page = feeds::taxii::Page {
        objects: vec![
            json!({"type": "domain-name", "id": "domain-name--1", "value": "ok.example"}),
            json!({"type": "indicator", "id": "indicator--bad", "pattern": "[nope", "pattern_type": "stix"}),
            json!({"type": "identity", "id": "identity--1"}),
        ],
        more: false,
        next: None,
        date_added_last: None,
    };
    let origin: Arc<str> = Arc::from("taxii+https://t.example/api1/collections/c/");
    let (records, read) = page.records(&origin, &Defaults::new("t"));
    assert_eq!(read, 2);
    assert_eq!(records[0].as_ref().unwrap().value, "ok.example");
    let err = records[1].as_ref().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "taxii+https://t.example/api1/collections/c/: indicator--bad: invalid STIX pattern"
        ),
        "{err}"
    );
}
