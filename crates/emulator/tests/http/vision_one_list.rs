//! Vision One listing: page sizes, nextLink paging, orderBy, date ranges and TMV1-Filter.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Api, KEY};

const SO: &str = "/v3.0/threatintel/suspiciousObjects";
const EXC: &str = "/v3.0/threatintel/suspiciousObjectExceptions";

async fn add_ips(api: &Api, count: usize, extra: Value) {
    let items: Vec<Value> = (0..count)
        .map(|i| {
            let mut item = json!({"ip": format!("10.0.{}.{}", i / 256, i % 256)});
            if let (Some(map), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
                map.extend(extra.clone());
            }
            item
        })
        .collect();
    let reply = api.v1_post(SO, &Value::Array(items)).await;
    assert!(Api::statuses(&reply).iter().all(|&s| s == 201));
}

/// Follows nextLink the way the SDK does (path minus `/v3.0` kept, query kept).
async fn collect_pages(api: &Api, first: &str, filter: Option<&str>) -> (Vec<Value>, Vec<String>) {
    let mut items = Vec::new();
    let mut links = Vec::new();
    let mut next = Some(api.url(first));
    while let Some(url) = next.take() {
        let mut request = api.http.get(&url).bearer_auth(KEY);
        if let Some(filter) = filter {
            request = request.header("TMV1-Filter", filter);
        }
        let reply = api.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        if let Some(link) = reply.body["nextLink"].as_str() {
            links.push(link.to_owned());
            next = Some(link.to_owned());
        }
        assert!(links.len() < 100, "paging does not end");
    }
    (items, links)
}

#[tokio::test]
async fn pages_follow_next_link_until_done() {
    let api = Api::start().await;
    add_ips(&api, 250, json!({})).await;
    let first = api.v1_get(SO).await;
    assert_eq!(
        first.body["items"].as_array().unwrap().len(),
        100,
        "default top is 100"
    );
    let (items, links) =
        collect_pages(&api, &format!("{SO}?top=50&orderBy=riskLevel%20desc"), None).await;
    assert_eq!(items.len(), 250);
    assert_eq!(links.len(), 4);
    let unique: HashSet<&str> = items.iter().map(|i| i["ip"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), 250);
    for link in &links {
        let url = reqwest::Url::parse(link).unwrap();
        assert!(url.path().starts_with("/v3.0/"), "{link}");
        assert_eq!(url.path(), SO);
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(query.contains(&("top".into(), "50".into())), "{link}");
        assert!(
            query.contains(&("orderBy".into(), "riskLevel desc".into())),
            "{link}"
        );
        assert!(query.iter().any(|(k, _)| k == "skipToken"));
    }
}

/// Items of every page from `link` on, each requested with `filter` (or without a filter).
async fn rest_of_pages(api: &Api, link: &str, filter: Option<&str>) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut next = Some(link.to_owned());
    while let Some(url) = next.take() {
        let mut request = api.http.get(&url).bearer_auth(KEY);
        if let Some(filter) = filter {
            request = request.header("TMV1-Filter", filter);
        }
        let reply = api.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        seen.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        next = reply.body["nextLink"].as_str().map(str::to_owned);
    }
    seen
}

#[tokio::test]
async fn the_filter_applies_per_request_and_deletes_between_pages_skip_nothing() {
    let api = Api::start().await;
    // The domains are older, so (newest first) they come after every IP.
    api.v1_post(
        SO,
        &json!([{"domain": "a.example"}, {"domain": "b.example"}]),
    )
    .await;
    add_ips(&api, 120, json!({"riskLevel": "high"})).await;
    let first = api
        .v1_get_filtered(&format!("{SO}?top=50"), "type eq 'ip'")
        .await;
    let page1: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ip"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page1.len(), 50);
    // Delete the whole first page before asking for the second (a common client pattern).
    let delete: Vec<Value> = page1.iter().map(|ip| json!({"ip": ip})).collect();
    api.v1_post(
        "/v3.0/threatintel/suspiciousObjects/delete",
        &Value::Array(delete),
    )
    .await;
    let link = first.body["nextLink"].as_str().unwrap();
    assert!(
        !link.contains("type"),
        "the filter is not in the link: {link}"
    );
    // With the header on every page (as pytmv1 0.11.0 sends it), only IPs, none repeated.
    let seen = rest_of_pages(&api, link, Some("type eq 'ip'")).await;
    assert!(seen.iter().all(|item| item["type"] == "ip"), "{seen:?}");
    let ips: Vec<&str> = seen.iter().map(|i| i["ip"].as_str().unwrap()).collect();
    assert_eq!(ips.len(), 70);
    assert!(ips.iter().all(|ip| !page1.iter().any(|p| p == ip)));
    // Without it, the next page is the unfiltered rest of the list: the domains come back.
    let unfiltered = rest_of_pages(&api, link, None).await;
    assert_eq!(unfiltered.len(), 72, "{unfiltered:?}");
    assert_eq!(
        unfiltered
            .iter()
            .filter(|item| item["type"] == "domain")
            .count(),
        2
    );
}

