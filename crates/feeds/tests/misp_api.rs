//! The MISP REST client against a loopback server that answers `/attributes/restSearch` the
//! way MISP documents it, and the reader on saved answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use feeds::fetch::Transport;
use feeds::misp_api::{Client, MispApiError, Query};
use feeds::{Columns, Defaults, Format, Options};
use indicator::Kind;
use serde_json::{Value, json};

const KEY: &str = "misp-key-0123456789abcdef-secret";

/// A restSearch attribute as MISP returns it, with its `Event` and `Tag` lists.
fn attribute(n: u32, kind: &str, value: &str, timestamp: i64, threat_level: &str) -> Value {
    json!({
        "id": n.to_string(), "event_id": "11", "object_id": "0", "object_relation": null,
        "category": "Network activity", "type": kind, "to_ids": true,
        "uuid": format!("5f0c1d2e-0000-4000-8000-{n:012}"),
        "timestamp": timestamp.to_string(), "distribution": "5", "sharing_group_id": "0",
        "comment": "", "deleted": false, "disable_correlation": false,
        "first_seen": null, "last_seen": null, "value": value,
        "Event": {
            "org_id": "1", "distribution": "1", "id": "11", "info": "C2 wave",
            "orgc_id": "1", "uuid": "0c5e2f3a-0000-4000-8000-000000000011",
            "threat_level_id": threat_level
        },
        "Tag": [
            {"id": "3", "name": "tlp:green", "colour": "#33FF00", "exportable": true,
             "user_id": "0", "hide_tag": false, "numerical_value": null, "is_galaxy": false,
             "is_custom_galaxy": false, "local_only": false, "inherited": 1}
        ]
    })
}

fn catalogue() -> Vec<Value> {
    vec![
        attribute(1, "ip-dst", "198.51.100.10", 1_767_225_600, "1"),
        attribute(2, "domain", "c2.example", 1_767_225_700, "2"),
        attribute(3, "ip-dst|port", "198.51.100.11|443", 1_767_225_900, "3"),
        attribute(4, "url", "https://c2.example/gate", 1_767_225_800, "4"),
        attribute(5, "sha256", &"a".repeat(64), 1_767_226_000, "1"),
    ]
}

#[derive(Clone, Default)]
struct Server {
    bodies: Arc<Mutex<Vec<Value>>>,
}

/// `/attributes/restSearch`: checks the key and headers, filters by `timestamp` and pages by
/// `limit`/`page`, as MISP does.
async fn rest_search(State(server): State<Server>, headers: HeaderMap, body: String) -> Response {
    if headers.get(header::AUTHORIZATION).is_none_or(|v| v != KEY) {
        let answer = json!({"name": "Authentication failed.", "message": "Authentication failed.", "url": "/attributes/restSearch"});
        return (StatusCode::FORBIDDEN, Json(answer)).into_response();
    }
    let json_headers = headers
        .get(header::ACCEPT)
        .is_some_and(|v| v == "application/json")
        && headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v == "application/json");
    let Ok(filters) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !json_headers {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    server.bodies.lock().unwrap().push(filters.clone());
    let since = filters["timestamp"].as_i64().unwrap_or(0);
    let limit = filters["limit"].as_u64().unwrap_or(u64::MAX) as usize;
    let page = filters["page"].as_u64().unwrap_or(1) as usize;
    let matching: Vec<Value> = catalogue()
        .into_iter()
        .filter(|a| a["timestamp"].as_str().unwrap().parse::<i64>().unwrap() >= since)
        .skip(limit * (page - 1))
        .take(limit)
        .collect();
    Json(json!({"response": {"Attribute": matching}})).into_response()
}

/// A MISP whose restSearch ignores `page` (always the first page, full).
async fn ignores_page() -> Json<Value> {
    Json(json!({"response": {"Attribute": catalogue()[..2]}}))
}

fn serve() -> (SocketAddr, Server) {
    let server = Server::default();
    let app = Router::new()
        .route("/attributes/restSearch", post(rest_search))
        .route("/stuck/attributes/restSearch", post(ignores_page))
        .with_state(server.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        runtime.block_on(async { axum::serve(listener, app).await.unwrap() })
    });
    (address, server)
}

fn client(address: SocketAddr, path: &str, key: &str) -> Client {
    Client::new(
        &format!("http://{address}{path}"),
        key.into(),
        &Transport::default(),
    )
    .unwrap()
}

fn no_score() -> Options {
    Options::new(Defaults::new("misp"))
}

#[test]
fn pages_until_a_short_page_and_reports_the_newest_timestamp() {
    let (address, server) = serve();
    let client = client(address, "", KEY);
    let query = Query {
        tags: vec!["tlp:green".into()],
        limit: 2,
        ..Query::default()
    };
    let mut poll = client.poll(query, None);
    let mut values = Vec::new();
    let mut scores = Vec::new();
    let mut pages = Vec::new();
    while let Some(page) = poll.next_page("misp", &no_score()).unwrap() {
        pages.push((page.number, page.attributes));
        for record in page.records {
            let sighting = record.unwrap();
            assert_eq!(sighting.tags, ["tlp:green"]);
            assert_eq!(sighting.description.as_deref(), Some("C2 wave"));
            assert!(sighting.reported_at.is_some());
            values.push((sighting.kind, sighting.value));
            scores.push(sighting.score);
        }
    }
    assert_eq!(pages, [(1, 2), (2, 2), (3, 1)]);
    assert_eq!(
        values.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [
            Kind::Ipv4,
            Kind::Domain,
            Kind::Ipv4,
            Kind::Url,
            Kind::Sha256
        ]
    );
    assert_eq!(
        values[2].1, "198.51.100.11",
        "ip-dst|port gives the address"
    );
    assert_eq!(
        scores,
        [Some(9), Some(6), Some(3), None, Some(9)],
        "threat levels 1, 2, 3, 4, 1"
    );
    assert_eq!(
        poll.cursor(),
        Some(1_767_226_000),
        "the largest timestamp, not the last"
    );

    let bodies = server.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    assert_eq!(
        bodies[0],
        json!({
            "returnFormat": "json", "to_ids": true, "published": true,
            "tags": ["tlp:green"], "limit": 2, "page": 1, "includeEventTags": true
        }),
        "no timestamp filter on a first poll"
    );
    assert_eq!(bodies[2]["page"], 3);
}

