//! One-off actions on single values: `iocsync block|unblock --target T VALUE...` and webhook
//! triggers ([`crate::trigger`]). Values go through the same parsing, refanging and guard as a
//! workflow's, then one [`Sender`] acts on each: Vision One's suspicious-object list, an XDR v2
//! block / restore-block, or an HTTP template call. What was pushed is recorded in a ledger of
//! its own (`<target>/manual` for `block`, `<target>/hook:<name>` for a trigger), so no
//! workflow ever removes it and `unblock` removes only what `block` pushed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use guard::{Guard, GuardConfig, ListKind};
use indicator::Kind;
use serde::{Deserialize, Serialize};
use store::{GuardDrop, LedgerEntry, LibraryBackend, RunStatus};
use trendmicro::http_template::{Fields, HttpTemplateClient};
use trendmicro::vision_one::{
    Expiry, ItemOutcome, ObjectValue, RiskLevel, ScanAction, SuspiciousObject, VisionOneClient,
};
use trendmicro::xdr_v2::{ValueType, XdrV2Client};

use crate::config::{Config, Product, Target};
use crate::error::EngineError;
use crate::mapping::MARKER;
use crate::report::Failure;

/// Days a one-off block lasts on Vision One when nothing lifts it sooner.
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

/// What the ledger keeps about a one-off push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneOffAttributes {
    pub description: String,
    /// When iocsync lifts the block (triggers with a `ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lift_at: Option<DateTime<Utc>>,
    /// The XDR task that applied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
}

/// A value ready to send: its kind and its value as the target takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: Kind,
    pub value: String,
}

/// What to send with each value.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub description: &'a str,
    /// Days until Vision One expires the object by itself.
    pub expiry_days: u16,
    /// Fields an HTTP template may use besides `$value` and `$kind` (an alert's fields).
    pub extra: &'a BTreeMap<String, serde_json::Value>,
}

/// What happened to one item: the target's id for it (an XDR action ID), or its message.
pub type Sent = Result<Option<String>, String>;

/// A built client for one target that acts on single values.
#[derive(Debug)]
pub enum Sender {
    VisionOne(VisionOneClient),
    XdrV2 {
        client: XdrV2Client,
        product_id: String,
    },
    Http(HttpTemplateClient),
}

impl Sender {
    /// Whether what it sends can be undone: always on Vision One and XDR v2, on an HTTP
    /// target only with a removal template (`remove_payload`).
    pub fn can_undo(&self) -> bool {
        match self {
            Sender::Http(client) => client.can_remove(),
            Sender::VisionOne(_) | Sender::XdrV2 { .. } => true,
        }
    }

    /// Builds the client for `target` (resolving its key). `product_id` is sent with XDR blocks.
    pub fn new(target: &Target, product_id: &str) -> Result<Sender, EngineError> {
        Ok(match target.product {
            Product::VisionOne => Sender::VisionOne(VisionOneClient::new(&target.vision_one()?)?),
            Product::XdrV2 => Sender::XdrV2 {
                client: XdrV2Client::new(&target.xdr_v2()?)?,
                product_id: product_id.to_owned(),
            },
            Product::Http => Sender::Http(HttpTemplateClient::new(&target.http_template()?)?),
            Product::DeepSecurity => {
                return Err(EngineError::WrongProduct {
                    target: target.name.clone(),
                    product: target.product,
                    what: "a one-off block (Deep Security takes whole IP lists: use an ip-list workflow)"
                        .to_owned(),
                });
            }
        })
    }

    /// The value this target takes for `found`, or why it takes none.
    pub fn accept(&self, found: &indicator::Indicator) -> Result<String, String> {
        match self {
            Sender::VisionOne(_) => {
                // Vision One needs a scheme on URLs.
                let value = if found.kind == Kind::Url && !found.value.contains("://") {
                    format!("http://{}", found.value)
                } else {
                    found.value.clone()
                };
                ObjectValue::for_indicator(found.kind, value.clone())
                    .map(|_| value)
                    .map_err(|error| error.to_string())
            }
            Sender::XdrV2 { .. } => ValueType::for_kind(found.kind)
                .map(|_| found.value.clone())
                .map_err(|error| error.to_string()),
            Sender::Http(_) => Ok(found.value.clone()),
        }
    }

    /// Acts on every item; one result per item, in order, and the error that halted the rest.
    pub async fn send(
        &self,
        mode: Mode,
        items: &[Item],
        request: Request<'_>,
    ) -> (Vec<Sent>, Option<String>) {
        match self {
            Sender::VisionOne(client) => vision_one(client, mode, items, request).await,
            Sender::XdrV2 { client, product_id } => {
                let mut results = Vec::with_capacity(items.len());
                for item in items {
                    results.push(xdr(client, product_id, mode, item, request.description).await);
                }
                (results, None)
            }
            Sender::Http(client) => {
                let mut results = Vec::with_capacity(items.len());
                for item in items {
                    results.push(http(client, mode, item, request).await);
                }
                (results, None)
            }
        }
    }
}

