//! One-off blocks (`iocsync block|unblock --target T VALUE...`): values typed by a person go
//! through the same parsing, guard and mapping as a workflow's, and are recorded in their own
//! ledger (`<target>/manual`), so no workflow ever removes them and `unblock` removes only what
//! `block` pushed.

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig, ListKind};
use serde::Serialize;
use store::{GuardDrop, LedgerEntry, LibraryBackend, RunStatus};
use trendmicro::vision_one::{ObjectValue, RiskLevel, ScanAction, VisionOneClient};

use crate::config::{Config, Product};
use crate::error::EngineError;
use crate::mapping::{ExpiryIntent, MARKER, V1Attributes};
use crate::report::Failure;

/// Days a one-off block lasts.
const BLOCK_DAYS: u16 = 30;

/// Block or remove a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Block,
    Unblock,
}

/// An input that was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub input: String,
    pub reason: String,
}

/// What a one-off block did.
#[derive(Debug, Clone, Serialize)]
pub struct OneOffReport {
    pub target: String,
    /// Values now blocked (or unblocked), as the target holds them.
    pub applied: Vec<String>,
    pub refused: Vec<Refused>,
    pub failed: Vec<Failure>,
    pub halted: Option<String>,
}

impl OneOffReport {
    pub fn status(&self) -> RunStatus {
        if self.halted.is_some() {
            RunStatus::Failed
        } else if self.refused.is_empty() && self.failed.is_empty() {
            RunStatus::Succeeded
        } else {
            RunStatus::Partial
        }
    }
}

/// The ledger one-off blocks on `target` are recorded under.
pub fn manual_ledger(target: &str) -> String {
    format!("{target}/manual")
}

/// A value ready to send: its kind, its value on the target and the API value.
type Ready = (indicator::Kind, String, ObjectValue);

/// Blocks or unblocks `inputs` on a Vision One target, now.
pub async fn block(
    config: &Config,
    library: &mut dyn LibraryBackend,
    target: &str,
    inputs: &[String],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let target = config.target(target)?;
    if target.product != Product::VisionOne {
        return Err(EngineError::WrongProduct {
            target: target.name.clone(),
            product: target.product,
            what: "`block` (Vision One's suspicious-object list; use an ip-list workflow for Deep Security)"
                .to_owned(),
        });
    }
    let ledger = manual_ledger(&target.name);
    let mut report = OneOffReport {
        target: target.name.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
        failed: Vec::new(),
        halted: None,
    };
    let guard = Guard::new(&GuardConfig {
        list: ListKind::Blocklist,
        ..config.guard.clone()
    })?;
    let (ready, drops) = prepare(inputs, &guard, &target.name, now, &mut report);
    library.record_drops(&drops)?;
    let client = VisionOneClient::new(&target.vision_one()?)?;
    let run = library.start_run(&format!("{mode:?}:{}", target.name).to_lowercase(), now)?;
    match mode {
        Mode::Block => send_blocks(&client, library, &ledger, ready, now, &mut report).await?,
        Mode::Unblock => send_unblocks(&client, library, &ledger, ready, &mut report).await?,
    }
    let counts = serde_json::json!({
        "applied": report.applied.len(),
        "refused": report.refused.len(),
        "failed": report.failed.len(),
    });
    let errors: Vec<String> = report
        .refused
        .iter()
        .map(|r| format!("{}: {}", r.input, r.reason))
        .chain(report.halted.iter().cloned())
        .collect();
    library.finish_run(run, report.status(), &counts, &errors, Utc::now().max(now))?;
    Ok(report)
}

