//! Checks of a Vision One target: the health check and a page of the list; with `--write`, a
//! harmless suspicious object and exception added and removed at once.

use trendmicro::vision_one::{
    BatchReport, ExceptionObject, Expiry, ObjectValue, RiskLevel, ScanAction, SuspiciousObject,
    VisionOneClient,
};

use crate::targets::check::{CHECK_VALUE, DESCRIPTION, WriteCheck};

/// Every write permission of a Vision One target.
pub async fn writes(client: &VisionOneClient) -> Vec<WriteCheck> {
    vec![
        WriteCheck::of("suspicious objects", suspicious(client).await),
        WriteCheck::of("exceptions", exceptions(client).await),
    ]
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
