//! The Apex Central client against the emulator, over real HTTP: the UDSO round trip, updates,
//! removals of absent objects, every refusal the server makes (stale token, tampered body,
//! read-only account, full list), the HTTP policy's retries, and secrets kept out of sight.

use std::sync::Arc;

use emulator::EmulatorConfig;
use emulator::config::Sha1ListedAs;
use indicator::Kind;
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use trendmicro::apex_central::{
    ApexCentralClient, ApexCentralConfig, Removal, ScanAction, Udso, UdsoType,
};
use trendmicro::{Error, ProxySetting};
use url::Url;

use crate::common::{APEX_APP, APEX_KEY, APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY, Emu, fast_policy};

const ADD: &str = "PUT /WebApp/api/SuspiciousObjects/UserDefinedSO/";
const LIST: &str = "GET /WebApp/api/SuspiciousObjects/UserDefinedSO";
const REMOVE: &str = "DELETE /WebApp/api/SuspiciousObjects/UserDefinedSO";
const SHA1: &str = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";

fn config_for(emu: &Emu, app: &str, key: &str) -> ApexCentralConfig {
    let mut config = ApexCentralConfig::new(emu.base(), app, key.into());
    config.http = fast_policy();
    config
}

fn client(emu: &Emu) -> ApexCentralClient {
    ApexCentralClient::new(&config_for(emu, APEX_APP, APEX_KEY)).unwrap()
}

fn udso(kind: UdsoType, content: &str, action: ScanAction, notes: &str) -> Udso {
    Udso {
        notes: notes.to_owned(),
        ..Udso::new(kind, content, action)
    }
}

async fn emulator_with(tune: impl FnOnce(&mut EmulatorConfig)) -> Emu {
    let mut config = EmulatorConfig::default();
    tune(&mut config);
    Emu::with(config).await
}

#[tokio::test]
async fn add_list_find_and_remove_round_trip() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let in_a_month =
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::days(30);
    let objects = [
        udso(
            UdsoType::Ip,
            "198.51.100.7",
            ScanAction::Block,
            "[iocsync:1a2b3c4d]",
        ),
        udso(
            UdsoType::Url,
            "https://evil.example/a b?x=1&y=é",
            ScanAction::Log,
            "",
        ),
        udso(UdsoType::Domain, "evil.example", ScanAction::Block, "d"),
        udso(UdsoType::Domain, "sub.evil.example", ScanAction::Log, ""),
        Udso {
            expires: Some(in_a_month),
            ..udso(UdsoType::File, SHA1, ScanAction::Quarantine, "")
        },
    ];
    // The URL with a space is refused by this client before anything is sent.
    assert!(matches!(
        client.add(&objects[1]).await,
        Err(Error::InvalidInput { .. })
    ));
    let url = udso(
        UdsoType::Url,
        "https://evil.example/a?x=1&y=%C3%A9",
        ScanAction::Log,
        "",
    );
    for object in objects
        .iter()
        .filter(|o| o.kind != UdsoType::Url)
        .chain([&url])
    {
        client.add(object).await.unwrap();
    }
    assert_eq!(emu.count(ADD, "200").await, 5);

    let all = client.list(None, None).await.unwrap();
    assert_eq!(all.len(), 5);
    let sha1 = all.iter().find(|o| o.kind == UdsoType::File).unwrap();
    assert_eq!(sha1.content, SHA1.to_uppercase());
    assert_eq!(sha1.expires, Some(in_a_month));
    assert_eq!(sha1.scan_action, ScanAction::Quarantine);
    let ip = all.iter().find(|o| o.kind == UdsoType::Ip).unwrap();
    assert_eq!(ip, &objects[0]);

    // The content filter is a partial match on the server; find() keeps the exact one.
    let domains = client
        .list(Some(UdsoType::Domain), Some("evil.example"))
        .await
        .unwrap();
    assert_eq!(domains.len(), 2);
    let found = client
        .find(UdsoType::Domain, "EVIL.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.content, "evil.example");
    assert_eq!(found.notes, "d");
    let found_url = client.find(UdsoType::Url, &url.content).await.unwrap();
    assert_eq!(found_url.unwrap().content, url.content);
    assert_eq!(
        client.find(UdsoType::Ip, "198.51.100.70").await.unwrap(),
        None
    );

    for object in all {
        let removal = client.remove(object.kind, &object.content).await.unwrap();
        assert_eq!(removal, Removal::Removed, "{object:?}");
    }
    assert_eq!(emu.state().await["udso"], json!([]));
}