async fn vision_one(
    client: &VisionOneClient,
    mode: Mode,
    items: &[Item],
    request: Request<'_>,
) -> (Vec<Sent>, Option<String>) {
    // `accept` checked every value; one the API still cannot name fails alone, in place.
    let mut results: Vec<Option<Sent>> = Vec::with_capacity(items.len());
    let mut values = Vec::new();
    for item in items {
        match ObjectValue::for_indicator(item.kind, item.value.clone()) {
            Ok(value) => {
                values.push(value);
                results.push(None);
            }
            Err(error) => results.push(Some(Err(error.to_string()))),
        }
    }
    let report = match mode {
        Mode::Block => {
            let objects: Vec<SuspiciousObject> = values
                .into_iter()
                .map(|value| SuspiciousObject {
                    description: Some(request.description.to_owned()),
                    scan_action: Some(ScanAction::Block),
                    risk_level: Some(RiskLevel::High),
                    expiry: Expiry::days(request.expiry_days),
                    ..SuspiciousObject::new(value)
                })
                .collect();
            client.add_suspicious(&objects).await
        }
        Mode::Unblock => client.delete_suspicious(&values).await,
    };
    let mut outcomes = report.items.iter().map(|item| match &item.outcome {
        outcome if outcome.is_done() => Ok(None),
        ItemOutcome::Rejected { message, .. } | ItemOutcome::Failed { message, .. } => {
            Err(message.clone())
        }
        _ => Err("not sent: the request was halted".to_owned()),
    });
    let results = results
        .into_iter()
        .map(|known| {
            known.unwrap_or_else(|| {
                outcomes
                    .next()
                    .unwrap_or_else(|| Err("no answer for this value".to_owned()))
            })
        })
        .collect();
    (results, report.halted.map(|error| error.to_string()))
}

async fn xdr(
    client: &XdrV2Client,
    product_id: &str,
    mode: Mode,
    item: &Item,
    description: &str,
) -> Sent {
    let value_type = ValueType::for_kind(item.kind).map_err(|error| error.to_string())?;
    let started = match mode {
        Mode::Block => {
            client
                .block(value_type, &item.value, description, product_id)
                .await
        }
        Mode::Unblock => {
            client
                .restore_block(value_type, &item.value, description, product_id)
                .await
        }
    };
    started
        .map(|action| Some(action.0))
        .map_err(|error| error.to_string())
}

/// The payload for a block, the removal template (`remove_payload`) to lift one.
async fn http(client: &HttpTemplateClient, mode: Mode, item: &Item, request: Request<'_>) -> Sent {
    let fields = Fields {
        value: &item.value,
        kind: item.kind.as_str(),
        score: None,
        description: request.description,
        tags: &[],
        extra: request.extra,
    };
    let answer = match mode {
        Mode::Block => client.send(&fields).await,
        Mode::Unblock => client.remove(&fields).await,
    };
    answer.map(|_| None).map_err(|error| error.to_string())
}

/// One indicator found in an input, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    Ready(Item),
    /// Not an indicator, or not one the target takes.
    Refused(Refused),
    /// Stopped by the guard: the drop to record.
    Stopped(Refused, GuardDrop),
}

/// Parses and refangs `input`, applies the guard, and checks the target takes the value.
pub fn prepare(
    input: &str,
    guard: &Guard,
    sender: &Sender,
    target: &str,
    now: DateTime<Utc>,
) -> Vec<Prepared> {
    let refused = |reason: String| Refused {
        input: input.to_owned(),
        reason,
    };
    let parsed = match indicator::parse(input) {
        Ok(parsed) => parsed,
        Err(error) => return vec![Prepared::Refused(refused(error.to_string()))],
    };
    parsed
        .into_iter()
        .map(|found| {
            if let guard::Verdict::Stop { rule, reason } = guard.check(&found) {
                let drop = GuardDrop {
                    kind: found.kind,
                    value: found.value,
                    target: Some(target.to_owned()),
                    rule: rule.clone(),
                    reason: reason.clone(),
                    at: now,
                };
                return Prepared::Stopped(refused(format!("guard {rule}: {reason}")), drop);
            }
            match sender.accept(&found) {
                Ok(value) => Prepared::Ready(Item {
                    kind: found.kind,
                    value,
                }),
                Err(reason) => Prepared::Refused(refused(reason)),
            }
        })
        .collect()
}

/// The blocklist guard of `config` (one-off actions always block).
pub fn blocking_guard(config: &Config) -> Result<Guard, EngineError> {
    Ok(Guard::new(&GuardConfig {
        list: ListKind::Blocklist,
        ..config.guard.clone()
    })?)
}

/// Blocks or unblocks `inputs` on a Vision One, XDR v2 or HTTP target, now.
pub async fn block(
    config: &Config,
    library: &mut dyn LibraryBackend,
    target: &str,
    inputs: &[String],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let target = config.target(target)?;
    let scope = Scope {
        target,
        ledger: manual_ledger(&target.name),
        product_id: "iocsync",
        owner: "`iocsync block` on this target".to_owned(),
    };
    act(config, library, &scope, inputs, mode, now).await
}

