//! The pure parts of the XDR v2 API: request bodies and reading answers.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ActionId, TaskStatus, ValueType};

/// The one-object body of `block` and `restoreBlock`.
pub fn block_body(
    value_type: ValueType,
    value: &str,
    description: &str,
    product_id: &str,
) -> Value {
    json!({
        "valueType": value_type.as_str(),
        "targetValue": value,
        "productId": product_id,
        "description": description,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    action_id: Value,
}

/// The `actionId` of a block or restore-block answer (a number or a string).
pub fn parse_action_id(body: &[u8]) -> Result<ActionId, String> {
    let started: Started =
        serde_json::from_slice(body).map_err(|error| format!("no actionId: {error}"))?;
    match started.action_id {
        Value::Number(number) => Ok(ActionId(number.to_string())),
        Value::String(text) if !text.is_empty() => Ok(ActionId(text)),
        other => Err(format!("actionId is `{other}`, not a number or string")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskData {
    task_status: String,
}

#[derive(Deserialize)]
struct Task {
    data: TaskData,
}

/// The `data.taskStatus` of a `getTask` answer.
pub fn parse_task(body: &[u8]) -> Result<TaskStatus, String> {
    let task: Task =
        serde_json::from_slice(body).map_err(|error| format!("no data.taskStatus: {error}"))?;
    Ok(TaskStatus::parse(&task.data.task_status))
}

#[derive(Deserialize)]
struct Inner {
    message: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<Inner>,
    message: Option<String>,
}

/// The error text of an answer: `error.message` (as in v3), else a top-level `message`.
pub fn error_message(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    parsed
        .error
        .and_then(|inner| inner.message.or(inner.code))
        .or(parsed.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_body_matches_the_seed() {
        assert_eq!(
            block_body(ValueType::Ip, "1.2.3.4", "Blocking malicious IP", "DNIF"),
            json!({"valueType":"ip","targetValue":"1.2.3.4","productId":"DNIF","description":"Blocking malicious IP"})
        );
    }

    #[test]
    fn action_ids_read_as_numbers_or_strings() {
        assert_eq!(
            parse_action_id(br#"{"actionId":88139521,"taskStatus":"pending"}"#).unwrap(),
            ActionId("88139521".into())
        );
        assert_eq!(parse_action_id(br#"{"actionId":"a-1"}"#).unwrap().0, "a-1");
        assert!(parse_action_id(br#"{"actionId":null}"#).is_err());
        assert!(parse_action_id(b"[]").is_err());
    }

    #[test]
    fn tasks_and_errors_are_read() {
        assert_eq!(
            parse_task(br#"{"data":{"taskStatus":"ongoing","actionId":1}}"#).unwrap(),
            TaskStatus::Ongoing
        );
        assert!(parse_task(br#"{"taskStatus":"ongoing"}"#).is_err());
        // The real answer (Trend's mock-up, mappings/xdr/v2/common/get_task.json): epoch
        // seconds, an empty error object, no action ID.
        assert_eq!(
            parse_task(
                br#"{"data":{"createdTime":1589525651,"executedTime":1589525725,"finishedTime":1589525725,"taskStatus":"timeout","error":{}}}"#
            )
            .unwrap(),
            TaskStatus::Timeout
        );
        assert_eq!(
            error_message(br#"{"error":{"code":"BadRequest","message":"Invalid value"}}"#)
                .as_deref(),
            Some("Invalid value")
        );
        assert_eq!(error_message(br#"{"message":"m"}"#).as_deref(), Some("m"));
        assert_eq!(error_message(b"<html>"), None);
    }
}
