//! Webhook triggers: a SIEM alert (JSON) → indicator values through the trigger's templates →
//! parse and refang → guard first → one action per value on the target ([`crate::oneoff`]).
//!
//! - [`sign`] / [`Authenticator`]: HMAC-SHA256 over `"<timestamp>.<body>"` with a tolerance
//!   window and a replay memory (kept in the library by [`ArmedTrigger::authenticate`], so it
//!   survives a restart), or a bearer token; both compared in constant time. Errors say
//!   what was wrong, never what the secret is.
//! - [`map_alert`]: the `$Field` placeholders of the trigger's [`config::ValueTemplate`]s filled
//!   once from dotted paths into the alert, so text inside an alert never becomes another
//!   placeholder or another value.
//! - [`ArmedTrigger`]: a trigger with its client built; [`ArmedTrigger::fire`] records each call
//!   as a run named `hook:<name>`, and blocks with a TTL are kept in the trigger's ledger
//!   (`<target>/hook:<name>`) with their lift time, so [`ArmedTrigger::lift_due`] finds them
//!   after a restart.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use guard::Guard;
use hmac::{Hmac, Mac};
use indicator::Kind;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::{GuardDrop, Library, RunStatus};
use subtle::ConstantTimeEq;

use crate::error::EngineError;
use crate::keys;
use crate::mapping::ObjectAttributes;
use crate::marker::Marker;
use crate::oneoff::{self, Acted, BLOCK_DAYS, Claimer, Item, Mode, Prepared, Request};
use crate::recorder::{Items, Record, Recorder};
use crate::targets::Sender;
use config::{Config, ConfigError, Target, Trigger, TriggerAuth};

type HmacSha256 = Hmac<Sha256>;

// --- authentication ---------------------------------------------------------------------------

/// The signature header's value for `body` sent at `timestamp` (Unix seconds):
/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

/// Why a call was not let in. Messages name headers, never secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing header `{0}`")]
    Missing(String),
    #[error("header `{header}` {reason}")]
    Malformed {
        header: String,
        reason: &'static str,
    },
    #[error("the timestamp is outside the accepted window")]
    Stale,
    #[error("wrong signature or token")]
    Wrong,
    #[error("this signature was already used")]
    Replayed,
}

enum Method {
    Hmac {
        secret: SecretString,
        signature_header: String,
        timestamp_header: String,
        tolerance: i64,
        /// Signatures seen and when they may be forgotten (the end of their window).
        seen: Mutex<Seen>,
    },
    Bearer {
        digest: [u8; 32],
    },
}

#[derive(Default)]
struct Seen {
    by_expiry: BTreeSet<(i64, [u8; 32])>,
    signatures: HashSet<[u8; 32]>,
}

impl Seen {
    /// Forgets signatures whose window has passed, then records `signature`; false if it was
    /// already there.
    fn insert(&mut self, signature: [u8; 32], expires: i64, now: i64) -> bool {
        while let Some(first) = self.by_expiry.first().copied()
            && first.0 < now
        {
            self.by_expiry.remove(&first);
            self.signatures.remove(&first.1);
        }
        if !self.signatures.insert(signature) {
            return false;
        }
        self.by_expiry.insert((expires, signature));
        true
    }
}

/// Checks the credentials of calls to one trigger.
pub struct Authenticator {
    method: Method,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator(..)")
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these structures half-written: keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Authenticator {
    /// Resolves the trigger's secret or token.
    pub fn new(trigger: &Trigger) -> Result<Self, ConfigError> {
        let secret = trigger.resolve_secret()?;
        let method = match &trigger.auth {
            TriggerAuth::Hmac {
                signature_header,
                timestamp_header,
                tolerance,
                ..
            } => Method::Hmac {
                secret,
                signature_header: signature_header.clone(),
                timestamp_header: timestamp_header.clone(),
                tolerance: i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX),
                seen: Mutex::default(),
            },
            TriggerAuth::Bearer { .. } => Method::Bearer {
                digest: Sha256::digest(secret.expose_secret().as_bytes()).into(),
            },
        };
        Ok(Authenticator { method })
    }