/// Parses, guards and maps every input; refusals go to the report.
fn prepare(
    inputs: &[String],
    guard: &Guard,
    target: &str,
    now: DateTime<Utc>,
    report: &mut OneOffReport,
) -> (Vec<Ready>, Vec<GuardDrop>) {
    let mut ready = Vec::new();
    let mut drops = Vec::new();
    for input in inputs {
        let parsed = match indicator::parse(input) {
            Ok(parsed) => parsed,
            Err(error) => {
                report.refused.push(Refused {
                    input: input.clone(),
                    reason: error.to_string(),
                });
                continue;
            }
        };
        for found in parsed {
            if let guard::Verdict::Stop { rule, reason } = guard.check(&found) {
                report.refused.push(Refused {
                    input: input.clone(),
                    reason: format!("guard {rule}: {reason}"),
                });
                drops.push(GuardDrop {
                    kind: found.kind,
                    value: found.value,
                    target: Some(target.to_owned()),
                    rule,
                    reason,
                    at: now,
                });
                continue;
            }
            let value = if found.kind == indicator::Kind::Url && !found.value.contains("://") {
                format!("http://{}", found.value)
            } else {
                found.value.clone()
            };
            match ObjectValue::for_indicator(found.kind, value.clone()) {
                Ok(object) => ready.push((found.kind, value, object)),
                Err(error) => report.refused.push(Refused {
                    input: input.clone(),
                    reason: error.to_string(),
                }),
            }
        }
    }
    (ready, drops)
}

async fn send_blocks(
    client: &VisionOneClient,
    library: &mut dyn LibraryBackend,
    ledger: &str,
    ready: Vec<Ready>,
    now: DateTime<Utc>,
    report: &mut OneOffReport,
) -> Result<(), EngineError> {
    let mut entries = Vec::new();
    let mut objects = Vec::new();
    let mut sent = Vec::new();
    for (kind, value, object) in ready {
        let attributes = V1Attributes {
            scan_action: Some(ScanAction::Block),
            risk_level: Some(RiskLevel::High),
            expiry: Some(ExpiryIntent::Days(BLOCK_DAYS)),
            ..V1Attributes::new(object.key(), format!("{MARKER} blocked by hand"))
        };
        objects.push(attributes.suspicious(object, now));
        sent.push((kind, value, attributes.pushed_at(now)));
    }
    let result = client.add_suspicious(&objects).await;
    for ((kind, value, attributes), item) in sent.into_iter().zip(&result.items) {
        if item.outcome.is_done() {
            report.applied.push(value.clone());
            entries.push(LedgerEntry {
                target: ledger.to_owned(),
                kind,
                value,
                attributes: serde_json::to_value(attributes).unwrap_or_default(),
                remote_id: None,
                pushed_at: now,
            });
        } else {
            report.failed.push(failure(kind, value, &item.outcome));
        }
    }
    library.ledger_upsert(&entries)?;
    report.halted = result.halted.map(|error| error.to_string());
    Ok(())
}

async fn send_unblocks(
    client: &VisionOneClient,
    library: &mut dyn LibraryBackend,
    ledger: &str,
    ready: Vec<Ready>,
    report: &mut OneOffReport,
) -> Result<(), EngineError> {
    let pushed = library.ledger(ledger)?;
    let mut values = Vec::new();
    let mut keys = Vec::new();
    for (kind, value, object) in ready {
        if pushed.iter().any(|e| e.kind == kind && e.value == value) {
            values.push(object);
            keys.push((kind, value));
        } else {
            report.refused.push(Refused {
                input: value,
                reason: "not blocked with `iocsync block` on this target: left alone".to_owned(),
            });
        }
    }
    let result = client.delete_suspicious(&values).await;
    let mut done = Vec::new();
    for ((kind, value), item) in keys.into_iter().zip(&result.items) {
        if item.outcome.is_done() {
            report.applied.push(value.clone());
            done.push((kind, value));
        } else {
            report.failed.push(failure(kind, value, &item.outcome));
        }
    }
    library.ledger_remove(ledger, &done)?;
    report.halted = result.halted.map(|error| error.to_string());
    Ok(())
}

fn failure(
    kind: indicator::Kind,
    value: String,
    outcome: &trendmicro::vision_one::ItemOutcome,
) -> Failure {
    let message = match outcome {
        trendmicro::vision_one::ItemOutcome::Rejected { message, .. }
        | trendmicro::vision_one::ItemOutcome::Failed { message, .. } => message.clone(),
        _ => "not sent: the request was halted".to_owned(),
    };
    Failure {
        kind,
        value,
        message,
    }
}