#[test]
fn a_saved_cursor_asks_only_for_newer_attributes() {
    let (address, server) = serve();
    let client = client(address, "/", KEY);
    let mut poll = client.poll(Query::default(), Some(1_767_225_850));
    let page = poll.next_page("misp", &no_score()).unwrap().unwrap();
    assert_eq!(page.attributes, 2);
    assert!(poll.next_page("misp", &no_score()).unwrap().is_none());
    assert_eq!(server.bodies.lock().unwrap()[0]["timestamp"], 1_767_225_850);
    assert_eq!(poll.cursor(), Some(1_767_226_000));

    let mut empty = client.poll(Query::default(), Some(1_900_000_000));
    let page = empty.next_page("misp", &no_score()).unwrap().unwrap();
    assert_eq!(page.attributes, 0);
    assert_eq!(
        empty.cursor(),
        Some(1_900_000_000),
        "nothing new keeps the cursor"
    );
}

#[test]
fn a_refused_key_and_a_server_ignoring_page_are_clear_errors() {
    let (address, _) = serve();
    let wrong = client(address, "", "wrong-key-secret");
    let err = wrong
        .poll(Query::default(), None)
        .next_page("misp", &no_score())
        .unwrap_err();
    assert!(
        matches!(err, MispApiError::Unauthorized { status: 403, .. }),
        "{err}"
    );
    let shown = format!("{err} {err:?} {wrong:?}");
    assert!(!shown.contains("secret"), "{shown}");

    let stuck = client(address, "/stuck", KEY);
    let query = Query {
        limit: 2,
        ..Query::default()
    };
    let mut poll = stuck.poll(query, None);
    assert!(poll.next_page("misp", &no_score()).unwrap().is_some());
    let err = poll.next_page("misp", &no_score()).unwrap_err();
    assert!(matches!(err, MispApiError::Stuck { page: 2, .. }), "{err}");
    assert_eq!(poll.cursor(), Some(1_767_225_700));
}

#[test]
fn a_saved_answer_reads_and_is_detected_as_misp_api() {
    let answer = serde_json::to_string_pretty(&json!({"response": {"Attribute": [
        attribute(1, "ip-dst", "198.51.100.10", 1_767_225_600, "1"),
        {"uuid": "x-2", "type": "domain", "value": "quiet.example", "to_ids": false},
        {"uuid": "x-3", "type": "domain", "value": "not a domain", "to_ids": true},
        {"uuid": "x-4", "type": "domain", "value": "no-event.example", "to_ids": true, "Event": "x"},
        {"uuid": "x-5", "type": "domain|ip", "value": "d.example|203.0.113.5", "to_ids": true,
         "Event": {"info": "plain", "Tag": [{"name": "event-tag"}]}, "Tag": [{"name": "event-tag"}]}
    ]}}))
    .unwrap();
    assert_eq!(
        feeds::detect("answer.json", answer.as_bytes(), &Columns::default()),
        Format::MispApi
    );
    let mut options = Options::new(Defaults::new("misp"));
    options.defaults.score = Some(5);
    let mut reader = feeds::open(Format::MispApi, "answer.json", answer.as_bytes(), options);
    let (mut sightings, mut problems) = (Vec::new(), Vec::new());
    for record in reader.by_ref() {
        match record {
            Ok(sighting) => sightings.push(sighting),
            Err(problem) => problems.push(problem.to_string()),
        }
    }
    assert_eq!(reader.records(), 5);
    let values: Vec<&str> = sightings.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(values, ["198.51.100.10", "d.example", "203.0.113.5"]);
    assert_eq!(
        sightings[0].score,
        Some(5),
        "the feed's score wins over the threat level"
    );
    assert_eq!(
        sightings[1].tags,
        ["event-tag"],
        "event and attribute tags merge"
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].contains("attribute x-2: skipped: domain `quiet.example` is not marked"),
        "{problems:?}"
    );
    assert!(problems[1].contains("attribute x-3: "), "{problems:?}");
    assert!(
        problems[2].contains("attribute x-4: `Event` should be an object"),
        "{problems:?}"
    );
}

#[test]
fn a_truncated_answer_ends_with_one_document_problem() {
    let answer = json!({"response": {"Attribute": catalogue()}}).to_string();
    let cut = &answer[..answer.len() / 2];
    let problems: Vec<String> = feeds::open(Format::MispApi, "t.json", cut.as_bytes(), no_score())
        .filter_map(Result::err)
        .map(|p| p.to_string())
        .collect();
    assert!(
        problems
            .last()
            .unwrap()
            .contains("not a readable MISP restSearch answer"),
        "{problems:?}"
    );
}