#[tokio::test]
async fn re_adding_a_value_updates_it() {
    let emu = Emu::start().await;
    let client = client(&emu);
    client
        .add(&udso(UdsoType::File, SHA1, ScanAction::Log, "first"))
        .await
        .unwrap();
    let upper = SHA1.to_uppercase();
    client
        .add(&udso(UdsoType::File, &upper, ScanAction::Block, "second"))
        .await
        .unwrap();
    let listed = client.list(Some(UdsoType::File), None).await.unwrap();
    assert_eq!(
        listed,
        [udso(UdsoType::File, &upper, ScanAction::Block, "second")]
    );
}

#[tokio::test]
async fn sha1s_listed_as_file_read_back_as_file_objects() {
    let emu = emulator_with(|c| c.apex_central.sha1_listed_as = Sha1ListedAs::File).await;
    let client = client(&emu);
    client
        .add(&udso(UdsoType::File, SHA1, ScanAction::Log, ""))
        .await
        .unwrap();
    let found = client.find(UdsoType::File, SHA1).await.unwrap().unwrap();
    assert_eq!(found.kind, UdsoType::File);
}

#[tokio::test]
async fn removing_an_absent_object_reports_it_after_the_policys_retries() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let removal = client.remove(UdsoType::Ip, "192.0.2.1").await.unwrap();
    assert_eq!(removal, Removal::AlreadyAbsent);
    // "Data not found" comes as a 500, which the policy retries like any server error.
    assert_eq!(emu.count(REMOVE, "500").await, 4);
    let ok = emulator_with(|c| {
        c.apex_central.missing_on_delete = emulator::config::MissingOnDelete::Ok;
    })
    .await;
    let removal = self::client(&ok)
        .remove(UdsoType::Ip, "192.0.2.1")
        .await
        .unwrap();
    assert_eq!(removal, Removal::Removed);
}

#[tokio::test]
async fn a_stale_token_is_refused_and_each_request_is_signed_anew() {
    let emu = Emu::start().await;
    let client = client(&emu);
    client.list(None, None).await.unwrap();
    // The server's clock runs an hour ahead: every token this client makes is too old.
    emu.advance(3600).await;
    let error = client.list(None, None).await.unwrap_err();
    match &error {
        Error::Unauthorized { message, .. } => {
            assert!(
                message.contains("Token expired (ErrorCode 18)"),
                "{message}"
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(error.stops_target());
    assert!(matches!(
        client.check().await,
        Err(Error::Unauthorized { .. })
    ));
    emu.advance(-3600).await;
    client.list(None, None).await.unwrap();
}

#[tokio::test]
async fn a_retry_after_a_long_pause_carries_a_fresh_token() {
    // Tokens live 2 s; the server asks for a 4 s pause first. A token made before the pause
    // would be refused as expired after it.
    let emu = emulator_with(|c| c.apex_central.communication_timeout_seconds = 2).await;
    emu.faults(json!({"burst_429": 1, "retry_after_seconds": 4}))
        .await;
    let client = client(&emu);
    client
        .add(&udso(
            UdsoType::Domain,
            "evil.example",
            ScanAction::Block,
            "",
        ))
        .await
        .unwrap();
    assert_eq!(emu.count(ADD, "429").await, 1);
    assert_eq!(emu.count(ADD, "200").await, 1);
    assert_eq!(client.stats().rate_limit_pauses, 1);
}

/// A proxy that changes one byte of the first request body it forwards (the `7` of
/// `198.51.100.7` becomes an `8`), then relays both ways untouched.
async fn tampering_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut inbound, _) = listener.accept().await.unwrap();
        let request = read_request(&mut inbound).await;
        let text = String::from_utf8(request).unwrap();
        let tampered = text.replacen("198.51.100.7", "198.51.100.8", 1);
        assert_ne!(text, tampered, "the request carried no body to tamper with");
        let mut outbound = TcpStream::connect(upstream).await.unwrap();
        outbound.write_all(tampered.as_bytes()).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    });
    addr
}

/// One HTTP/1.1 request: the head, then `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed mid-request");
        data.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&data).to_string();
        let Some(head_end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..head_end]
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if data.len() >= head_end + 4 + length {
            return data;
        }
    }
}

