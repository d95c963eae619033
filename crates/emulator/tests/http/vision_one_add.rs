//! Vision One add / delete: per-item results, validation, defaults, upsert, limits, expiry,
//! credentials and body size.

use emulator::config::{CustomerSettings, Limits};
use emulator::vision_one::model::{RiskLevel, ScanAction};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Api, KEY, READ_ONLY, config};

const SO: &str = "/v3.0/threatintel/suspiciousObjects";
const EXC: &str = "/v3.0/threatintel/suspiciousObjectExceptions";

async fn items(api: &Api, path: &str) -> Vec<Value> {
    let reply = api.v1_get(&format!("{path}?top=200")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn add_answers_207_per_item_in_order_with_defaults() {
    let api = Api::start().await;
    let reply = api
        .v1_post(
            SO,
            &json!([
                {"url": "http://bad.example/x", "description": "d", "riskLevel": "high", "scanAction": "log", "daysToExpiration": 30},
                {"ip": "1.2.3.4"},
                {"ip": "1.2.3.0/24"},
                {"fileSha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "daysToExpiration": -1}
            ]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [201, 201, 400, 201]);
    assert_eq!(
        reply.body[2],
        json!({"status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request - Invalid field format: ip."}}})
    );
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    let listed = items(&api, SO).await;
    assert_eq!(listed.len(), 3);
    let ip = listed.iter().find(|i| i["type"] == "ip").unwrap();
    assert_eq!(ip["ip"], "1.2.3.4");
    assert_eq!(ip["scanAction"], "block");
    assert_eq!(ip["riskLevel"], "medium");
    assert_eq!(ip["inExceptionList"], false);
    assert!(ip.get("description").is_none());
    let modified =
        emulator::clock::parse_iso(ip["lastModifiedDateTime"].as_str().unwrap()).unwrap();
    let expires = emulator::clock::parse_iso(ip["expiredDateTime"].as_str().unwrap()).unwrap();
    assert_eq!(expires - modified, 30 * 86_400);
    let url = listed.iter().find(|i| i["type"] == "url").unwrap();
    assert_eq!(
        (url["scanAction"].as_str(), url["riskLevel"].as_str()),
        (Some("log"), Some("high"))
    );
    assert_eq!(url["description"], "d");
    let sha = listed.iter().find(|i| i["type"] == "fileSha256").unwrap();
    assert_eq!(sha["expiredDateTime"], "9999-12-31T23:59:59Z");
}

#[tokio::test]
async fn customer_settings_are_configurable() {
    let api = Api::with(emulator::EmulatorConfig {
        customer_settings: CustomerSettings {
            scan_action: ScanAction::Log,
            risk_level: RiskLevel::Low,
            days_to_expiration: -1,
        },
        ..config()
    })
    .await;
    api.v1_post(SO, &json!([{"domain": "bad.example"}])).await;
    let listed = items(&api, SO).await;
    assert_eq!(listed[0]["scanAction"], "log");
    assert_eq!(listed[0]["riskLevel"], "low");
    assert_eq!(listed[0]["expiredDateTime"], "9999-12-31T23:59:59Z");
}

#[tokio::test]
async fn re_adding_a_value_updates_it() {
    let api = Api::start().await;
    api.v1_post(SO, &json!([{"domain": "Bad.Example", "riskLevel": "low"}]))
        .await;
    api.advance(60).await;
    let reply = api
        .v1_post(SO, &json!([{"domain": "bad.example", "riskLevel": "high", "description": "again"}, {"domain": "bad.example", "riskLevel": "medium"}]))
        .await;
    assert_eq!(Api::statuses(&reply), [201, 201]);
    let listed = items(&api, SO).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["riskLevel"], "medium", "last duplicate wins");
    assert_eq!(listed[0]["domain"], "bad.example");
}

#[tokio::test]
async fn every_validation_rule_is_a_per_item_400_naming_the_field() {
    let api = Api::start().await;
    let cases = [
        (
            json!({"description": "no value"}),
            "Required fields not found",
        ),
        (
            json!({"ip": "1.2.3.4", "domain": "a.example"}),
            "Only one object type",
        ),
        (json!("1.2.3.4"), "JSON object"),
        (json!({"ip": 1234}), "ip"),
        (json!({"ip": "1.2.3"}), "ip"),
        (json!({"domain": "*.example.com"}), "domain"),
        (json!({"domain": "example.com/path"}), "domain"),
        (
            json!({"domain": format!("{}.example", "a".repeat(250))}),
            "domain",
        ),
        (
            json!({"url": format!("http://a.example/{}", "x".repeat(2040))}),
            "url",
        ),
        (json!({"url": "http://a b.example/"}), "url"),
        (
            json!({"senderMailAddress": "not-an-address"}),
            "senderMailAddress",
        ),
        (json!({"fileSha1": "abc"}), "fileSha1"),
        (json!({"fileSha256": "z".repeat(64)}), "fileSha256"),
        (json!({"ip": "1.2.3.4", "scanAction": "drop"}), "scanAction"),
        (
            json!({"ip": "1.2.3.4", "riskLevel": "critical"}),
            "riskLevel",
        ),
        (
            json!({"ip": "1.2.3.4", "daysToExpiration": 0}),
            "daysToExpiration",
        ),
        (
            json!({"ip": "1.2.3.4", "daysToExpiration": -2}),
            "daysToExpiration",
        ),
        (
            json!({"ip": "1.2.3.4", "daysToExpiration": 366}),
            "daysToExpiration",
        ),
        (
            json!({"ip": "1.2.3.4", "description": "d".repeat(1001)}),
            "description",
        ),
    ];
    let body = Value::Array(cases.iter().map(|(item, _)| item.clone()).collect());
    let reply = api.v1_post(SO, &body).await;
    assert!(
        Api::statuses(&reply).iter().all(|&s| s == 400),
        "{}",
        reply.text
    );
    for ((item, needle), result) in cases.iter().zip(reply.body.as_array().unwrap()) {
        assert_eq!(result["body"]["error"]["code"], "BadRequest");
        let message = result["body"]["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{item} -> {message}");
    }
    assert!(items(&api, SO).await.is_empty());
    // The boundaries themselves are accepted.
    let edges = json!([
        {"ip": "2001:db8::1", "daysToExpiration": 365},
        {"url": format!("http://a.example/{}", "x".repeat(2048 - 17)), "description": "d".repeat(1000)},
        {"senderMailAddress": "phish@bad.example", "daysToExpiration": 1},
        {"fileSha1": "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}
    ]);
    assert_eq!(
        Api::statuses(&api.v1_post(SO, &edges).await),
        [201, 201, 201, 201]
    );
}

#[tokio::test]
async fn whole_request_errors_have_the_documented_shape() {
    let api = Api::start().await;
    for body in [json!({"ip": "1.2.3.4"}), json!([]), json!("text")] {
        let reply = api.v1_post(SO, &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.body["error"]["code"], "BadRequest");
        assert_eq!(reply.body["error"]["number"], 4_000_102);
    }
    let malformed = api
        .send(
            api.http
                .post(api.url(SO))
                .bearer_auth(KEY)
                .body("[{\"ip\":"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Malformed JSON")
    );
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_read_only_is_403_on_writes() {
    let api = Api::start().await;
    let expected_401 = json!({"error": {
        "code": "InvalidCredentials",
        "message": "Invalid token, please check your token and try again.",
        "innererror": {"code": "InvalidToken", "service": "svp"}
    }});
    let wrong = api
        .v1(Method::GET, "/v3.0/healthcheck/connectivity", "nope", None)
        .await;
    assert_eq!(
        (wrong.status, &wrong.body),
        (StatusCode::UNAUTHORIZED, &expected_401)
    );
    let missing = api.send(api.http.get(api.url(SO))).await;
    assert_eq!(
        (missing.status, &missing.body),
        (StatusCode::UNAUTHORIZED, &expected_401)
    );
    let basic = api
        .send(
            api.http
                .get(api.url(SO))
                .header("Authorization", format!("Basic {KEY}")),
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);

    let ok = api
        .v1(
            Method::GET,
            "/v3.0/healthcheck/connectivity",
            READ_ONLY,
            None,
        )
        .await;
    assert_eq!(
        (ok.status, ok.body),
        (StatusCode::OK, json!({"status": "available"}))
    );
    assert_eq!(
        api.v1(Method::GET, SO, READ_ONLY, None).await.status,
        StatusCode::OK
    );
    let body = json!([{"ip": "1.2.3.4"}]);
    for path in [
        SO,
        EXC,
        "/v3.0/threatintel/suspiciousObjects/delete",
        "/v3.0/threatintel/suspiciousObjectExceptions/delete",
        "/v3.0/response/suspiciousObjects",
    ] {
        let denied = api.v1(Method::POST, path, READ_ONLY, Some(&body)).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            denied.body,
            json!({"error": {"code": "AccessDenied", "message": "Insufficient permissions."}})
        );
    }
    assert!(items(&api, SO).await.is_empty());
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let api = Api::start().await;
    let big: Vec<Value> = (0..20_000).map(|i| json!({"ip": format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), "description": "padding padding padding"})).collect();
    let body = Value::Array(big);
    assert!(serde_json::to_vec(&body).unwrap().len() > 1_000_000);
    let reply = api.v1_post(SO, &body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.body["error"]["code"], "RequestEntityTooLarge");
    assert!(items(&api, SO).await.is_empty());
}

#[tokio::test]
async fn full_lists_evict_closest_to_expiry_then_refuse_with_4000018() {
    let api = Api::with(emulator::EmulatorConfig {
        limits: Limits {
            suspicious_objects_per_type: 3,
            exceptions: 2,
            ..Limits::default()
        },
        ..config()
    })
    .await;
    let first = json!([
        {"ip": "1.1.1.1", "daysToExpiration": 20},
        {"ip": "1.1.1.2", "daysToExpiration": 2},
        {"ip": "1.1.1.3", "daysToExpiration": -1},
        {"domain": "a.example"}
    ]);
    assert_eq!(
        Api::statuses(&api.v1_post(SO, &first).await),
        [201, 201, 201, 201]
    );
    let reply = api.v1_post(SO, &json!([{"ip": "1.1.1.4"}])).await;
    assert_eq!(Api::statuses(&reply), [201]);
    let mut ips: Vec<String> = items(&api, SO)
        .await
        .iter()
        .filter_map(|i| i["ip"].as_str().map(str::to_owned))
        .collect();
    ips.sort();
    assert_eq!(
        ips,
        ["1.1.1.1", "1.1.1.3", "1.1.1.4"],
        "1.1.1.2 expired soonest"
    );

    // Make every ip never-expiring, then one more is refused whole.
    let forever = json!([
        {"ip": "1.1.1.1", "daysToExpiration": -1},
        {"ip": "1.1.1.4", "daysToExpiration": -1}
    ]);
    assert_eq!(Api::statuses(&api.v1_post(SO, &forever).await), [201, 201]);
    let refused = api
        .v1_post(SO, &json!([{"domain": "b.example"}, {"ip": "1.1.1.5"}]))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"]["number"], 4_000_018);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The number of objects exceeds the maximum limit")
    );
    assert_eq!(
        items(&api, SO).await.len(),
        4,
        "nothing of a refused request is applied"
    );

    assert_eq!(
        Api::statuses(
            &api.v1_post(EXC, &json!([{"ip": "9.9.9.1"}, {"ip": "9.9.9.2"}]))
                .await
        ),
        [201, 201]
    );
    let exc = api.v1_post(EXC, &json!([{"ip": "9.9.9.3"}])).await;
    assert_eq!(
        (exc.status, exc.body["error"]["number"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(4_000_018))
    );
}

#[tokio::test]
async fn objects_expire_on_the_emulator_clock() {
    let api = Api::start().await;
    api.v1_post(SO, &json!([{"ip": "1.2.3.4", "daysToExpiration": 1}, {"ip": "1.2.3.5", "daysToExpiration": 2}, {"ip": "1.2.3.6", "daysToExpiration": -1}])).await;
    api.advance(86_400 + 1).await;
    let left: Vec<Value> = items(&api, SO).await;
    assert_eq!(left.len(), 2);
    api.advance(86_400 * 400).await;
    let left = items(&api, SO).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["ip"], "1.2.3.6");
}

