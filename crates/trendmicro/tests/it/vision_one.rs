//! The Vision One client against the emulator, over real HTTP.

use std::time::{Duration, Instant};

use emulator::EmulatorConfig;
use serde_json::json;
use trendmicro::Error;
use trendmicro::vision_one::{
    ExceptionObject, Expiry, ItemOutcome, ObjectValue, RiskLevel, ScanAction, SuspiciousObject,
    VisionOneClient, VisionOneConfig,
};

use crate::common::{Emu, KEY, READ_ONLY_KEY, fast_policy};

const ADD: &str = "POST /v3.0/threatintel/suspiciousObjects";
const LIST: &str = "GET /v3.0/threatintel/suspiciousObjects";
const ADD_EXCEPTIONS: &str = "POST /v3.0/threatintel/suspiciousObjectExceptions";

fn config(emu: &Emu, key: &str) -> VisionOneConfig {
    let mut config = VisionOneConfig::with_base_url(emu.base(), key.into());
    config.http = fast_policy();
    config
}

fn client(emu: &Emu) -> VisionOneClient {
    VisionOneClient::new(&config(emu, KEY)).unwrap()
}

fn ips(count: usize) -> Vec<SuspiciousObject> {
    (0..count)
        .map(|n| SuspiciousObject::new(ObjectValue::Ip(format!("198.51.100.{n}"))))
        .collect()
}

fn outcomes(report: &trendmicro::vision_one::BatchReport) -> Vec<ItemOutcome> {
    report
        .items
        .iter()
        .map(|item| item.outcome.clone())
        .collect()
}

#[tokio::test]
async fn adds_lists_and_removes_suspicious_objects() {
    let emu = Emu::start().await;
    let client = client(&emu);
    client.check().await.unwrap();

    let url = SuspiciousObject {
        value: ObjectValue::Url("http://bad.example/x?q=\"1\"".into()),
        description: Some("from feed \"alpha\"".into()),
        scan_action: Some(ScanAction::Log),
        risk_level: Some(RiskLevel::High),
        expiry: Expiry::days(7),
    };
    let never = SuspiciousObject {
        expiry: Some(Expiry::NEVER),
        ..SuspiciousObject::new(ObjectValue::FileSha256("ab".repeat(32)))
    };
    let domain = SuspiciousObject::new(ObjectValue::Domain("evil.example".into()));
    let report = client
        .add_suspicious(&[url.clone(), never.clone(), domain.clone()])
        .await;
    assert!(report.halted.is_none(), "{:?}", report.halted);
    assert_eq!(report.done(), 3);
    assert!(report.items.iter().all(|item| item.attempts == 1));

    let listed = client.list_suspicious(None).await.unwrap();
    assert_eq!(listed.len(), 3);
    let got_url = listed.iter().find(|item| item.value == url.value).unwrap();
    assert_eq!(got_url.description, url.description);
    assert_eq!(got_url.scan_action, Some(ScanAction::Log));
    assert_eq!(got_url.risk_level, Some(RiskLevel::High));
    let week = got_url.expires.unwrap() - got_url.last_modified.unwrap();
    assert_eq!(week.whole_days(), 7);
    let got_never = listed
        .iter()
        .find(|item| item.value == never.value)
        .unwrap();
    assert_eq!(got_never.expires.unwrap().year(), 9999);

    let filtered = client
        .list_suspicious(Some("type eq 'domain'"))
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].value, domain.value);

    let gone = ObjectValue::Ip("192.0.2.77".into());
    let report = client
        .delete_suspicious(&[url.value.clone(), gone, domain.value.clone()])
        .await;
    assert_eq!(
        outcomes(&report),
        vec![
            ItemOutcome::Applied,
            ItemOutcome::AlreadyAbsent,
            ItemOutcome::Applied
        ]
    );
    let left = client.list_suspicious(None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].value, never.value);
}

