//! The Vision One v3 response block-list client against the emulator, over real HTTP: blocks
//! and restores as tasks, per-item refusals, every task outcome, and one poller for many tasks.

use std::time::Duration;

use emulator::EmulatorConfig;
use serde_json::json;
use trendmicro::vision_one::response::{
    BlockItem, Pace, Started, TaskStatus, TaskWatch, WaitError,
};
use trendmicro::vision_one::{ObjectValue, VisionOneClient, VisionOneConfig};

use crate::common::{Emu, KEY, fast_policy};

const GET_TASK: &str = "GET /v3.0/response/tasks/{id}";

fn client(emu: &Emu) -> VisionOneClient {
    let mut config = VisionOneConfig::with_base_url(emu.base(), KEY.into());
    config.http = fast_policy();
    VisionOneClient::new(&config).unwrap()
}

async fn emulator_with_task_delay(seconds: u64) -> Emu {
    let mut config = EmulatorConfig::default();
    config.tasks.delay_seconds = seconds;
    Emu::with(config).await
}

fn pace(timeout: Duration) -> Pace {
    Pace {
        min: Duration::from_millis(50),
        max: Duration::from_millis(200),
        timeout,
        reads: 8,
    }
}

fn ip(value: &str) -> BlockItem {
    BlockItem {
        value: ObjectValue::Ip(value.into()),
        description: "[iocsync] test".into(),
    }
}

fn task_of(started: &Started) -> &str {
    match started {
        Started::Task(id) => id,
        other => panic!("no task: {other:?}"),
    }
}

/// The values on the emulator's Suspicious Object List.
async fn listed(emu: &Emu) -> String {
    emu.state().await["suspiciousObjects"].to_string()
}

#[tokio::test]
async fn blocks_follow_their_tasks_to_the_list_and_restores_take_them_off() {
    let emu = emulator_with_task_delay(1).await;
    let client = client(&emu);
    let started = client
        .response_block(&[ip("203.0.113.9"), ip("203.0.113.10")])
        .await
        .unwrap();
    assert_eq!(started.len(), 2);
    let watch = TaskWatch::new(&client, pace(Duration::from_secs(10)));
    let (a, b) = tokio::join!(
        watch.wait(task_of(&started[0])),
        watch.wait(task_of(&started[1]))
    );
    assert_eq!(a.unwrap().status, TaskStatus::Succeeded);
    assert_eq!(b.unwrap().status, TaskStatus::Succeeded);
    let on_list = listed(&emu).await;
    assert!(
        on_list.contains("203.0.113.9") && on_list.contains("203.0.113.10"),
        "{on_list}"
    );

    // Undo one; a value never blocked has nothing to undo.
    let undone = client
        .response_restore(&[
            ObjectValue::Ip("203.0.113.9".into()),
            ObjectValue::Domain("never-blocked.example".into()),
        ])
        .await
        .unwrap();
    assert_eq!(undone[1], Started::NotBlocked);
    let task = watch.wait(task_of(&undone[0])).await.unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded);
    let on_list = listed(&emu).await;
    assert!(
        !on_list.contains("203.0.113.9\"") && on_list.contains("203.0.113.10"),
        "{on_list}"
    );
}

#[tokio::test]
async fn a_block_whose_task_is_still_open_follows_that_task() {
    let emu = emulator_with_task_delay(30).await;
    let client = client(&emu);
    let first = client.response_block(&[ip("192.0.2.81")]).await.unwrap();
    let again = client.response_block(&[ip("192.0.2.81")]).await.unwrap();
    assert_eq!(again, first, "Task duplication. points at the open task");
}

#[tokio::test]
async fn every_task_outcome_is_reported_as_such() {
    let emu = emulator_with_task_delay(1).await;
    emu.faults(json!({"response_task_outcomes": {
        "192.0.2.1": "failed", "192.0.2.2": "rejected", "192.0.2.3": "canceled",
        "192.0.2.4": "pendingApproval"
    }}))
    .await;
    let client = client(&emu);
    let values = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
    ];
    let items: Vec<BlockItem> = values.iter().map(|v| ip(v)).collect();
    let started = client.response_block(&items).await.unwrap();
    let watch = TaskWatch::new(&client, pace(Duration::from_secs(4)));
    let waits = started.iter().map(|s| watch.wait(task_of(s)));
    let ends = futures::future::join_all(waits).await;
    let failed = ends[0].as_ref().unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("An internal error has occurred.")
    );
    assert_eq!(ends[1].as_ref().unwrap().status, TaskStatus::Rejected);
    assert_eq!(ends[2].as_ref().unwrap().status, TaskStatus::Canceled);
    assert_eq!(
        ends[3].as_ref().unwrap_err(),
        &WaitError::Open(TaskStatus::PendingApproval),
        "an approval that never comes ends the wait at the timeout"
    );
    assert_eq!(ends[4].as_ref().unwrap().status, TaskStatus::Succeeded);
    let on_list = listed(&emu).await;
    assert!(
        on_list.contains("192.0.2.5") && !on_list.contains("192.0.2.1\""),
        "{on_list}"
    );
}

#[tokio::test]
async fn one_poller_reads_each_open_task_once_per_round() {
    let emu = emulator_with_task_delay(2).await;
    let client = client(&emu);
    let items: Vec<BlockItem> = (0..40).map(|i| ip(&format!("198.51.100.{i}"))).collect();
    let started = client.response_block(&items).await.unwrap();
    let watch = TaskWatch::new(
        &client,
        Pace {
            min: Duration::from_millis(500),
            max: Duration::from_millis(500),
            timeout: Duration::from_secs(20),
            reads: 8,
        },
    );
    let waits = started.iter().map(|s| watch.wait(task_of(s)));
    let ends = futures::future::join_all(waits).await;
    assert!(
        ends.iter()
            .all(|end| end.as_ref().unwrap().status == TaskStatus::Succeeded)
    );
    // 40 tasks done within about 2 s of polls every 0.5 s: a handful of rounds of 40 reads,
    // not 40 waiters each polling on its own pace.
    let reads = emu.endpoint(GET_TASK).await["statuses"]["200"]
        .as_u64()
        .unwrap_or(0);
    assert!((40..=40 * 7).contains(&reads), "{reads} task reads");
    assert_eq!(
        reads % 40,
        0,
        "each round reads every open task once: {reads}"
    );
}