#[tokio::test]
async fn a_body_changed_on_the_way_is_refused() {
    let emu = Emu::start().await;
    let proxy = tampering_proxy(emu.running.addr()).await;
    let mut config = config_for(&emu, APEX_APP, APEX_KEY);
    config.http.proxy = ProxySetting::Url(Url::parse(&format!("http://{proxy}")).unwrap());
    config.http.retry.max_attempts = 1;
    let client = ApexCentralClient::new(&config).unwrap();
    let error = client
        .add(&udso(UdsoType::Ip, "198.51.100.7", ScanAction::Block, ""))
        .await
        .unwrap_err();
    match error {
        Error::Unauthorized { message, .. } => {
            assert!(message.contains("checksum (ErrorCode 20)"), "{message}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(emu.count(ADD, "401").await, 1);
    assert_eq!(emu.state().await["udso"], json!([]));
}

#[tokio::test]
async fn server_errors_and_429s_are_retried_per_the_policy() {
    let emu = Emu::start().await;
    let client = client(&emu);
    emu.faults(json!({"burst_500": 2})).await;
    client
        .add(&udso(UdsoType::Ip, "198.51.100.7", ScanAction::Log, ""))
        .await
        .unwrap();
    assert_eq!(emu.count(ADD, "500").await, 2);
    assert_eq!(emu.count(ADD, "200").await, 1);
    assert_eq!(client.stats().retries, 2);

    emu.faults(json!({"burst_429": 2, "retry_after_seconds": 1}))
        .await;
    assert_eq!(client.list(None, None).await.unwrap().len(), 1);
    assert_eq!(emu.count(LIST, "429").await, 2);
    assert_eq!(client.stats().rate_limit_pauses, 2);

    // A server that keeps failing: the policy's four attempts, then the error.
    emu.faults(json!({"error_rate": 1.0})).await;
    let error = client.list(None, None).await.unwrap_err();
    match error {
        Error::Server {
            status,
            attempts,
            message,
            ..
        } => {
            assert_eq!((status, attempts), (500, 4));
            assert!(message.contains("ErrorCode 99"), "{message}");
        }
        other => panic!("expected Server, got {other:?}"),
    }
}

#[tokio::test]
async fn check_tells_every_failure_apart() {
    let emu = Emu::start().await;
    client(&emu).check().await.unwrap();
    let read_only =
        ApexCentralClient::new(&config_for(&emu, APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY)).unwrap();
    assert!(matches!(
        read_only.check().await,
        Err(Error::Forbidden { .. })
    ));
    let unknown = ApexCentralClient::new(&config_for(&emu, "NOT-REGISTERED", APEX_KEY)).unwrap();
    match unknown.check().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert!(message.contains("ErrorCode 17"), "{message}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let wrong_key = ApexCentralClient::new(&config_for(&emu, APEX_APP, "wrong-key")).unwrap();
    match wrong_key.check().await {
        Err(Error::Unauthorized { message, .. }) => {
            assert!(message.contains("ErrorCode 19"), "{message}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    // Nothing listens on the port of a stopped emulator.
    let gone = Emu::start().await;
    let config = config_for(&gone, APEX_APP, APEX_KEY);
    gone.running.shutdown().await.unwrap();
    let mut config = config;
    config.http.retry.max_attempts = 1;
    assert!(matches!(
        ApexCentralClient::new(&config).unwrap().check().await,
        Err(Error::Unreachable { .. })
    ));
    // A server whose paths are elsewhere (404), and one that answers 200 without Apex
    // Central's envelope.
    let mut elsewhere = config_for(&emu, APEX_APP, APEX_KEY);
    elsewhere.base_url = Url::parse(&format!("{}v3.0/", emu.base())).unwrap();
    assert!(matches!(
        ApexCentralClient::new(&elsewhere).unwrap().check().await,
        Err(Error::NotFound { .. })
    ));
    let mut not_apex = config_for(&emu, APEX_APP, APEX_KEY);
    not_apex.base_url = Url::parse(&format!("http://{}", fixed_answer("{}").await)).unwrap();
    assert!(matches!(
        ApexCentralClient::new(&not_apex).unwrap().check().await,
        Err(Error::UnexpectedResponse { .. })
    ));
    // A 429 that does not lift within the policy's budget.
    emu.faults(json!({"burst_429": 1})).await;
    let mut impatient = config_for(&emu, APEX_APP, APEX_KEY);
    impatient.http.retry.rate_limit_retries = 0;
    assert!(matches!(
        ApexCentralClient::new(&impatient).unwrap().check().await,
        Err(Error::RateLimited { .. })
    ));
}

/// A server answering every connection with HTTP 200 and `body`.
async fn fixed_answer(body: &'static str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = read_request(&mut stream).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test]
async fn a_read_only_account_reads_but_its_writes_are_forbidden() {
    let emu = Emu::start().await;
    client(&emu)
        .add(&udso(UdsoType::Domain, "evil.example", ScanAction::Log, ""))
        .await
        .unwrap();
    let read_only =
        ApexCentralClient::new(&config_for(&emu, APEX_READ_ONLY_APP, APEX_READ_ONLY_KEY)).unwrap();
    assert_eq!(read_only.list(None, None).await.unwrap().len(), 1);
    let error = read_only
        .add(&udso(
            UdsoType::Domain,
            "other.example",
            ScanAction::Log,
            "",
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert!(error.stops_target());
    let error = read_only
        .remove(UdsoType::Domain, "evil.example")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
}

#[tokio::test]
async fn a_full_list_stops_the_target() {
    let emu = emulator_with(|c| c.apex_central.max_objects = 1).await;
    let client = client(&emu);
    client
        .add(&udso(UdsoType::Ip, "198.51.100.7", ScanAction::Log, ""))
        .await
        .unwrap();
    let error = client
        .add(&udso(UdsoType::Ip, "198.51.100.8", ScanAction::Log, ""))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::CapReached { .. }), "{error:?}");
    assert!(error.stops_target());
}

#[tokio::test]
async fn a_value_the_server_refuses_is_rejected_with_its_code() {
    let emu = Emu::start().await;
    emu.faults(json!({"reject_values": ["refused.example"]}))
        .await;
    let error = client(&emu)
        .add(&udso(
            UdsoType::Domain,
            "refused.example",
            ScanAction::Log,
            "",
        ))
        .await
        .unwrap_err();
    match error {
        Error::Rejected { status, number, .. } => assert_eq!((status, number), (400, Some(7))),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn what_the_client_refuses_sends_nothing() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let ip_quarantine = udso(UdsoType::Ip, "198.51.100.7", ScanAction::Quarantine, "");
    assert!(matches!(
        client.add(&ip_quarantine).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        client.remove(UdsoType::Ip, " ").await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(client.stats().total_calls(), 0);
    assert!(UdsoType::for_kind(Kind::Sha256).is_err());
}

#[tokio::test]
async fn values_go_one_per_request_concurrently() {
    let emu = Emu::start().await;
    let client = Arc::new(client(&emu));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=40 {
        let client = Arc::clone(&client);
        tasks.spawn(async move {
            let value = format!("198.51.100.{n}");
            client
                .add(&udso(UdsoType::Ip, &value, ScanAction::Block, ""))
                .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(emu.count(ADD, "200").await, 40);
    assert_eq!(
        client.list(Some(UdsoType::Ip), None).await.unwrap().len(),
        40
    );
}

#[tokio::test]
async fn secrets_stay_out_of_errors_and_debug_output() {
    let emu = Emu::start().await;
    let config = config_for(&emu, APEX_APP, APEX_KEY);
    let client = ApexCentralClient::new(&config).unwrap();
    for shown in [format!("{config:?}"), format!("{client:?}")] {
        assert!(!shown.contains(APEX_KEY), "{shown}");
    }
    let mut errors = Vec::new();
    emu.advance(3600).await;
    errors.push(client.list(None, None).await.unwrap_err());
    emu.advance(-3600).await;
    let wrong =
        ApexCentralClient::new(&config_for(&emu, APEX_APP, "wrong-but-secret-key")).unwrap();
    errors.push(wrong.check().await.unwrap_err());
    let mut unreachable = config_for(&emu, APEX_APP, APEX_KEY);
    unreachable.base_url = Url::parse("http://127.0.0.1:9/").unwrap();
    unreachable.http.retry.max_attempts = 1;
    errors.push(
        ApexCentralClient::new(&unreachable)
            .unwrap()
            .list(None, None)
            .await
            .unwrap_err(),
    );
    for error in errors {
        let shown = format!("{error} {error:?}");
        for secret in [APEX_KEY, "wrong-but-secret-key", "Bearer ey"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    let empty_key = ApexCentralClient::new(&config_for(&emu, APEX_APP, ""));
    assert!(matches!(empty_key, Err(Error::Config { .. })));
}
