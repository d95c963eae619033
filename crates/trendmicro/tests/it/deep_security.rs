//! The Deep Security client against the emulator, over real HTTP.

use serde_json::json;
use trendmicro::Error;
use trendmicro::deep_security::{AuthHeader, DeepSecurityClient, DeepSecurityConfig};

use crate::common::{Emu, KEY, READ_ONLY_KEY, fast_policy};

const SEARCH: &str = "POST /api/iplists/search";

fn config(emu: &Emu, key: &str, header: AuthHeader) -> DeepSecurityConfig {
    // The emulator's base without `/api`: the client adds it.
    let mut config = DeepSecurityConfig::new(emu.running.base_url(), key.into());
    config.auth_header = Some(header);
    config.http = fast_policy();
    config
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[tokio::test]
async fn manages_an_ip_list_in_place_with_either_header() {
    let emu = Emu::start().await;
    for (header, name) in [
        (AuthHeader::ApiSecretKey, "threatq_collection_0"),
        (AuthHeader::Authorization, "threatq_collection_1"),
    ] {
        let client = DeepSecurityClient::new(&config(&emu, KEY, header)).unwrap();
        assert_eq!(client.base_url().path(), "/api");
        client.check().await.unwrap();
        assert_eq!(client.find_list_by_name(name).await.unwrap(), None);

        let items = strings(&["1.2.3.4", "5.15.134.0/24", "2606:4700:4700::1111"]);
        let created = client
            .create_list(name, "from iocsync", &items)
            .await
            .unwrap();
        assert_eq!(created.items, items);
        assert_eq!(
            client.find_list_by_name(name).await.unwrap(),
            Some(created.clone())
        );
        assert_eq!(client.describe(created.id).await.unwrap(), created);

        let replaced = strings(&["203.0.113.0/24"]);
        let modified = client
            .modify_items(created.id, &replaced, None)
            .await
            .unwrap();
        assert_eq!(modified.id, created.id, "modified in place");
        assert_eq!(modified.items, replaced);
        assert_eq!(modified.description.as_deref(), Some("from iocsync"));
        let described = client
            .modify_items(created.id, &[], Some("emptied"))
            .await
            .unwrap();
        assert!(described.items.is_empty());
        assert_eq!(described.description.as_deref(), Some("emptied"));
    }
}

#[tokio::test]
async fn exact_names_ignore_wildcards() {
    let emu = Emu::start().await;
    let client = DeepSecurityClient::new(&config(&emu, KEY, AuthHeader::ApiSecretKey)).unwrap();
    client.create_list("axb", "", &[]).await.unwrap();
    assert_eq!(client.find_list_by_name("a_b").await.unwrap(), None);
    let wanted = client.create_list("a_b", "", &[]).await.unwrap();
    assert_eq!(client.find_list_by_name("a_b").await.unwrap(), Some(wanted));
}

#[tokio::test]
async fn lists_all_by_id_pages_and_deletes() {
    let emu = Emu::start().await;
    let mut config = config(&emu, KEY, AuthHeader::ApiSecretKey);
    config.page_size = 2;
    let client = DeepSecurityClient::new(&config).unwrap();
    let before = client.count_lists().await.unwrap();
    let searches_before = emu.requests(SEARCH).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(
            client
                .create_list(&format!("part_{n}"), "", &[])
                .await
                .unwrap(),
        );
    }
    let all = client.list_all().await.unwrap();
    assert_eq!(all.len(), before + 5);
    assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id));
    let pages = (before + 5).div_ceil(2) as u64 + 1;
    assert_eq!(
        emu.requests(SEARCH).await - searches_before,
        pages,
        "until an empty page"
    );

    client.delete_list(created[0].id).await.unwrap();
    assert_eq!(client.count_lists().await.unwrap(), before + 4);
    let error = client.describe(created[0].id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert!(
        error.to_string().contains("The IP list does not exist."),
        "{error}"
    );
}

#[tokio::test]
async fn validation_errors_carry_the_managers_message() {
    let emu = Emu::start().await;
    let client = DeepSecurityClient::new(&config(&emu, KEY, AuthHeader::ApiSecretKey)).unwrap();
    client.create_list("dup", "", &[]).await.unwrap();
    let error = client.create_list("dup", "", &[]).await.unwrap_err();
    match &error {
        Error::Rejected {
            status: 400,
            message,
            ..
        } => assert!(!message.is_empty()),
        other => panic!("expected a 400, got {other:?}"),
    }
    let error = client
        .create_list("bad", "", &strings(&["not-an-ip"]))
        .await
        .unwrap_err();
    match &error {
        Error::Rejected {
            status: 400,
            message,
            ..
        } => {
            assert!(message.contains("not-an-ip"), "{message}")
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    let oversized: Vec<String> = (0..3000)
        .map(|n| format!("10.{}.{}.0/24", n / 256, n % 256))
        .collect();
    let error = client.create_list("big", "", &oversized).await.unwrap_err();
    assert!(
        matches!(error, Error::ListTooLarge { max: 32_000, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn rate_limits_back_off_from_eight_milliseconds() {
    let emu = Emu::start().await;
    let client = DeepSecurityClient::new(&config(&emu, KEY, AuthHeader::ApiSecretKey)).unwrap();
    emu.faults(json!({"burst_429": 3})).await;
    client.check().await.unwrap();
    assert_eq!(emu.count(SEARCH, "429").await, 3);
    assert_eq!(emu.count(SEARCH, "200").await, 1);
    let stats = client.stats();
    assert_eq!(stats.rate_limit_pauses, 3);
    // 8 + 16 + 32 ms, each at most doubled by jitter.
    assert!(
        stats.paused_ms >= 8 + 16 + 32 && stats.paused_ms <= 2 * (8 + 16 + 32),
        "{stats:?}"
    );
}

#[tokio::test]
async fn bad_key_and_missing_permission_are_distinct() {
    let emu = Emu::start().await;
    let wrong = "2:not-the-key-77";
    let bad = DeepSecurityClient::new(&config(&emu, wrong, AuthHeader::ApiSecretKey)).unwrap();
    let error = bad.check().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(wrong));

    let read_only =
        DeepSecurityClient::new(&config(&emu, READ_ONLY_KEY, AuthHeader::Authorization)).unwrap();
    read_only.check().await.unwrap();
    let error = read_only.create_list("x", "", &[]).await.unwrap_err();
    match &error {
        Error::Forbidden { message, .. } => {
            assert!(message.contains("Not authorized"), "{message}")
        }
        other => panic!("expected 403, got {other:?}"),
    }
}