#[tokio::test]
async fn top_must_be_50_100_or_200() {
    let api = Api::start().await;
    for top in ["10", "500", "abc"] {
        let reply = api.v1_get(&format!("{SO}?top={top}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "top={top}");
        assert_eq!(reply.body["error"]["number"], 4_000_102);
    }
    let bad_token = api.v1_get(&format!("{SO}?skipToken=garbage")).await;
    assert_eq!(bad_token.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn order_by_each_field_and_direction() {
    let api = Api::start().await;
    api.v1_post(
        SO,
        &json!([{"ip": "1.1.1.1", "riskLevel": "low", "daysToExpiration": 3}]),
    )
    .await;
    api.advance(10).await;
    api.v1_post(
        SO,
        &json!([{"ip": "1.1.1.2", "riskLevel": "high", "daysToExpiration": 1}]),
    )
    .await;
    api.advance(10).await;
    api.v1_post(
        SO,
        &json!([{"ip": "1.1.1.3", "riskLevel": "medium", "daysToExpiration": -1}]),
    )
    .await;
    let order = |reply: &crate::common::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["ip"].as_str().unwrap().to_owned())
            .collect()
    };
    let cases = [
        ("", ["1.1.1.3", "1.1.1.2", "1.1.1.1"]),
        (
            "?orderBy=lastModifiedDateTime",
            ["1.1.1.1", "1.1.1.2", "1.1.1.3"],
        ),
        (
            "?orderBy=lastModifiedDateTime%20asc",
            ["1.1.1.1", "1.1.1.2", "1.1.1.3"],
        ),
        (
            "?orderBy=riskLevel%20desc",
            ["1.1.1.2", "1.1.1.3", "1.1.1.1"],
        ),
        (
            "?orderBy=riskLevel%20asc",
            ["1.1.1.1", "1.1.1.3", "1.1.1.2"],
        ),
        (
            "?orderBy=expiredDateTime",
            ["1.1.1.2", "1.1.1.1", "1.1.1.3"],
        ),
    ];
    for (query, expected) in cases {
        let reply = api.v1_get(&format!("{SO}{query}")).await;
        assert_eq!(order(&reply), expected, "{query}");
    }
    for bad in ["name", "riskLevel%20sideways", "riskLevel%20desc%20asc"] {
        assert_eq!(
            api.v1_get(&format!("{SO}?orderBy={bad}")).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        api.v1_get(&format!("{EXC}?orderBy=riskLevel")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.v1_get(&format!("{EXC}?orderBy=lastModifiedDateTime%20desc"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn date_range_selects_on_last_modified() {
    let api = Api::start().await;
    api.v1_post(EXC, &json!([{"domain": "old.example"}])).await;
    api.advance(3600).await;
    let middle = emulator::clock::format_iso(api.running.emulator().now());
    api.advance(3600).await;
    api.v1_post(EXC, &json!([{"domain": "new.example"}])).await;
    let since = api.v1_get(&format!("{EXC}?startDateTime={middle}")).await;
    let domains: Vec<&str> = since.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["new.example"]);
    let until = api.v1_get(&format!("{EXC}?endDateTime={middle}")).await;
    assert_eq!(until.body["items"][0]["domain"], "old.example");
    assert_eq!(until.body["items"].as_array().unwrap().len(), 1);
    let reversed = api
        .v1_get(&format!(
            "{EXC}?startDateTime={middle}&endDateTime=2000-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(reversed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.v1_get(&format!("{EXC}?startDateTime=yesterday"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn tmv1_filter_operators() {
    let api = Api::start().await;
    api.v1_post(
        SO,
        &json!([
            {"ip": "1.1.1.1", "riskLevel": "high", "scanAction": "block"},
            {"ip": "1.1.1.2", "riskLevel": "low", "scanAction": "log"},
            {"url": "http://a.example/x", "riskLevel": "high"},
            {"domain": "b.example", "riskLevel": "medium"}
        ]),
    )
    .await;
    let count = |reply: crate::common::Reply| {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["items"].as_array().unwrap().len()
    };
    let cases = [
        ("type eq 'url' AND riskLevel eq 'high'", 1),
        ("type eq 'ip' or type eq 'domain'", 3),
        ("not type eq 'ip'", 2),
        ("(type eq 'ip' or type eq 'url') and riskLevel eq 'high'", 2),
        ("ip eq '1.1.1.*'", 2),
        ("scanAction eq 'log'", 1),
        ("domain eq 'B.EXAMPLE'", 1),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            count(api.v1_get_filtered(SO, filter).await),
            expected,
            "{filter}"
        );
    }
    for bad in [
        "type = 'ip'",
        "(type eq 'ip'",
        "colour eq 'red'",
        &format!("ip eq '{}'", "1".repeat(4000)),
    ] {
        let reply = api.v1_get_filtered(SO, bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.body["error"]["code"], "BadRequest");
    }
}