    /// Checks a call's headers (`header(name)` looks one up, case-insensitively) and body,
    /// and refuses a signature this authenticator already let in (memory of this process
    /// only: the daemon uses [`ArmedTrigger::authenticate`], which remembers in the library).
    pub fn check(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), AuthError> {
        let (Some(signed), Method::Hmac { seen, .. }) =
            (self.verify(header, body, now)?, &self.method)
        else {
            return Ok(());
        };
        if lock(seen).insert(signed.signature_hash, signed.expires_at, now.timestamp()) {
            Ok(())
        } else {
            Err(AuthError::Replayed)
        }
    }

    /// Checks credentials without the replay memory. For a signed call, returns what the
    /// replay memory must record; `None` for a bearer token.
    pub fn verify(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<Signed>, AuthError> {
        match &self.method {
            Method::Bearer { digest } => check_bearer(digest, header).map(|()| None),
            Method::Hmac {
                secret,
                signature_header,
                timestamp_header,
                tolerance,
                ..
            } => {
                let stamp = header(timestamp_header)
                    .ok_or_else(|| AuthError::Missing(timestamp_header.clone()))?;
                let stamp = stamp.trim();
                let at: i64 = stamp.parse().map_err(|_| AuthError::Malformed {
                    header: timestamp_header.clone(),
                    reason: "is not a Unix time in seconds",
                })?;
                if at.abs_diff(now.timestamp()) > tolerance.unsigned_abs() {
                    return Err(AuthError::Stale);
                }
                let signature = header(signature_header)
                    .ok_or_else(|| AuthError::Missing(signature_header.clone()))?;
                let signature = verify_hmac(secret, stamp, body, &signature).map_err(|error| {
                    error.unwrap_or_else(|| AuthError::Malformed {
                        header: signature_header.clone(),
                        reason: "is not `sha256=<hex>`",
                    })
                })?;
                // Only signatures that verified reach the replay memory, so no caller can
                // fill it; it keeps a hash, never the signature.
                Ok(Some(Signed {
                    signature_hash: Sha256::digest(signature).into(),
                    expires_at: at.saturating_add(*tolerance),
                }))
            }
        }
    }
}

/// A signed call that verified: what the replay memory keeps of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// SHA-256 of the signature.
    pub signature_hash: [u8; 32],
    /// When its timestamp leaves the window (Unix seconds): it can be forgotten after that.
    pub expires_at: i64,
}

/// `Authorization: Bearer <token>` against the token's digest.
fn check_bearer(
    digest: &[u8; 32],
    header: &dyn Fn(&str) -> Option<String>,
) -> Result<(), AuthError> {
    let value =
        header("authorization").ok_or_else(|| AuthError::Missing("Authorization".to_owned()))?;
    let token = value
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        .and_then(|_| value.get(7..))
        .ok_or(AuthError::Malformed {
            header: "Authorization".to_owned(),
            reason: "is not `Bearer <token>`",
        })?;
    // Digests have one length, so the comparison time says nothing about the token.
    let given: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
    if bool::from(given.ct_eq(digest)) {
        Ok(())
    } else {
        Err(AuthError::Wrong)
    }
}

/// Verifies `sha256=<hex>` over `"<stamp>.<body>"` in constant time; returns the signature's
/// bytes. `Err(None)`: the header is not of that form.
fn verify_hmac(
    secret: &SecretString,
    stamp: &str,
    body: &[u8],
    signature: &str,
) -> Result<[u8; 32], Option<AuthError>> {
    let bytes = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or(None)?;
    let mut mac = keyed(secret.expose_secret().as_bytes());
    mac.update(stamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&bytes)
        .map_err(|_| Some(AuthError::Wrong))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| Some(AuthError::Wrong))
}

// --- templates --------------------------------------------------------------------------------