/// Lifts blocks webhook trigger `trigger` made (kept in its ledger `<target>/hook:<name>`),
/// now; values the trigger did not block are refused and left alone.
pub async fn unblock_trigger(
    config: &Config,
    library: &mut dyn LibraryBackend,
    trigger: &str,
    inputs: &[String],
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let trigger = config
        .trigger(trigger)
        .ok_or_else(|| EngineError::UnknownTrigger(trigger.to_owned()))?;
    let target = config.target(&trigger.target)?;
    let scope = Scope {
        target,
        ledger: crate::trigger::hook_ledger(&target.name, &trigger.name),
        product_id: &trigger.product_id,
        owner: format!("trigger `{}`", trigger.name),
    };
    act(config, library, &scope, inputs, Mode::Unblock, now).await
}

/// Where a one-off action goes and whose blocks it may remove.
struct Scope<'a> {
    target: &'a Target,
    /// The ledger the blocks are kept in.
    ledger: String,
    /// XDR v2's productId.
    product_id: &'a str,
    /// Who made the blocks, for refusals ("not blocked with ...").
    owner: String,
}

async fn act(
    config: &Config,
    library: &mut dyn LibraryBackend,
    scope: &Scope<'_>,
    inputs: &[String],
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<OneOffReport, EngineError> {
    let target = scope.target;
    let sender = Sender::new(target, scope.product_id)?;
    let ledger = &scope.ledger;
    let mut report = OneOffReport {
        target: target.name.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
        failed: Vec::new(),
        halted: None,
    };
    let guard = blocking_guard(config)?;
    let mut items = Vec::new();
    let mut drops = Vec::new();
    for input in inputs {
        for prepared in prepare(input, &guard, &sender, &target.name, now) {
            match prepared {
                Prepared::Ready(item) => items.push(item),
                Prepared::Refused(refused) => report.refused.push(refused),
                Prepared::Stopped(refused, drop) => {
                    report.refused.push(refused);
                    drops.push(drop);
                }
            }
        }
    }
    library.record_drops(&drops)?;
    if mode == Mode::Unblock {
        items = only_pushed(library, scope, items, &mut report)?;
    }
    let run_target = ledger.strip_suffix("/manual").unwrap_or(ledger);
    let verb = match mode {
        Mode::Block => "block",
        Mode::Unblock => "unblock",
    };
    let run = library.start_run(&format!("{verb}:{run_target}"), now)?;
    let description = format!("{MARKER} blocked by hand");
    let extra = BTreeMap::new();
    let request = Request {
        description: &description,
        expiry_days: BLOCK_DAYS,
        extra: &extra,
    };
    let (results, halted) = sender.send(mode, &items, request).await;
    let mut done = Vec::new();
    for (item, result) in items.into_iter().zip(results) {
        match result {
            Ok(action_id) => {
                report.applied.push(item.value.clone());
                done.push((item, action_id));
            }
            Err(message) => report.failed.push(Failure {
                kind: item.kind,
                value: item.value,
                message,
            }),
        }
    }
    report.halted = halted;
    match mode {
        Mode::Block => {
            let entries = done
                .into_iter()
                .map(|(item, action_id)| {
                    let attributes = OneOffAttributes {
                        description: description.clone(),
                        lift_at: None,
                        action_id,
                    };
                    ledger_entry(ledger, item, &attributes, now)
                })
                .collect::<Vec<_>>();
            library.ledger_upsert(&entries)?;
        }
        Mode::Unblock => {
            let keys: Vec<(Kind, String)> = done
                .into_iter()
                .map(|(item, _)| (item.kind, item.value))
                .collect();
            library.ledger_remove(ledger, &keys)?;
        }
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
        .chain(
            report
                .failed
                .iter()
                .map(|f| format!("{}: {}", f.value, f.message)),
        )
        .chain(report.halted.iter().cloned())
        .collect();
    library.finish_run(run, report.status(), &counts, &errors, Utc::now().max(now))?;
    Ok(report)
}

/// Keeps the items the scope's owner pushed; the others are refused (not ours to remove).
fn only_pushed(
    library: &dyn LibraryBackend,
    scope: &Scope<'_>,
    items: Vec<Item>,
    report: &mut OneOffReport,
) -> Result<Vec<Item>, EngineError> {
    let pushed = library.ledger(&scope.ledger)?;
    let (ours, others): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|item| {
        pushed
            .iter()
            .any(|e| e.kind == item.kind && e.value == item.value)
    });
    report
        .refused
        .extend(others.into_iter().map(|item| Refused {
            input: item.value,
            reason: format!("not blocked with {}: left alone", scope.owner),
        }));
    Ok(ours)
}

/// A ledger entry for a one-off push.
pub fn ledger_entry(
    ledger: &str,
    item: Item,
    attributes: &OneOffAttributes,
    now: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        target: ledger.to_owned(),
        kind: item.kind,
        value: item.value,
        attributes: serde_json::to_value(attributes).unwrap_or_default(),
        remote_id: attributes.action_id.clone(),
        pushed_at: now,
    }
}