#[tokio::test]
async fn adds_lists_and_removes_exceptions() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let wildcard = ExceptionObject {
        value: ObjectValue::Domain("*.corp.example".into()),
        description: Some("our own".into()),
    };
    let mail = ExceptionObject {
        value: ObjectValue::SenderMailAddress("ceo@corp.example".into()),
        description: None,
    };
    let report = client
        .add_exceptions(&[wildcard.clone(), mail.clone()])
        .await;
    assert_eq!(report.done(), 2, "{report:?}");

    let listed = client.list_exceptions(None).await.unwrap();
    assert_eq!(listed.len(), 2);
    let got = listed
        .iter()
        .find(|item| item.value == wildcard.value)
        .unwrap();
    assert_eq!(got.description.as_deref(), Some("our own"));

    let report = client
        .delete_exceptions(&[mail.value.clone(), mail.value])
        .await;
    assert_eq!(
        outcomes(&report),
        vec![ItemOutcome::Applied, ItemOutcome::AlreadyAbsent]
    );
    assert_eq!(client.list_exceptions(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn batches_split_by_count() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY);
    config.suspicious_batch_size = 10;
    config.exception_batch_size = 4;
    let client = VisionOneClient::new(&config).unwrap();

    let report = client.add_suspicious(&ips(25)).await;
    assert_eq!(report.done(), 25);
    assert_eq!(emu.requests(ADD).await, 3);

    let exceptions: Vec<ExceptionObject> = (0..9)
        .map(|n| ExceptionObject {
            value: ObjectValue::Domain(format!("ok{n}.example")),
            description: None,
        })
        .collect();
    assert_eq!(client.add_exceptions(&exceptions).await.done(), 9);
    assert_eq!(emu.requests(ADD_EXCEPTIONS).await, 3);
    assert_eq!(client.stats().calls_to(ADD), 3);
    assert_eq!(client.stats().calls_to(ADD_EXCEPTIONS), 3);
}

#[tokio::test]
async fn batches_split_by_bytes() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY);
    config.max_body_bytes = 20_000;
    let client = VisionOneClient::new(&config).unwrap();
    let objects: Vec<SuspiciousObject> = (0..50)
        .map(|n| SuspiciousObject {
            description: Some("x".repeat(900)),
            ..SuspiciousObject::new(ObjectValue::Domain(format!("d{n:03}.example.com")))
        })
        .collect();
    // Every object encodes to the same size; a request is `[` + objects joined by `,` + `]`.
    let size = format!(
        r#"{{"domain":"d000.example.com","description":"{}"}}"#,
        "x".repeat(900)
    )
    .len();
    let per_request = (20_000 - 2 + 1) / (size + 1);
    let expected = 50_usize.div_ceil(per_request) as u64;
    assert!(expected > 1);

    let report = client.add_suspicious(&objects).await;
    assert_eq!(report.done(), 50);
    assert_eq!(emu.requests(ADD).await, expected);
    let bytes = emu.endpoint(ADD).await["request_bytes"].as_u64().unwrap();
    assert_eq!(
        bytes,
        expected + 50 * (size as u64 + 1),
        "one `[`/`]` pair and comma per object"
    );
}

#[tokio::test]
async fn per_item_400_is_reported_with_its_message_and_not_resent() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let objects = [
        SuspiciousObject::new(ObjectValue::Domain("good.example".into())),
        SuspiciousObject::new(ObjectValue::Domain("nodot".into())),
        SuspiciousObject::new(ObjectValue::Ip("10.0.0.0/8".into())),
        SuspiciousObject::new(ObjectValue::Domain("also-good.example".into())),
    ];
    let report = client.add_suspicious(&objects).await;
    assert_eq!(report.items[0].outcome, ItemOutcome::Applied);
    assert_eq!(
        report.items[1].outcome,
        ItemOutcome::Rejected {
            status: Some(400),
            message: "Invalid request - Invalid field format: domain.".into()
        }
    );
    // Refused locally: never sent.
    assert!(matches!(
        &report.items[2].outcome,
        ItemOutcome::Rejected { status: None, message } if message.contains("not a single IP")
    ));
    assert_eq!(report.items[2].attempts, 0);
    assert_eq!(report.items[3].outcome, ItemOutcome::Applied);
    assert_eq!(emu.requests(ADD).await, 1);
}