/// The value at a dotted path (`alert.hits.0.ip`: object keys, or array indexes).
pub fn lookup<'a>(alert: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(alert, |node, step| match node {
        Value::Object(map) => map.get(step),
        Value::Array(items) => items.get(step.parse::<usize>().ok()?),
        _ => None,
    })
}

/// An alert mapped through a trigger's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The alert's fields, by placeholder name (absent fields left out).
    pub fields: BTreeMap<String, Value>,
    /// Indicator inputs, each with the template that made it.
    pub inputs: Vec<(String, String)>,
    /// Templates that gave nothing, with the reason.
    pub skipped: Vec<(String, String)>,
    /// The alert's id, shown with the call on the status page ([`alert_id`]).
    pub alert_id: Option<String>,
}

/// Where an alert's id is looked for: the trigger's field `alert_id` when it maps one, else
/// the keys SIEMs commonly use (Splunk `sid`, Sentinel/Elastic `id`, ...).
const ALERT_ID_KEYS: &[&str] = &["alert_id", "alertId", "id", "sid", "uuid", "event_id"];

/// The alert's id as text, if it has one: the trigger's mapped field `alert_id`, else the
/// first of `alert_id`, `alertId`, `id`, `sid`, `uuid`, `event_id` at the top of the alert
/// that holds a string or a number.
pub fn alert_id(trigger: &Trigger, alert: &Value) -> Option<String> {
    let mapped = trigger
        .fields
        .get("alert_id")
        .and_then(|path| lookup(alert, path));
    let found = mapped.or_else(|| ALERT_ID_KEYS.iter().find_map(|key| alert.get(key)))?;
    let text = match found {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    // An id is a short label: a 500-character "id" is shown cut.
    Some(text.chars().take(128).collect())
}

/// Fills the trigger's templates from `alert`.
pub fn map_alert(trigger: &Trigger, alert: &Value) -> Mapped {
    let fields: BTreeMap<String, Value> = trigger
        .fields
        .iter()
        .filter_map(|(name, path)| Some((name.clone(), lookup(alert, path)?.clone())))
        .collect();
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for template in &trigger.values {
        match template.render(&fields) {
            Ok(values) => inputs.extend(
                values
                    .into_iter()
                    .map(|value| (template.as_str().to_owned(), value)),
            ),
            Err(reason) => skipped.push((template.as_str().to_owned(), reason)),
        }
    }
    Mapped {
        fields,
        inputs,
        skipped,
        alert_id: alert_id(trigger, alert),
    }
}

// --- firing -----------------------------------------------------------------------------------

/// What became of one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Blocked on the target; lifted at `lift_at` when the trigger has a TTL.
    Blocked {
        #[serde(skip_serializing_if = "Option::is_none")]
        lift_at: Option<DateTime<Utc>>,
        /// The XDR task that applies it.
        #[serde(skip_serializing_if = "Option::is_none")]
        action_id: Option<String>,
    },
    /// Sent to an HTTP template target without a removal template (nothing to lift).
    Sent,
    /// Not sent: the guard's `rule` stopped it, or it is no indicator the target takes.
    Refused {
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        reason: String,
    },
    /// The target refused it or could not be reached; `message` is the target's.
    Failed { message: String },
    /// A TTL'd block lifted.
    Lifted,
}

/// One value's line in a trigger's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueResult {
    /// What the template produced (or the template itself, when it produced nothing).
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The value as sent to the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The answer to one trigger call (or one lift).
#[derive(Debug, Clone, Serialize)]
pub struct TriggerReport {
    pub trigger: String,
    pub target: String,
    /// The run this call is recorded as.
    pub run_id: i64,
    pub status: RunStatus,
    /// The alert's id, when it has one (see [`alert_id`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub values: Vec<ValueResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
}

impl TriggerReport {
    /// How the call ended ([`crate::recorder::status`]): a value refused or failed makes it
    /// partial, whether or not others were done (the answer's HTTP status tells a call that
    /// did nothing).
    fn status_of(values: &[ValueResult], halted: Option<&str>) -> RunStatus {
        Self::record_of(values, halted).status()
    }

