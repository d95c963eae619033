//! Apex Central's UDSO API over real HTTP: the three endpoints and their answers, every
//! authentication failure, read-only accounts, the list cap, expiry, faults and the state.

use emulator::EmulatorConfig;
use emulator::config::{ContentFilterMatch, MissingOnDelete, Sha1ListedAs};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{
    APEX_APP, APEX_KEY, APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY, Api, Reply, apex_claims, config,
    hs256_header, hs256_jwt,
};

const UDSO: &str = "/WebApp/api/SuspiciousObjects/UserDefinedSO";
const SHA1: &str = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";

fn add_body(kind: &str, content: &str, action: &str, notes: &str) -> Value {
    json!({"param": {"type": kind, "content": content, "notes": notes, "scan_action": action}})
}

async fn add(api: &Api, kind: &str, content: &str, action: &str, notes: &str) -> Reply {
    let body = add_body(kind, content, action, notes);
    api.apex(Method::PUT, &format!("{UDSO}/"), Some(&body))
        .await
}

async fn listed(api: &Api, query: &str) -> Vec<Value> {
    let reply = api.apex(Method::GET, &format!("{UDSO}{query}"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["Data"].as_array().unwrap().clone()
}

fn contents(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|item| item["content"].as_str().unwrap())
        .collect()
}

/// The `Meta` of an answer, after checking the envelope's other parts are there.
fn meta(reply: &Reply) -> (i64, i64) {
    for key in ["Data", "PermissionCtrl", "FeatureCtrl", "SystemCtrl"] {
        assert!(
            reply.body.get(key).is_some(),
            "{key} missing: {}",
            reply.text
        );
    }
    let meta = &reply.body["Meta"];
    (
        meta["Result"].as_i64().unwrap(),
        meta["ErrorCode"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn add_list_and_remove_with_apex_centrals_answers() {
    let api = Api::start().await;
    let added = add(&api, "ip", "198.51.100.7", "block", "[iocsync:1a2b3c4d]").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(
        added.body,
        json!({
            "Data": "",
            "Meta": {"Result": 1, "ErrorCode": 0, "ErrorMsg": ""},
            "PermissionCtrl": {"permission": "255", "elements": null},
            "FeatureCtrl": {"mode": "1"},
            "SystemCtrl": {"TmcmSoDist_Role": "none"},
        })
    );
    let body = json!({"param": {"type": "url", "content": "https://evil.example/a b?x=1&y=2", "scan_action": "log", "expiration_utc_date": "2099-01-25T09:00:00Z"}});
    let url = api.apex(Method::PUT, UDSO, Some(&body)).await;
    assert_eq!(url.status, StatusCode::BAD_REQUEST, "whitespace in a URL");
    let body = json!({"param": {"type": "url", "content": "https://evil.example/a?x=1&y=2", "scan_action": "log", "expiration_utc_date": "2099-01-25T09:00:00Z"}});
    assert_eq!(
        api.apex(Method::PUT, UDSO, Some(&body)).await.status,
        StatusCode::OK
    );

    let items = listed(&api, "?type=&contentFilter=").await;
    assert_eq!(items.len(), 2);
    let ip = items.iter().find(|i| i["type"] == "ip").unwrap();
    assert_eq!(
        ip,
        &json!({"type": "ip", "content": "198.51.100.7", "notes": "[iocsync:1a2b3c4d]", "scan_action": "block", "expiration_utc_date": null})
    );
    let url = items.iter().find(|i| i["type"] == "url").unwrap();
    assert_eq!(url["expiration_utc_date"], "2099-01-25T09:00:00");

    // The value travels in the query string, percent-encoded.
    let removed = api
        .apex(
            Method::DELETE,
            &format!("{UDSO}?type=url&content=https%3A%2F%2Fevil.example%2Fa%3Fx%3D1%26y%3D2"),
            None,
        )
        .await;
    assert_eq!(meta(&removed), (1, 0), "{}", removed.text);
    assert_eq!(removed.body["Data"], "");
    assert_eq!(contents(&listed(&api, "").await), ["198.51.100.7"]);
}

#[tokio::test]
async fn every_documented_path_spelling_is_served() {
    let api = Api::start().await;
    for path in [
        format!("{UDSO}/"),
        UDSO.to_owned(),
        "/WebApp/api/v1/SuspiciousObjects/UserDefinedSO/".to_owned(),
        "/WebApp/api/v1/SuspiciousObjects/UserDefinedSO".to_owned(),
    ] {
        let reply = api.apex(Method::GET, &path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
}

#[tokio::test]
async fn re_adding_a_value_updates_it_and_sha1s_are_kept_upper_case() {
    let api = Api::start().await;
    add(&api, "file_sha1", SHA1, "log", "first").await;
    let again = add(
        &api,
        "file_sha1",
        &SHA1.to_uppercase(),
        "quarantine",
        "second",
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let items = listed(&api, "?type=file_sha1").await;
    assert_eq!(
        items,
        [
            json!({"type": "file_sha1", "content": SHA1.to_uppercase(), "notes": "second", "scan_action": "quarantine", "expiration_utc_date": null})
        ]
    );
    // Removing compares without case too.
    let removed = api
        .apex(
            Method::DELETE,
            &format!("{UDSO}?type=file_sha1&content={SHA1}"),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    assert!(listed(&api, "").await.is_empty());
}

#[tokio::test]
async fn type_and_content_filter_select_objects() {
    let api = Api::start().await;
    add(&api, "domain", "evil.example", "block", "").await;
    add(&api, "domain", "good.example", "log", "").await;
    add(&api, "ip", "203.0.113.9", "log", "").await;
    add(&api, "file_sha1", SHA1, "log", "").await;
    assert_eq!(listed(&api, "").await.len(), 4);
    assert_eq!(
        contents(&listed(&api, "?type=domain").await),
        ["evil.example", "good.example"]
    );
    // A case-insensitive substring, within the type when one is given.
    assert_eq!(
        contents(&listed(&api, "?type=domain&contentFilter=EVIL").await),
        ["evil.example"]
    );
    assert_eq!(listed(&api, "?contentFilter=.example").await.len(), 2);
    assert_eq!(
        listed(&api, "?type=ip&contentFilter=.example").await.len(),
        0
    );
    // `file` selects the SHA-1 objects too.
    assert_eq!(listed(&api, "?type=file").await.len(), 1);
    let unknown = api
        .apex(Method::GET, &format!("{UDSO}?type=hash"), None)
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(meta(&unknown), (0, 7));
}

#[tokio::test]
async fn open_choices_follow_the_configuration() {
    let mut settings = config();
    settings.apex_central.content_filter = ContentFilterMatch::Exact;
    settings.apex_central.sha1_listed_as = Sha1ListedAs::File;
    settings.apex_central.missing_on_delete = MissingOnDelete::Ok;
    let api = Api::with(settings).await;
    add(&api, "domain", "evil.example", "block", "").await;
    add(&api, "domain", "sub.evil.example", "block", "").await;
    add(&api, "file_sha1", SHA1, "log", "").await;
    assert_eq!(
        contents(&listed(&api, "?contentFilter=EVIL.example").await),
        ["evil.example"]
    );
    assert_eq!(listed(&api, "?type=file_sha1").await[0]["type"], "file");
    let absent = api
        .apex(
            Method::DELETE,
            &format!("{UDSO}?type=ip&content=192.0.2.1"),
            None,
        )
        .await;
    assert_eq!(meta(&absent), (1, 0));
}

#[tokio::test]
async fn removing_an_absent_object_is_data_not_found() {
    let api = Api::start().await;
    let absent = api
        .apex(
            Method::DELETE,
            &format!("{UDSO}?type=ip&content=192.0.2.1"),
            None,
        )
        .await;
    assert_eq!(absent.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(meta(&absent), (0, 8));
    assert_eq!(absent.body["Meta"]["ErrorMsg"], "Data not found");
    for query in ["?type=ip", "?content=192.0.2.1", "?type=nope&content=x"] {
        let reply = api
            .apex(Method::DELETE, &format!("{UDSO}{query}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(meta(&reply), (0, 7));
    }
}

#[tokio::test]
async fn invalid_objects_are_incorrect_parameters() {
    let api = Api::start().await;
    for (kind, content, action) in [
        ("ip", "2001:db8::1", "log"),
        ("ip", "198.51.100.7", "quarantine"),
        ("url", "evil.example/path", "log"),
        ("file_sha1", "abc", "log"),
        ("file", "dGVzdA==", "log"),
        ("domain", "evil.example", "clean"),
    ] {
        let reply = add(&api, kind, content, action, "").await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{kind} {content} {action}"
        );
        assert_eq!(meta(&reply), (0, 7));
        assert!(
            reply.body["Meta"]["ErrorMsg"]
                .as_str()
                .unwrap()
                .starts_with("Incorrect parameter"),
            "{}",
            reply.text
        );
    }
    // Only JSON bodies are taken ("This API only supports ... application/json;charset=utf-8").
    let body = add_body("ip", "198.51.100.7", "log", "").to_string();
    let claims = apex_claims(APEX_APP, api.apex_now(), "PUT", UDSO, &body);
    let token = hs256_jwt(&hs256_header(), &claims, APEX_KEY);
    let request = api
        .http
        .put(api.url(UDSO))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body(body);
    assert_eq!(api.send(request).await.status, StatusCode::BAD_REQUEST);
    assert!(listed(&api, "").await.is_empty());
}

/// Sends a GET of the list with `token`.
async fn get_with(api: &Api, token: &str) -> Reply {
    api.apex_signed(Method::GET, UDSO, "", token).await
}

fn assert_401(reply: &Reply, code: i64) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(meta(reply), (0, code), "{}", reply.text);
    assert!(
        reply.body["Meta"]["ErrorMsg"]
            .as_str()
            .unwrap()
            .starts_with("Authentication failure"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn each_authentication_failure_has_its_code() {
    let api = Api::start().await;
    let now = api.apex_now();
    let claims = apex_claims(APEX_APP, now, "GET", UDSO, "");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims.clone();
        change(&mut claims);
        hs256_jwt(&hs256_header(), &claims, APEX_KEY)
    };
    // 14: no token at all.
    let bare = api.send(api.http.get(api.url(UDSO))).await;
    assert_401(&bare, 14);
    // 15: not a JWT, or claims of the wrong type.
    assert_401(&get_with(&api, "not.a-jwt").await, 15);
    assert_401(
        &get_with(&api, &with(&|c| c["iat"] = json!("now"))).await,
        15,
    );
    assert_401(
        &get_with(&api, &with(&|c| c["checksum"] = json!(null))).await,
        15,
    );
    // 16: only V1 tokens.
    assert_401(
        &get_with(&api, &with(&|c| c["version"] = json!("V2"))).await,
        16,
    );
    // 17: an application nobody registered.
    assert_401(
        &get_with(&api, &with(&|c| c["appid"] = json!("NOT-REGISTERED"))).await,
        17,
    );
    // 18: issued longer ago than the communication time-out (900 s), or as far ahead.
    assert_401(
        &get_with(&api, &with(&|c| c["iat"] = json!(now - 901.0))).await,
        18,
    );
    assert_401(
        &get_with(&api, &with(&|c| c["iat"] = json!(now + 901.0))).await,
        18,
    );
    // 19: signed with another key.
    assert_401(
        &get_with(&api, &hs256_jwt(&hs256_header(), &claims, "wrong-key")).await,
        19,
    );
    let token = with(&|_| {});
    let mut tampered = token.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert_401(
        &get_with(&api, &String::from_utf8(tampered).unwrap()).await,
        19,
    );
    // 20: a checksum of another request (path, method, query, body).
    let other_path = apex_claims(APEX_APP, now, "GET", &format!("{UDSO}/"), "");
    assert_401(
        &get_with(&api, &hs256_jwt(&hs256_header(), &other_path, APEX_KEY)).await,
        20,
    );
    let reply = api
        .apex_signed(Method::GET, &format!("{UDSO}?type=ip"), "", &token)
        .await;
    assert_401(&reply, 20);
    // 21: a hash function Apex Central does not take.
    let header = json!({"alg": "HS1", "typ": "JWT"});
    assert_401(
        &get_with(&api, &hs256_jwt(&header, &claims, APEX_KEY)).await,
        21,
    );
    // The valid token itself passes, with an iat in whole or fractional seconds (Python's
    // time.time()).
    assert_eq!(get_with(&api, &token).await.status, StatusCode::OK);
    let whole = with(&|c| c["iat"] = json!(now.floor() as i64));
    assert_eq!(get_with(&api, &whole).await.status, StatusCode::OK);
    let fraction = with(&|c| c["iat"] = json!(now.floor() + 0.5));
    assert_eq!(get_with(&api, &fraction).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_does_not_match_the_checksum_is_refused() {
    let api = Api::start().await;
    let signed = add_body("ip", "198.51.100.7", "log", "").to_string();
    let sent = add_body("ip", "198.51.100.8", "log", "").to_string();
    let claims = apex_claims(APEX_APP, api.apex_now(), "PUT", UDSO, &signed);
    let token = hs256_jwt(&hs256_header(), &claims, APEX_KEY);
    assert_401(&api.apex_signed(Method::PUT, UDSO, &sent, &token).await, 20);
    assert!(listed(&api, "").await.is_empty());
    // The same token with the body it was made for is taken.
    assert_eq!(
        api.apex_signed(Method::PUT, UDSO, &signed, &token)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn hs384_and_hs512_tokens_are_taken() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    let api = Api::start().await;
    let claims = apex_claims(APEX_APP, api.apex_now(), "GET", UDSO, "");
    let input = |alg: &str| {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    };
    let hs384 = {
        let input = input("HS384");
        let mut mac = Hmac::<sha2::Sha384>::new_from_slice(APEX_KEY.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let hs512 = {
        let input = input("HS512");
        let mut mac = Hmac::<sha2::Sha512>::new_from_slice(APEX_KEY.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    for token in [hs384, hs512] {
        assert_eq!(get_with(&api, &token).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_communication_time_out_is_configurable_and_follows_the_clock() {
    let mut settings = config();
    settings.apex_central.communication_timeout_seconds = 60;
    let api = Api::with(settings).await;
    let claims = apex_claims(APEX_APP, api.apex_now(), "GET", UDSO, "");
    let token = hs256_jwt(&hs256_header(), &claims, APEX_KEY);
    assert_eq!(get_with(&api, &token).await.status, StatusCode::OK);
    api.advance(61).await;
    assert_401(&get_with(&api, &token).await, 18);
    // A token made at the emulator's (moved) time passes.
    assert_eq!(
        api.apex(Method::GET, UDSO, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_read_only_account_reads_but_cannot_write() {
    let api = Api::start().await;
    add(&api, "domain", "evil.example", "block", "").await;
    let app = (APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY);
    let read = api.apex_as(app, Method::GET, UDSO, None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["PermissionCtrl"]["permission"], "1");
    assert_eq!(read.body["Data"].as_array().unwrap().len(), 1);
    let body = add_body("ip", "198.51.100.7", "log", "");
    let write = api.apex_as(app, Method::PUT, UDSO, Some(&body)).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    assert_eq!(meta(&write), (0, 10));
    let delete = api
        .apex_as(
            app,
            Method::DELETE,
            &format!("{UDSO}?type=domain&content=evil.example"),
            None,
        )
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(listed(&api, "").await.len(), 1);
}

#[tokio::test]
async fn a_full_list_refuses_new_objects_but_updates_old_ones() {
    let mut settings = config();
    settings.apex_central.max_objects = 2;
    let api = Api::with(settings).await;
    add(&api, "ip", "198.51.100.1", "log", "").await;
    add(&api, "domain", "evil.example", "log", "").await;
    let full = add(&api, "ip", "198.51.100.2", "log", "").await;
    assert_eq!(full.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(meta(&full), (0, 12));
    let update = add(&api, "ip", "198.51.100.1", "block", "now blocked").await;
    assert_eq!(update.status, StatusCode::OK);
    assert_eq!(listed(&api, "?type=ip").await[0]["scan_action"], "block");
}

#[tokio::test]
async fn expired_objects_leave_the_list() {
    let api = Api::start().await;
    let soon = time::OffsetDateTime::from_unix_timestamp(api.running.emulator().now() + 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = json!({"param": {"type": "ip", "content": "198.51.100.7", "scan_action": "log", "expiration_utc_date": soon}});
    assert_eq!(
        api.apex(Method::PUT, UDSO, Some(&body)).await.status,
        StatusCode::OK
    );
    add(&api, "ip", "198.51.100.8", "log", "").await;
    assert_eq!(listed(&api, "").await.len(), 2);
    api.advance(3601).await;
    assert_eq!(contents(&listed(&api, "").await), ["198.51.100.8"]);
}

#[tokio::test]
async fn faults_answer_in_apex_centrals_envelope() {
    let api = Api::start().await;
    let set = |faults: Value| {
        let request = api.http.post(api.url("/_emulator/faults")).json(&faults);
        api.send(request)
    };
    assert_eq!(set(json!({"burst_500": 1})).await.status, StatusCode::OK);
    let failed = api.apex(Method::GET, UDSO, None).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(meta(&failed), (0, 99));
    assert_eq!(
        set(json!({"burst_429": 1, "retry_after_seconds": 3}))
            .await
            .status,
        StatusCode::OK
    );
    let limited = api.apex(Method::GET, UDSO, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers["retry-after"], "3");
    assert_eq!(meta(&limited).0, 0);
    assert_eq!(
        api.apex(Method::GET, UDSO, None).await.status,
        StatusCode::OK
    );

    // A refused value fails its add (body) and its delete (query string) every time.
    add(&api, "domain", "kept.example", "log", "").await;
    assert_eq!(
        set(json!({"reject_values": ["kept.example"]})).await.status,
        StatusCode::OK
    );
    let refused = add(&api, "domain", "kept.example", "block", "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(meta(&refused), (0, 7));
    let delete = format!("{UDSO}?type=domain&content=kept.example");
    let refused = api.apex(Method::DELETE, &delete, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(listed(&api, "?type=domain").await[0]["scan_action"], "log");
}

#[tokio::test]
async fn the_rate_limit_counts_per_application() {
    let mut settings = config();
    settings.rate_limits.apex_central = 2;
    let api = Api::with(settings).await;
    for _ in 0..2 {
        assert_eq!(
            api.apex(Method::GET, UDSO, None).await.status,
            StatusCode::OK
        );
    }
    let limited = api.apex(Method::GET, UDSO, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    let other = api
        .apex_as(
            (APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY),
            Method::GET,
            UDSO,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn the_state_and_request_counters_show_the_list() {
    let api = Api::start().await;
    add(&api, "file_sha1", SHA1, "quarantine", "n").await;
    api.apex(Method::GET, UDSO, None).await;
    let state = api.send(api.http.get(api.url("/_emulator/state"))).await;
    assert_eq!(
        state.body["udso"],
        json!([{"type": "file_sha1", "content": SHA1.to_uppercase(), "notes": "n", "scan_action": "quarantine", "expiration_utc_date": null}])
    );
    let requests = api.send(api.http.get(api.url("/_emulator/requests"))).await;
    let endpoints = &requests.body["endpoints"];
    assert_eq!(endpoints[format!("PUT {UDSO}/")]["statuses"]["200"], 1);
    assert_eq!(endpoints[format!("GET {UDSO}")]["statuses"]["200"], 1);
    api.send(api.http.post(api.url("/_emulator/reset"))).await;
    assert!(listed(&api, "").await.is_empty());
}

#[tokio::test]
async fn the_list_survives_a_restart_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = || EmulatorConfig {
        state_file: Some(dir.path().join("state.json")),
        ..config()
    };
    let api = Api::with(settings()).await;
    add(&api, "url", "https://evil.example/x", "block", "kept").await;
    api.running.shutdown().await.unwrap();
    let api = Api::with(settings()).await;
    assert_eq!(
        contents(&listed(&api, "").await),
        ["https://evil.example/x"]
    );
}

#[tokio::test]
async fn without_applications_one_is_generated_and_works() {
    use secrecy::ExposeSecret;
    let api = Api::with(EmulatorConfig::default()).await;
    let app = api
        .running
        .emulator()
        .generated_apex_application()
        .unwrap()
        .clone();
    assert_eq!(app.id.len(), 36);
    let key = app.api_key.expose_secret();
    let reply = api.apex_as((&app.id, key), Method::GET, UDSO, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let configured = Api::start().await;
    assert!(
        configured
            .running
            .emulator()
            .generated_apex_application()
            .is_none()
    );
    assert_401(
        &configured
            .apex_as((&app.id, key), Method::GET, UDSO, None)
            .await,
        17,
    );
}
