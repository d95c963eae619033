//! The XDR v2 client against the emulator, over real HTTP.

use std::time::Duration;

use emulator::EmulatorConfig;
use indicator::Kind;
use serde_json::json;
use trendmicro::Error;
use trendmicro::xdr_v2::client::{TaskWatch, WaitError};
use trendmicro::xdr_v2::{ActionId, TaskStatus, ValueType, XdrV2Client, XdrV2Config};

use crate::common::{Emu, KEY, fast_policy};

fn client(emu: &Emu) -> XdrV2Client {
    let mut config = XdrV2Config::with_base_url(emu.base(), KEY.into());
    config.http = fast_policy();
    config.poll_min_delay_ms = 50;
    config.poll_max_delay_ms = 200;
    XdrV2Client::new(&config).unwrap()
}

/// Follows one task to its end, as a run follows all of its tasks.
async fn wait_final(
    client: &XdrV2Client,
    action: &ActionId,
    timeout: Duration,
) -> Result<TaskStatus, WaitError> {
    TaskWatch::new(client, client.pace(timeout))
        .wait(&action.0)
        .await
}

async fn emulator_with_task_delay(seconds: u64) -> Emu {
    let mut config = EmulatorConfig::default();
    config.tasks.delay_seconds = seconds;
    Emu::with(config).await
}

#[tokio::test]
async fn blocks_and_restores_through_tasks() {
    let emu = emulator_with_task_delay(1).await;
    let client = client(&emu);
    let value_type = ValueType::for_kind(Kind::Ipv4).unwrap();
    let action = client
        .block(value_type, "203.0.113.9", "Blocking malicious IP", "DNIF")
        .await
        .unwrap();
    assert!(!client.get_task(&action).await.unwrap().is_final());
    let status = wait_final(&client, &action, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(status, TaskStatus::Success);
    let blocked = emu.state().await["xdrBlocked"].to_string();
    assert!(blocked.contains("203.0.113.9"), "{blocked}");

    let undo = client
        .restore_block(value_type, "203.0.113.9", "lifted", "DNIF")
        .await
        .unwrap();
    assert_ne!(undo, action);
    assert_eq!(
        wait_final(&client, &undo, Duration::from_secs(10))
            .await
            .unwrap(),
        TaskStatus::Success
    );
    assert!(
        !emu.state().await["xdrBlocked"]
            .to_string()
            .contains("203.0.113.9")
    );
}

#[tokio::test]
async fn waiting_gives_up_with_the_last_status() {
    let emu = emulator_with_task_delay(3600).await;
    let client = client(&emu);
    let action = client
        .block(ValueType::Domain, "evil.example", "d", "iocsync")
        .await
        .unwrap();
    let error = wait_final(&client, &action, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        WaitError::Open(TaskStatus::Pending),
        "the last status seen"
    );
}

#[tokio::test]
async fn refusals_carry_the_message() {
    let emu = Emu::start().await;
    let client = client(&emu);
    let error = client
        .block(ValueType::FileSha1, "not-a-hash", "d", "iocsync")
        .await
        .unwrap_err();
    match &error {
        Error::Rejected {
            status: 400,
            message,
            ..
        } => {
            assert!(message.contains("targetValue"), "{message}")
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    let error = client
        .get_task(&trendmicro::xdr_v2::ActionId("999999".into()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn tasks_that_fail_time_out_or_are_skipped_end_with_that_status() {
    let emu = emulator_with_task_delay(1).await;
    emu.faults(json!({"xdr_task_outcomes": {
        "203.0.113.1": "failed",
        "203.0.113.2": "timeout",
        "203.0.113.3": "skipped"
    }}))
    .await;
    let client = client(&emu);
    for (value, expected) in [
        ("203.0.113.1", TaskStatus::Failed),
        ("203.0.113.2", TaskStatus::Timeout),
        ("203.0.113.3", TaskStatus::Skipped),
        ("203.0.113.4", TaskStatus::Success),
    ] {
        let action = client
            .block(ValueType::Ip, value, "d", "iocsync")
            .await
            .unwrap();
        let status = wait_final(&client, &action, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(status, expected, "{value}");
    }
    let blocked = emu.state().await["xdrBlocked"].clone();
    let values: Vec<&str> = blocked
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["targetValue"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        ["203.0.113.4"],
        "only the task that succeeded blocks"
    );
}