#[tokio::test]
async fn exceptions_accept_wildcards_and_mark_suspicious_objects() {
    let api = Api::start().await;
    let reply = api
        .v1_post(
            EXC,
            &json!([
                {"domain": "*.example.com", "description": "ours"},
                {"url": "https://*.example.com/path/*"},
                {"ip": "10.0.0.0/8"},
                {"fileSha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}
            ]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [201, 201, 400, 201]);
    api.v1_post(SO, &json!([{"domain": "www.example.com"}, {"domain": "www.example.org"}, {"url": "https://a.example.com/path/x"}])).await;
    let listed = items(&api, SO).await;
    let flag = |value: &str| {
        listed
            .iter()
            .find(|i| i["domain"] == value || i["url"] == value)
            .unwrap()["inExceptionList"]
            .clone()
    };
    assert_eq!(flag("www.example.com"), true);
    assert_eq!(flag("www.example.org"), false);
    assert_eq!(flag("https://a.example.com/path/x"), true);
    let exceptions = items(&api, EXC).await;
    assert_eq!(exceptions.len(), 3);
    let domain = exceptions.iter().find(|e| e["type"] == "domain").unwrap();
    assert_eq!(domain["domain"], "*.example.com");
    assert_eq!(domain["description"], "ours");
    assert!(domain["lastModifiedDateTime"].is_string());
    assert!(domain.get("scanAction").is_none());
}

#[tokio::test]
async fn exception_wildcards_only_where_the_spec_allows_them() {
    let api = Api::start().await;
    let reply = api
        .v1_post(
            EXC,
            &json!([
                {"senderMailAddress": "*@example.com"},
                {"senderMailAddress": "phish@example.com"},
                {"url": "https://example.com/a*/b"},
                {"url": "https://www.*.example.com/"},
                {"url": "*.example.com/path/*"},
                {"url": "https://example.com/path*"}
            ]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [400, 201, 400, 400, 201, 201]);
    assert_eq!(
        reply.body[0]["body"]["error"]["message"],
        "Invalid request - Invalid field format: senderMailAddress."
    );
    assert_eq!(
        reply.body[2]["body"]["error"]["message"],
        "Invalid request - Invalid field format: url."
    );
    assert_eq!(items(&api, EXC).await.len(), 3);
}

#[tokio::test]
async fn delete_answers_204_or_404_per_item() {
    let api = Api::start().await;
    api.v1_post(
        SO,
        &json!([{"ip": "1.2.3.4"}, {"url": "http://bad.example/"}]),
    )
    .await;
    api.v1_post(EXC, &json!([{"domain": "good.example"}])).await;
    let reply = api
        .v1_post(
            "/v3.0/threatintel/suspiciousObjects/delete",
            &json!([
                {"ip": "1.2.3.4", "description": "clients send this too"},
                {"ip": "1.2.3.4"},
                {"domain": "never.example"},
                {"url": "http://bad.example/"},
                {"nothing": "here"}
            ]),
        )
        .await;
    assert_eq!(Api::statuses(&reply), [204, 404, 404, 204, 400]);
    assert_eq!(
        reply.body[1],
        json!({"status": 404, "body": {"error": {"code": "NotFound", "message": "Not found"}}})
    );
    assert!(items(&api, SO).await.is_empty());
    let exc = api
        .v1_post(
            "/v3.0/threatintel/suspiciousObjectExceptions/delete",
            &json!([{"domain": "good.example"}]),
        )
        .await;
    assert_eq!(Api::statuses(&exc), [204]);
    assert!(items(&api, EXC).await.is_empty());
}
