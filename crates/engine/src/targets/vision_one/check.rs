//! Checks of a Vision One target: the health check and a page of the list; with `--write`, a
//! harmless suspicious object and exception added and removed at once, and a v3 response
//! block of the same harmless value started and restored (each task followed to its end).

use trendmicro::vision_one::{
    BatchReport, ExceptionObject, Expiry, ObjectValue, RiskLevel, ScanAction, SuspiciousObject,
    VisionOneClient,
};

use trendmicro::vision_one::response::{BlockItem, Started, TaskStatus, TaskWatch, WaitError};

use crate::targets::check::{CHECK_VALUE, DESCRIPTION, WriteCheck};
use crate::targets::vision_one::response;

/// Every write permission of a Vision One target.
pub async fn writes(client: &VisionOneClient) -> Vec<WriteCheck> {
    vec![
        WriteCheck::of("suspicious objects", suspicious(client).await),
        WriteCheck::of("exceptions", exceptions(client).await),
        WriteCheck::of(
            "response tasks (block / restore)",
            response_tasks(client).await,
        ),
    ]
}

/// How long the check waits for each of its two tasks.
const TASK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

async fn response_tasks(client: &VisionOneClient) -> Result<(), String> {
    let watch = TaskWatch::new(client, response::pace(TASK_WAIT));
    let block = BlockItem {
        value: value(),
        description: DESCRIPTION.to_owned(),
    };
    let started = client.response_block(&[block]).await;
    task(&watch, started)
        .await
        .map_err(|error| format!("blocking: {error}"))?;
    let restored = client.response_restore(&[value()]).await;
    task(&watch, restored).await.map_err(|error| {
        format!(
            "blocked {CHECK_VALUE} but could not restore it (remove it in the console): {error}"
        )
    })
}

/// Follows the one task a check request started, to success or its error.
async fn task(
    watch: &TaskWatch<'_>,
    started: Result<Vec<Started>, trendmicro::Error>,
) -> Result<(), String> {
    let id = match started.map_err(|error| error.to_string())?.pop() {
        Some(Started::Task(id)) => id,
        Some(Started::NotBlocked) => return Ok(()),
        Some(Started::Refused { status, message }) => {
            return Err(format!("HTTP {status}: {message}"));
        }
        None => return Err("no answer for the item".to_owned()),
    };
    match watch.wait(&id).await {
        Ok(task) if task.status == TaskStatus::Succeeded => Ok(()),
        Ok(task) => Err(format!("task {id} ended `{}`", task.status.as_str())),
        Err(WaitError::Open(status)) => Err(format!("task {id} still `{}`", status.as_str())),
        Err(WaitError::Read { message, .. }) => Err(message),
    }
}

fn failed(report: BatchReport) -> Option<String> {
    if let Some(error) = report.halted {
        return Some(error.to_string());
    }
    report
        .items
        .into_iter()
        .find(|item| !item.outcome.is_done())
        .map(|item| format!("{:?}", item.outcome))
}

fn value() -> ObjectValue {
    ObjectValue::Domain(CHECK_VALUE.to_owned())
}

async fn suspicious(client: &VisionOneClient) -> Result<(), String> {
    let object = SuspiciousObject {
        description: Some(DESCRIPTION.to_owned()),
        scan_action: Some(ScanAction::Log),
        risk_level: Some(RiskLevel::Low),
        expiry: Expiry::days(1),
        ..SuspiciousObject::new(value())
    };
    if let Some(error) = failed(client.add_suspicious(&[object]).await) {
        return Err(format!("adding: {error}"));
    }
    match failed(client.delete_suspicious(&[value()]).await) {
        None => Ok(()),
        Some(error) => Err(format!(
            "added {CHECK_VALUE} but could not remove it (it expires in a day, logged not blocked): {error}"
        )),
    }
}

async fn exceptions(client: &VisionOneClient) -> Result<(), String> {
    let exception = ExceptionObject {
        value: value(),
        description: Some(DESCRIPTION.to_owned()),
    };
    if let Some(error) = failed(client.add_exceptions(&[exception]).await) {
        return Err(format!("adding: {error}"));
    }
    match failed(client.delete_exceptions(&[value()]).await) {
        None => Ok(()),
        Some(error) => Err(format!(
            "added the exception {CHECK_VALUE} but could not remove it: {error}"
        )),
    }
}