    /// Its summary for the run record.
    pub fn record(&self) -> Record {
        Record {
            items: items_of(&self.values),
            subject: self.alert.clone(),
            ..Self::record_of(&self.values, self.halted.as_deref())
        }
    }

    fn record_of(values: &[ValueResult], halted: Option<&str>) -> Record {
        let messages = values.iter().filter_map(|v| match &v.outcome {
            Outcome::Refused { reason, .. } => Some(format!("{}: refused: {reason}", v.input)),
            Outcome::Failed { message } => Some(format!("{}: failed: {message}", v.input)),
            Outcome::Blocked { .. } | Outcome::Sent | Outcome::Lifted => None,
        });
        let mut messages: Vec<String> = messages.collect();
        let problems = messages.len();
        messages.extend(halted.map(str::to_owned));
        Record {
            halted: halted.is_some(),
            held: 0,
            problems,
            counts: serde_json::to_value(counts_of(values)).unwrap_or_default(),
            messages,
            items: Vec::new(),
            subject: None,
        }
    }

    /// `{outcome: count}` for the run record and metrics.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        counts_of(&self.values)
    }
}

/// Each value's line for the run's drill-down: blocked (with the task and the lift time),
/// sent, refused (with the guard's rule), failed (with the target's answer), lifted.
fn items_of(values: &[ValueResult]) -> Vec<store::RunItem> {
    let mut items = Items::default();
    for line in values {
        let value = line.value.as_deref().unwrap_or(&line.input);
        let (detail, until) = match &line.outcome {
            Outcome::Blocked { lift_at, action_id } => {
                (action_id.as_ref().map(|id| format!("task {id}")), *lift_at)
            }
            Outcome::Refused { rule, reason } => (
                Some(rule.as_ref().map_or_else(
                    || reason.clone(),
                    |rule| crate::recorder::refusal(rule, reason),
                )),
                None,
            ),
            Outcome::Failed { message } => (Some(message.clone()), None),
            Outcome::Sent | Outcome::Lifted => (None, None),
        };
        items.push(outcome_name(&line.outcome), line.kind, value, detail, until);
    }
    items.into_vec()
}

fn counts_of(values: &[ValueResult]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for value in values {
        *counts.entry(outcome_name(&value.outcome)).or_default() += 1;
    }
    counts
}

/// The outcome's name, as in the JSON answer.
pub fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Blocked { .. } => "blocked",
        Outcome::Sent => "sent",
        Outcome::Refused { .. } => "refused",
        Outcome::Failed { .. } => "failed",
        Outcome::Lifted => "lifted",
    }
}

/// An alert's values after parsing and the guard, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Values to send, each with the input it came from.
    pub items: Vec<(String, Item)>,
    /// Values refused (by the guard, by parsing, or because the target takes no such kind).
    pub values: Vec<ValueResult>,
    /// Guard stops to record.
    pub drops: Vec<GuardDrop>,
}

/// A trigger ready to fire: credentials resolved, client and guard built.
#[derive(Debug)]
pub struct ArmedTrigger {
    pub trigger: Trigger,
    pub auth: Authenticator,
    sender: Sender,
    guard: Guard,
    target: Target,
}

fn library(mutex: &Mutex<Library>) -> MutexGuard<'_, Library> {
    lock(mutex)
}

impl ArmedTrigger {
    /// Resolves the secret and builds the target's client (no request is sent).
    pub fn new(config: &Config, trigger: &Trigger) -> Result<Self, EngineError> {
        let target = config.target(&trigger.target)?;
        Ok(ArmedTrigger {
            auth: Authenticator::new(trigger)?,
            sender: Sender::new(
                target,
                &trigger.product_id,
                trigger.action == config::Action::ResponseBlock,
            )?,
            guard: oneoff::blocking_guard(config)?,
            trigger: trigger.clone(),
            target: target.clone(),
        })
    }