#[tokio::test]
async fn per_item_500_resends_only_the_failed_items() {
    let emu = Emu::with(EmulatorConfig {
        seed: 11,
        ..EmulatorConfig::default()
    })
    .await;
    let mut config = config(&emu, KEY);
    config.item_attempts = 6;
    let client = VisionOneClient::new(&config).unwrap();
    emu.faults(json!({"item_error_rate": 0.5})).await;

    let objects = ips(20);
    let report = client.add_suspicious(&objects).await;
    assert!(report.halted.is_none());
    let requests = emu.requests(ADD).await;
    assert!(
        requests >= 2,
        "the seed should fail some items in the first request"
    );

    // The server saw exactly the items counted in `attempts`: per request two brackets, and
    // per item its JSON and one separator.
    let item_size = |n: usize| format!(r#"{{"ip":"198.51.100.{n}"}}"#).len() as u64;
    let sent: u64 = report
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| u64::from(item.attempts) * (item_size(n) + 1))
        .sum();
    let bytes = emu.endpoint(ADD).await["request_bytes"].as_u64().unwrap();
    assert_eq!(bytes, sent + requests);
    let total_attempts: u32 = report.items.iter().map(|item| item.attempts).sum();
    assert!(
        u64::from(total_attempts) < 20 * requests,
        "not everything was re-sent"
    );

    // What the client reports applied is exactly what the list holds.
    let listed = client.list_suspicious(None).await.unwrap();
    for (object, item) in objects.iter().zip(&report.items) {
        let present = listed.iter().any(|entry| entry.value == object.value);
        match &item.outcome {
            ItemOutcome::Applied => assert!(present, "{item:?}"),
            ItemOutcome::Failed {
                status: Some(500), ..
            } => {
                assert!(!present && item.attempts == 6, "{item:?}")
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
}

#[tokio::test]
async fn whole_request_500_is_retried_then_reported_per_item() {
    let emu = Emu::with(EmulatorConfig {
        seed: 3,
        ..EmulatorConfig::default()
    })
    .await;
    let client = client(&emu);
    emu.faults(json!({"error_rate": 1.0})).await;
    let report = client.add_suspicious(&ips(2)).await;
    assert!(
        report.halted.is_none(),
        "a server error does not halt the run"
    );
    assert!(report.items.iter().all(|item| matches!(
        item.outcome,
        ItemOutcome::Failed {
            status: Some(500),
            ..
        }
    )));
    assert_eq!(emu.count(ADD, "500").await, 4, "max_attempts = 4");
    assert_eq!(client.stats().retries, 3);

    // With intermittent errors every batch goes through, each retried as often as it failed.
    let mut config = config(&emu, KEY);
    config.http.retry.max_attempts = 12;
    config.suspicious_batch_size = 1;
    let client = VisionOneClient::new(&config).unwrap();
    emu.faults(json!({"error_rate": 0.5})).await;
    let report = client.add_suspicious(&ips(6)).await;
    assert_eq!(report.done(), 6, "{report:?}");
    let errors = emu.count(ADD, "500").await - 4;
    assert!(errors >= 1);
    assert_eq!(client.stats().retries, errors);
    assert_eq!(emu.count(ADD, "207").await, 6);
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let emu = Emu::with(EmulatorConfig {
        seed: 5,
        ..EmulatorConfig::default()
    })
    .await;
    let mut config = config(&emu, KEY);
    config.http.retry.max_attempts = 10;
    let client = VisionOneClient::new(&config).unwrap();
    emu.faults(json!({"drop_rate": 0.5})).await;
    for _ in 0..5 {
        client.check().await.unwrap();
    }
    let dropped = emu.count(LIST, "dropped").await
        + emu
            .count("GET /v3.0/healthcheck/connectivity", "dropped")
            .await;
    assert!(dropped >= 1);
    let stats = client.stats();
    assert_eq!(stats.retries, dropped);
    let unanswered: u64 = stats
        .calls
        .iter()
        .filter(|call| call.status.is_none())
        .map(|call| call.count)
        .sum();
    assert_eq!(unanswered, dropped);

    emu.faults(json!({"drop_rate": 1.0})).await;
    let report = client.add_suspicious(&ips(3)).await;
    match &report.halted {
        Some(Error::Unreachable { attempts: 10, .. }) => {}
        other => panic!("expected Unreachable after 10 attempts, got {other:?}"),
    }
    assert!(
        report
            .items
            .iter()
            .all(|item| item.outcome == ItemOutcome::Skipped)
    );
}

#[tokio::test]
async fn retry_after_pauses_the_whole_target_then_succeeds() {
    let emu = Emu::start().await;
    let client = std::sync::Arc::new(client(&emu));
    emu.faults(json!({"burst_429": 1, "retry_after_seconds": 1}))
        .await;

    let writer = {
        let client = client.clone();
        tokio::spawn(async move { client.add_suspicious(&ips(1)).await })
    };
    // Once the client has counted the pause, the gate is shut.
    while client.stats().rate_limit_pauses == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Another request to the same target waits out the pause too.
    let started = Instant::now();
    client.list_suspicious(None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the list request went out during the pause ({:?})",
        started.elapsed()
    );
    let report = writer.await.unwrap();
    assert_eq!(report.done(), 1);
    let stats = client.stats();
    assert_eq!(stats.rate_limit_pauses, 1);
    assert!(stats.paused_ms >= 1000);
    assert_eq!(emu.count(ADD, "429").await, 1);
    assert_eq!(emu.count(ADD, "207").await, 1);
}

#[tokio::test]
async fn a_rate_limit_that_does_not_lift_halts() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY);
    config.http.retry.rate_limit_retries = 2;
    config.http.retry.max_retry_after_secs = 1;
    let client = VisionOneClient::new(&config).unwrap();
    emu.faults(json!({"burst_429": 100, "retry_after_seconds": 1}))
        .await;
    let report = client.add_suspicious(&ips(2)).await;
    assert!(
        matches!(report.halted, Some(Error::RateLimited { attempts: 3, .. })),
        "{:?}",
        report.halted
    );
    assert_eq!(emu.count(ADD, "429").await, 3);

    // A Retry-After longer than allowed gives up at once.
    emu.faults(json!({"burst_429": 100, "retry_after_seconds": 5}))
        .await;
    let report = client
        .delete_suspicious(&[ObjectValue::Ip("1.2.3.4".into())])
        .await;
    assert!(
        matches!(report.halted, Some(Error::RateLimited { attempts: 1, .. })),
        "{:?}",
        report.halted
    );
    assert_eq!(
        emu.count("POST /v3.0/threatintel/suspiciousObjects/delete", "429")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_key_and_missing_permission_are_distinct_and_never_show_the_key() {
    let emu = Emu::start().await;
    let wrong = "wrong-key-c0ffee-123";
    let bad = VisionOneClient::new(&config(&emu, wrong)).unwrap();
    let error = bad.check().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("401") && !shown.contains(wrong), "{shown}");

    let report = bad.add_suspicious(&ips(3)).await;
    assert!(matches!(report.halted, Some(Error::Unauthorized { .. })));
    assert_eq!(
        emu.requests(ADD).await,
        1,
        "a bad key stops after one request"
    );

    let read_only = VisionOneClient::new(&config(&emu, READ_ONLY_KEY)).unwrap();
    read_only.check().await.unwrap();
    let report = read_only.add_suspicious(&ips(3)).await;
    let error = report.halted.unwrap();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert!(error.stops_target());
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("403") && !shown.contains(READ_ONLY_KEY),
        "{shown}"
    );
    assert!(
        report
            .items
            .iter()
            .all(|item| item.outcome == ItemOutcome::Skipped)
    );
}

#[tokio::test]
async fn a_full_list_is_cap_reached_and_stops() {
    let mut config = EmulatorConfig::default();
    config.limits.suspicious_objects_per_type = 5;
    let emu = Emu::with(config).await;
    let mut client_config = self::config(&emu, KEY);
    client_config.suspicious_batch_size = 2;
    let client = VisionOneClient::new(&client_config).unwrap();
    let never: Vec<SuspiciousObject> = ips(9)
        .into_iter()
        .map(|object| SuspiciousObject {
            expiry: Some(Expiry::NEVER),
            ..object
        })
        .collect();
    let report = client.add_suspicious(&never).await;
    let error = report.halted.as_ref().unwrap();
    assert!(matches!(error, Error::CapReached { .. }), "{error:?}");
    assert!(
        error.to_string().contains("exceeds the maximum limit"),
        "{error}"
    );
    let applied = report
        .items
        .iter()
        .filter(|item| item.outcome == ItemOutcome::Applied)
        .count();
    assert_eq!(
        applied, 4,
        "two full batches fit, the third would pass the cap"
    );
    assert!(
        report.items[4..]
            .iter()
            .all(|item| item.outcome == ItemOutcome::Skipped)
    );
    assert_eq!(emu.requests(ADD).await, 3, "nothing sent after the cap");
}

#[tokio::test]
async fn listing_follows_next_link_across_pages() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY);
    config.page_size = 50;
    let client = VisionOneClient::new(&config).unwrap();
    assert_eq!(client.add_suspicious(&ips(120)).await.done(), 120);
    let listed = client.list_suspicious(None).await.unwrap();
    assert_eq!(listed.len(), 120);
    let mut values: Vec<_> = listed.iter().map(|item| item.value.clone()).collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 120, "no entry listed twice");
    assert_eq!(emu.requests(LIST).await, 3);

    let long_filter = "a".repeat(4001);
    let error = client
        .list_suspicious(Some(&long_filter))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
}

