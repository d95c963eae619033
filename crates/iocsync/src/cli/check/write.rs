//! `iocsync check --write`: proves each write permission by doing a harmless write and undoing
//! it at once. The value is `iocsync-permission-check.example` (the `.example` domain is
//! reserved by RFC 2606 and resolves nowhere), sent with iocsync's marker, scan action `log`,
//! risk `low` and a one-day expiry, so even a removal that fails leaves nothing that blocks.

use serde::Serialize;
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::vision_one::{
    BatchReport, ExceptionObject, Expiry, ObjectValue, RiskLevel, ScanAction, SuspiciousObject,
    VisionOneClient,
};
use trendmicro::xdr_v2::{ValueType, XdrV2Client};

use engine::config::{Product, Target};

/// The harmless value every write check adds and removes.
pub const CHECK_VALUE: &str = "iocsync-permission-check.example";
/// The Deep Security list the check creates and deletes.
const CHECK_LIST: &str = "iocsync-permission-check";
const DESCRIPTION: &str = "[iocsync] permission check (`iocsync check --write`): removed at once";

/// One permission and how its check went.
#[derive(Debug, Serialize)]
pub struct WriteCheck {
    pub permission: &'static str,
    /// Why the write (or its undo) failed; `None`: the permission is there.
    pub error: Option<String>,
}

fn outcome(permission: &'static str, result: Result<(), String>) -> WriteCheck {
    WriteCheck {
        permission,
        error: result.err(),
    }
}

/// Every write check of `target`'s product.
pub async fn check(target: &Target) -> Vec<WriteCheck> {
    match target.product {
        Product::VisionOne => match target.vision_one().map(|c| VisionOneClient::new(&c)) {
            Ok(Ok(client)) => vec![
                outcome("suspicious objects", suspicious(&client).await),
                outcome("exceptions", exceptions(&client).await),
            ],
            Ok(Err(error)) => vec![outcome("client", Err(error.to_string()))],
            Err(error) => vec![outcome("client", Err(error.to_string()))],
        },
        Product::DeepSecurity => {
            let client = target
                .deep_security()
                .map_err(|e| e.to_string())
                .and_then(|c| DeepSecurityClient::new(&c).map_err(|e| e.to_string()));
            let result = match client {
                Ok(client) => ip_list(&client).await,
                Err(error) => Err(error),
            };
            vec![outcome("IP lists", result)]
        }
        Product::XdrV2 => {
            let client = target
                .xdr_v2()
                .map_err(|e| e.to_string())
                .and_then(|c| XdrV2Client::new(&c).map_err(|e| e.to_string()));
            let result = match client {
                Ok(client) => response_task(&client).await,
                Err(error) => Err(error),
            };
            vec![outcome("response tasks (block / restore)", result)]
        }
        Product::Http => vec![outcome(
            "webhook",
            Err(
                "an http target has no harmless call to check; send a test alert instead"
                    .to_owned(),
            ),
        )],
    }
}

/// The first failure of a batch write of one value, or `None` when it went through.
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

async fn ip_list(client: &DeepSecurityClient) -> Result<(), String> {
    // A documentation address (RFC 5737) on a list no rule refers to.
    let items = ["192.0.2.1".to_owned()];
    let list = client
        .create_list(CHECK_LIST, DESCRIPTION, &items)
        .await
        .map_err(|error| format!("creating a list: {error}"))?;
    client.delete_list(list.id).await.map_err(|error| {
        format!(
            "created the list `{CHECK_LIST}` (ID {}) but could not delete it: {error}",
            list.id
        )
    })
}

async fn response_task(client: &XdrV2Client) -> Result<(), String> {
    let started = client
        .block(ValueType::Domain, CHECK_VALUE, DESCRIPTION, "iocsync")
        .await
        .map_err(|error| format!("blocking: {error}"))?;
    drop(started);
    client
        .restore_block(ValueType::Domain, CHECK_VALUE, DESCRIPTION, "iocsync")
        .await
        .map(drop)
        .map_err(|error| format!("blocked {CHECK_VALUE} but could not restore it: {error}"))
}