    fn ledger(&self) -> String {
        keys::trigger_ledger(&self.trigger.target, &self.trigger.name)
    }

    /// The claimant this trigger acts as.
    fn claimer(&self, library_lock: &Mutex<Library>) -> Result<Claimer<'_>, EngineError> {
        Ok(Claimer {
            sender: &self.sender,
            target: &self.target,
            ledger: self.ledger(),
            marker: Marker::new(&library(library_lock).library_id()?),
        })
    }

    /// Puts the trigger's claims written before spaces existed into their space (once, when
    /// the daemon arms it).
    pub fn adopt_legacy_claims(&self, library_lock: &Mutex<Library>) -> Result<(), EngineError> {
        let space = keys::space(&self.target.name, self.sender.list());
        crate::claims::join_space(&mut **library(library_lock), &self.ledger(), &space)?;
        Ok(())
    }

    /// Checks a call's credentials; a signature is remembered in the library until its window
    /// ends, so a replay is refused even after a restart or by another process. The outer
    /// error is the library's; the inner one says why the call is refused.
    pub fn authenticate(
        &self,
        library_lock: &Mutex<Library>,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Result<(), AuthError>, EngineError> {
        let signed = match self.auth.verify(header, body, now) {
            Ok(Some(signed)) => signed,
            Ok(None) => return Ok(Ok(())),
            Err(refused) => return Ok(Err(refused)),
        };
        let expires_at = DateTime::from_timestamp(signed.expires_at, 0).unwrap_or(now);
        let fresh = library(library_lock).remember_signature(
            &self.trigger.name,
            &signed.signature_hash,
            now,
            expires_at,
        )?;
        Ok(if fresh {
            Ok(())
        } else {
            Err(AuthError::Replayed)
        })
    }

    /// Maps `alert`, guards, acts on each value and records the call as run `hook:<name>`.
    /// Library work happens in short sections between requests, so other callers are not held
    /// up while the target answers.
    pub async fn fire(
        &self,
        library_lock: &Mutex<Library>,
        mapped: &Mapped,
        now: DateTime<Utc>,
    ) -> Result<TriggerReport, EngineError> {
        let Checked {
            items,
            mut values,
            drops,
        } = self.check(mapped, now);
        let run = {
            let mut library = library(library_lock);
            library.record_drops(&drops)?;
            Recorder::start(
                &mut **library,
                &keys::runs::trigger(&self.trigger.name),
                now,
            )?
        };
        let lift_at = self
            .trigger
            .ttl
            .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
            .map(|ttl| now + ttl);
        let request = Request {
            description: &self.trigger.description,
            expiry_days: self.expiry_days(),
            lift_at,
            extra: &mapped.fields,
        };
        let items_only: Vec<Item> = items.iter().map(|(_, item)| item.clone()).collect();
        let claimer = self.claimer(library_lock)?;
        let (outcomes, halted, notes) = oneoff::act(
            &claimer,
            library_lock,
            &items_only,
            Mode::Block,
            &request,
            now,
        )
        .await?;
        for note in &notes {
            tracing::warn!(trigger = %self.trigger.name, "{note}");
        }
        values.extend(self.settle(items, outcomes, lift_at));
        let report = TriggerReport {
            alert: mapped.alert_id.clone(),
            ..self.report(run.id(), values, halted)
        };
        run.finish(&mut **library(library_lock), &report.record(), now)?;
        Ok(report)
    }

    fn report(
        &self,
        run_id: i64,
        values: Vec<ValueResult>,
        halted: Option<String>,
    ) -> TriggerReport {
        TriggerReport {
            trigger: self.trigger.name.clone(),
            target: self.trigger.target.clone(),
            run_id,
            status: TriggerReport::status_of(&values, halted.as_deref()),
            alert: None,
            values,
            halted,
        }
    }

    /// Each sent value's line in the answer.
    fn settle(
        &self,
        items: Vec<(String, Item)>,
        outcomes: Vec<Acted>,
        lift_at: Option<DateTime<Utc>>,
    ) -> Vec<ValueResult> {
        items
            .into_iter()
            .zip(outcomes)
            .map(|((input, item), acted)| {
                let outcome = match acted {
                    // A call that cannot be undone is not a block: nothing to keep or lift.
                    Acted::Done { .. } if !self.sender.can_undo() => Outcome::Sent,
                    Acted::Done { action_id, .. } => Outcome::Blocked { lift_at, action_id },
                    Acted::Refused(reason) => Outcome::Refused { rule: None, reason },
                    Acted::Failed(message) => Outcome::Failed { message },
                };
                acted_line(input, item, outcome)
            })
            .collect()
    }

    /// Vision One's own expiry: a day past the TTL (in case iocsync is down when it is due),
    /// else the one-off default.
    fn expiry_days(&self) -> u16 {
        self.trigger.ttl.map_or(BLOCK_DAYS, |ttl| {
            u16::try_from(ttl.as_secs() / 86_400 + 2)
                .unwrap_or(365)
                .min(365)
        })
    }

    /// Parses, refangs and guards every mapped value; sends nothing.
    pub fn check(&self, mapped: &Mapped, now: DateTime<Utc>) -> Checked {
        let mut checked = Checked {
            items: Vec::new(),
            values: mapped
                .skipped
                .iter()
                .map(|(template, reason)| refused(template, None, reason.clone()))
                .collect(),
            drops: Vec::new(),
        };
        for (_, input) in &mapped.inputs {
            self.prepare_one(
                input,
                now,
                &mut checked.items,
                &mut checked.values,
                &mut checked.drops,
            );
        }
        checked
    }

    fn prepare_one(
        &self,
        input: &str,
        now: DateTime<Utc>,
        items: &mut Vec<(String, Item)>,
        values: &mut Vec<ValueResult>,
        drops: &mut Vec<GuardDrop>,
    ) {
        let prepared = oneoff::prepare(input, &self.guard, &self.sender, &self.trigger.target, now);
        if prepared.is_empty() {
            values.push(refused(input, None, "no indicator in it".to_owned()));
            return;
        }
        if prepared.len() > 1 {
            // One template gives one indicator: a value that reads as several (a range, a list)
            // is refused whole, so alert text cannot widen the action.
            values.push(refused(
                input,
                None,
                format!(
                    "reads as {} indicators; a trigger value must be one",
                    prepared.len()
                ),
            ));
            return;
        }
        for result in prepared {
            match result {
                Prepared::Ready(item) => items.push((input.to_owned(), item)),
                Prepared::Refused(refusal) => values.push(refused(input, None, refusal.reason)),
                Prepared::Stopped(refusal, drop) => {
                    values.push(refused(input, Some(drop.rule.clone()), refusal.reason));
                    drops.push(drop);
                }
            }
        }
    }

    /// Lifts this trigger's blocks whose TTL has passed (as of `now`); recorded as run
    /// `lift:<name>` when there was anything to lift. `None` when nothing was due, or another
    /// process (a daemon sharing the library) is lifting them: the lift holds the lease
    /// `lift:<name>` and reads what is due again under it, so a block is lifted once. A lifted
    /// value another claimant still wants stays on the target with that claimant's attributes.
    pub async fn lift_due(
        &self,
        library_lock: &Mutex<Library>,
        now: DateTime<Utc>,
    ) -> Result<Option<TriggerReport>, EngineError> {
        if self.due_lifts(library_lock, now)?.is_empty() {
            return Ok(None);
        }
        let lease = keys::lift_lease(&self.trigger.name);
        let me = crate::lease::lease_holder();
        match crate::lease::take(&mut **library(library_lock), &lease, &me) {
            Ok(()) => {}
            Err(EngineError::Busy(_)) => return Ok(None),
            Err(error) => return Err(error),
        }
        let keeper = crate::lease::Keeper::start(
            &**library(library_lock),
            &lease,
            &me,
            crate::lease::RENEW_EVERY,
        );
        let lifted = match self.due_lifts(library_lock, now) {
            Ok(due) if due.is_empty() => Ok(None),
            Ok(due) => self.lift(library_lock, due, now).await,
            Err(error) => Err(error),
        };
        keeper.stop();
        let released = library(library_lock).release_lease(&lease, &me);
        let lifted = lifted?;
        released?;
        Ok(lifted)
    }

    /// This trigger's blocks whose TTL has passed as of `now`.
    fn due_lifts(
        &self,
        library_lock: &Mutex<Library>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Item>, EngineError> {
        let library = library(library_lock);
        Ok(library
            .ledger(&self.ledger())?
            .into_iter()
            .filter(|entry| {
                ObjectAttributes::deserialize(&entry.attributes)
                    .ok()
                    .and_then(|a| a.lift_at)
                    .is_some_and(|at| at <= now)
            })
            .map(|entry| Item {
                kind: entry.kind,
                value: entry.value,
            })
            .collect())
    }

    /// Lifts `due` (held under the lift lease) and records the lift.
    async fn lift(
        &self,
        library_lock: &Mutex<Library>,
        due: Vec<Item>,
        now: DateTime<Utc>,
    ) -> Result<Option<TriggerReport>, EngineError> {
        let run = Recorder::start(
            &mut **library(library_lock),
            &keys::runs::lift(&self.trigger.name),
            now,
        )?;
        let request = Request {
            description: &self.trigger.description,
            expiry_days: BLOCK_DAYS,
            lift_at: None,
            extra: &BTreeMap::new(),
        };
        let claimer = self.claimer(library_lock)?;
        let (outcomes, halted, _) =
            oneoff::act(&claimer, library_lock, &due, Mode::Unblock, &request, now).await?;
        let values = due
            .into_iter()
            .zip(outcomes)
            .map(|(item, acted)| {
                let outcome = match acted {
                    Acted::Done { .. } => Outcome::Lifted,
                    Acted::Refused(reason) => Outcome::Refused { rule: None, reason },
                    Acted::Failed(message) => Outcome::Failed { message },
                };
                acted_line(item.value.clone(), item, outcome)
            })
            .collect();
        let report = self.report(run.id(), values, halted);
        run.finish(&mut **library(library_lock), &report.record(), now)?;
        Ok(Some(report))
    }
}

/// The answer line of a value that was sent to the target.
fn acted_line(input: String, item: Item, outcome: Outcome) -> ValueResult {
    ValueResult {
        input,
        kind: Some(item.kind),
        value: Some(item.value),
        outcome,
    }
}

fn refused(input: &str, rule: Option<String>, reason: String) -> ValueResult {
    ValueResult {
        input: input.to_owned(),
        kind: None,
        value: None,
        outcome: Outcome::Refused { rule, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_walk_objects_and_arrays() {
        let alert = serde_json::json!({"a": {"hits": [{"ip": "9.9.9.9"}]}});
        assert_eq!(lookup(&alert, "a.hits.0.ip"), Some(&Value::from("9.9.9.9")));
        assert_eq!(lookup(&alert, "a.hits.1.ip"), None);
        assert_eq!(lookup(&alert, "a.hits.x"), None);
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_timestamp_dot_body() {
        // Expected value from Python's hmac module, computed independently.
        assert_eq!(
            sign(b"Jefe", 1_700_000_000, br#"{"a":1}"#),
            "sha256=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
        assert_eq!(unhex("0aff"), Some(vec![0x0a, 0xff]));
        assert!(unhex("zz").is_none());
        assert!(unhex("abc").is_none());
    }

    #[test]
    fn the_replay_cache_forgets_after_the_window() {
        let mut seen = Seen::default();
        assert!(seen.insert([1; 32], 100, 50));
        assert!(!seen.insert([1; 32], 100, 60));
        assert!(seen.insert([1; 32], 300, 101));
        assert_eq!(seen.signatures.len(), 1);
    }
}