#[tokio::test]
async fn a_filtered_listing_sends_the_filter_with_every_page() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY);
    config.page_size = 50;
    let client = VisionOneClient::new(&config).unwrap();
    // Older than every IP, so (newest first) they follow the IPs: a page asked for without
    // the filter would bring them back, as the real service does.
    let domains: Vec<SuspiciousObject> = (0..5)
        .map(|n| SuspiciousObject::new(ObjectValue::Domain(format!("d{n}.example"))))
        .collect();
    assert_eq!(client.add_suspicious(&domains).await.done(), 5);
    assert_eq!(client.add_suspicious(&ips(120)).await.done(), 120);
    let listed = client.list_suspicious(Some("type eq 'ip'")).await.unwrap();
    assert_eq!(listed.len(), 120);
    assert!(
        listed
            .iter()
            .all(|item| matches!(item.value, ObjectValue::Ip(_))),
        "{listed:?}"
    );
    assert_eq!(emu.requests(LIST).await, 3);
}

#[tokio::test]
async fn a_failing_connectivity_check_reports_its_message() {
    let emu = Emu::start().await;
    emu.faults(json!({"burst_500": 10})).await;
    let error = client(&emu).check().await.unwrap_err();
    match &error {
        Error::Server {
            status: 500,
            message,
            ..
        } => assert_eq!(message, "Internal error"),
        other => panic!("expected a 500, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_target_is_told_apart() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let mut config = VisionOneConfig::with_base_url(url, KEY.into());
    config.http = fast_policy();
    config.http.retry.max_attempts = 2;
    let error = VisionOneClient::new(&config)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    match &error {
        Error::Unreachable {
            attempts: 2,
            reason,
            ..
        } => {
            assert!(reason.to_lowercase().contains("connect"), "{reason}")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}
