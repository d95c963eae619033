//! Webhook triggers against the emulator over real HTTP: authentication, template mapping,
//! the guard applied before anything is sent, Vision One and XDR v2 blocks, and TTL'd blocks
//! lifted by a fresh trigger over the same library file (a restart).

#[allow(unused)]
mod common;

use std::sync::Mutex;

use chrono::{Duration, Utc};
use common::Harness;
use config::Config;
use emulator::EmulatorConfig;
use emulator::config::TaskSettings;
use emulator::faults::FaultSettings;
use emulator::tasks::Outcome as TaskOutcome;
use engine::trigger::{self, ArmedTrigger, AuthError, Authenticator, Outcome, TriggerReport};
use proptest::prelude::*;
use serde_json::json;
use store::{Library, RunStatus};
use tempfile::TempDir;
use testkit::ConfigBuilder;

const SECRET: &str = "trigger-test-secret";

/// A file holding the trigger secret, and its `file:` reference.
fn secret_file() -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hook-secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    let reference = format!("file:{}", path.display());
    (dir, reference)
}

fn trigger_toml(name: &str, target: &str, action: &str, auth: &str, extra: &str) -> String {
    format!(
        r#"
[[triggers]]
name = "{name}"
target = "{target}"
action = "{action}"
{auth}
values = ["$SrcIP", "$URL"]
{extra}
[triggers.fields]
SrcIP = "alert.source.ip"
URL = "alert.url"
"#
    )
}

async fn harness(triggers: &str) -> Harness {
    let settings = EmulatorConfig {
        tasks: TaskSettings { delay_seconds: 0 },
        ..EmulatorConfig::default()
    };
    Harness::with_emulator(settings, triggers).await
}

/// A harness whose one trigger `name` signs with HMAC (the secret in a file kept by the
/// returned directory).
async fn hmac_harness(name: &str, target: &str, action: &str, extra: &str) -> (TempDir, Harness) {
    let (dir, secret) = secret_file();
    let auth = format!("secret = \"{secret}\"");
    let h = harness(&trigger_toml(name, target, action, &auth, extra)).await;
    (dir, h)
}

/// The trigger `name` armed afresh over a new handle on the same library file: a restart.
fn restarted(h: &Harness, name: &str) -> (ArmedTrigger, Mutex<Library>) {
    let armed = ArmedTrigger::new(&h.config, h.config.trigger(name).unwrap()).unwrap();
    let library = Mutex::new(h.config.library.open().unwrap());
    (armed, library)
}

/// After a restart, lifts what trigger `name` blocked that is due `after` from the harness's now.
async fn lift_after_restart(h: &Harness, name: &str, after: Duration) -> TriggerReport {
    let (armed, library) = restarted(h, name);
    armed
        .lift_due(&library, h.now + after)
        .await
        .unwrap()
        .expect("something was due")
}

fn headers(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |wanted: &str| {
        pairs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
    }
}

fn signed(body: &[u8], at: i64, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "X-Iocsync-Signature",
            trigger::sign(secret.as_bytes(), at, body),
        ),
        ("X-Iocsync-Timestamp", at.to_string()),
    ]
}

/// Targets `v1` (unreachable, key from `key`) and `web`, plus `triggers`.
fn config_with(key: &str, triggers: &str) -> Config {
    Config::from_toml(&targets("lib.db", key).raw(triggers).toml())
        .map_err(|e| e.to_string())
        .unwrap()
}

/// The library at `library`, targets `v1` (unreachable, key from `key`) and `web`.
fn targets(library: &str, key: &str) -> ConfigBuilder {
    ConfigBuilder::new(library)
        .vision_one("v1", "http://127.0.0.1:1", key)
        .http("web", "http://127.0.0.1:1/hook", r#"{"v": "$value"}"#)
}

#[test]
fn hmac_refuses_missing_wrong_stale_and_replayed_signatures() {
    let (_dir, secret) = secret_file();
    let config = config_with(
        &secret,
        &trigger_toml(
            "t",
            "v1",
            "blocklist",
            &format!("secret = \"{secret}\"\ntolerance = \"5m\""),
            "",
        ),
    );
    let auth = Authenticator::new(&config.triggers[0]).unwrap();
    let body = br#"{"alert":{"source":{"ip":"45.1.1.1"}}}"#;
    let now = Utc::now();
    let at = now.timestamp();
    let check = |pairs| auth.check(&headers(pairs), body, now);

    assert_eq!(
        check(vec![]),
        Err(AuthError::Missing("X-Iocsync-Timestamp".into()))
    );
    let mut no_signature = signed(body, at, SECRET);
    no_signature.remove(0);
    assert_eq!(
        check(no_signature),
        Err(AuthError::Missing("X-Iocsync-Signature".into()))
    );
    assert_eq!(
        check(signed(body, at, "another-secret")),
        Err(AuthError::Wrong)
    );
    let mut tampered = signed(b"{}", at, SECRET);
    tampered[1].1 = at.to_string();
    assert_eq!(
        check(tampered),
        Err(AuthError::Wrong),
        "signature of another body"
    );
    assert_eq!(check(signed(body, at - 301, SECRET)), Err(AuthError::Stale));
    assert_eq!(check(signed(body, at + 301, SECRET)), Err(AuthError::Stale));
    assert!(matches!(
        check(vec![
            ("X-Iocsync-Signature", "md5=abc".into()),
            ("X-Iocsync-Timestamp", at.to_string())
        ]),
        Err(AuthError::Malformed { .. })
    ));

    assert_eq!(check(signed(body, at, SECRET)), Ok(()));
    assert_eq!(check(signed(body, at, SECRET)), Err(AuthError::Replayed));
    // A new timestamp is a new signature.
    assert_eq!(check(signed(body, at - 1, SECRET)), Ok(()));
    // Once the window has passed, the old signature is stale anyway.
    let later = now + Duration::minutes(6);
    assert_eq!(
        auth.check(&headers(signed(body, at, SECRET)), body, later),
        Err(AuthError::Stale)
    );
}

#[test]
fn bearer_tokens_are_checked_and_never_echoed() {
    let (_dir, secret) = secret_file();
    let config = config_with(
        &secret,
        &trigger_toml("t", "v1", "blocklist", &format!("token = \"{secret}\""), ""),
    );
    let auth = Authenticator::new(&config.triggers[0]).unwrap();
    let now = Utc::now();
    let bearer = |value: &str| vec![("Authorization", value.to_owned())];
    assert_eq!(
        auth.check(&headers(bearer(&format!("Bearer {SECRET}"))), b"{}", now),
        Ok(())
    );
    assert_eq!(
        auth.check(&headers(bearer(&format!("bearer {SECRET}"))), b"{}", now),
        Ok(())
    );
    let wrong = auth
        .check(&headers(bearer("Bearer guess")), b"{}", now)
        .unwrap_err();
    assert_eq!(wrong, AuthError::Wrong);
    assert!(!wrong.to_string().contains(SECRET));
    assert!(matches!(
        auth.check(&headers(bearer(SECRET)), b"{}", now),
        Err(AuthError::Malformed { .. })
    ));
    assert_eq!(
        auth.check(&headers(vec![]), b"{}", now),
        Err(AuthError::Missing("Authorization".into()))
    );
}

#[test]
fn config_errors_name_the_trigger_key() {
    let (_dir, secret) = secret_file();
    let auth = format!("secret = \"{secret}\"");
    let error = |text: &str| {
        let config = targets("l.db", "env:K")
            .raw(&trigger_toml("ok", "v1", "blocklist", &auth, ""))
            .raw(text);
        Config::from_toml(&config.toml()).unwrap_err().to_string()
    };
    let inline = error(&trigger_toml(
        "t",
        "v1",
        "blocklist",
        "secret = \"hunter2\"",
        "",
    ));
    assert!(inline.starts_with("triggers[1].secret:"), "{inline}");
    assert!(!inline.contains("hunter2"), "{inline}");
    let both = error(&trigger_toml(
        "t",
        "v1",
        "blocklist",
        &format!("{auth}\ntoken = \"env:T\""),
        "",
    ));
    assert!(both.starts_with("triggers[1]:"), "{both}");
    let ttl = error(&trigger_toml("t", "web", "http", &auth, "ttl = \"1h\""));
    assert!(
        ttl.starts_with("triggers[1].ttl:") && ttl.contains("remove_payload"),
        "{ttl}"
    );
    let bad_ttl = error(&trigger_toml(
        "t",
        "v1",
        "blocklist",
        &auth,
        "ttl = \"soon\"",
    ));
    assert!(bad_ttl.starts_with("triggers[1].ttl:"), "{bad_ttl}");
    let product = error(&trigger_toml("t", "v1", "xdr-block", &auth, ""));
    assert!(product.starts_with("triggers[1].action:"), "{product}");
    let unknown = error(&trigger_toml("t", "v1", "blocklist", &auth, "colour = 1"));
    assert!(unknown.contains("colour"), "{unknown}");
    let placeholder = error(&format!(
        "[[triggers]]\nname = \"t\"\ntarget = \"v1\"\naction = \"blocklist\"\n{auth}\nvalues = [\"$Nope\"]\n"
    ));
    assert!(
        placeholder.starts_with("triggers[1].values[0]:"),
        "{placeholder}"
    );
    let twice = error(&trigger_toml("ok", "v1", "blocklist", &auth, ""));
    assert!(twice.starts_with("triggers[1].name:"), "{twice}");
    let body = error(&trigger_toml("t", "v1", "blocklist", &auth, "max_body = 0"));
    assert!(body.starts_with("triggers[1].max_body:"), "{body}");
}

/// One armed trigger for every property case (building clients is the slow part).
static ARMED: std::sync::LazyLock<(TempDir, ArmedTrigger)> = std::sync::LazyLock::new(|| {
    let (dir, secret) = secret_file();
    let auth = format!("secret = \"{secret}\"");
    let config = config_with(&secret, &trigger_toml("t", "v1", "blocklist", &auth, ""));
    let armed = ArmedTrigger::new(&config, &config.triggers[0]).unwrap();
    (dir, armed)
});

proptest! {
    /// Any JSON string in an alert field comes out of a bare `$Field` template unchanged, and
    /// out of a longer template exactly once, as one value: placeholders, separators or quotes
    /// inside it never make a second value or change another field.
    #[test]
    fn any_string_value_survives_substitution(text in any::<String>(), other in "[a-z]{1,8}") {
        let (_dir, secret) = secret_file();
        let config = config_with(&secret, &format!(
            "[[triggers]]\nname = \"t\"\ntarget = \"web\"\naction = \"http\"\nsecret = \"{secret}\"\nvalues = [\"$A\", \"x-$A-$B\"]\n[triggers.fields]\nA = \"a\"\nB = \"b.c\"\n"
        ));
        let alert = json!({"a": text, "b": {"c": other}});
        let mapped = trigger::map_alert(&config.triggers[0], &alert);
        prop_assert_eq!(mapped.inputs.len(), 2);
        prop_assert_eq!(&mapped.inputs[0].1, &text);
        prop_assert_eq!(&mapped.inputs[1].1, &format!("x-{text}-{other}"));
        prop_assert!(mapped.skipped.is_empty());
    }

    /// Whatever an alert field holds — several addresses, separators, ranges, other
    /// placeholders — one template gives at most one indicator, and it is the field's own.
    #[test]
    fn injected_text_never_makes_a_second_indicator(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("45.1.2.3".to_owned()),
                Just("evil.example".to_owned()),
                Just("$URL".to_owned()),
                "[ ,;\\n|/-]{1,3}",
                "[a-z0-9.]{0,6}",
            ],
            1..5,
        )
    ) {
        let armed = &ARMED.1;
        let text = parts.concat();
        let alert = json!({"alert": {"source": {"ip": text}, "url": "http://a.example/"}});
        let checked = armed.check(&trigger::map_alert(&armed.trigger, &alert), Utc::now());
        let from_field: Vec<_> = checked.items.iter().filter(|(input, _)| *input == text).collect();
        prop_assert!(from_field.len() <= 1, "{:?}", checked.items);
        if let [(_, item)] = from_field.as_slice() {
            let parsed = indicator::parse(&text).unwrap();
            prop_assert_eq!(parsed.len(), 1);
            // Vision One takes URLs with a scheme: the field's own value, maybe with `http://`.
            prop_assert_eq!(item.kind, parsed[0].kind);
            prop_assert!(item.value.ends_with(&parsed[0].value), "{:?}", item);
        }
        prop_assert!(checked.items.len() + checked.values.len() == 2);
    }
}

/// Fires `alert` through the config's trigger `name`, over a library handle of its own.
async fn fire(h: &Harness, name: &str, alert: serde_json::Value) -> trigger::TriggerReport {
    let armed = ArmedTrigger::new(&h.config, h.config.trigger(name).unwrap()).unwrap();
    let library = Mutex::new(h.config.library.open().unwrap());
    let mapped = trigger::map_alert(&armed.trigger, &alert);
    armed.fire(&library, &mapped, h.now).await.unwrap()
}

#[tokio::test]
async fn the_guard_refuses_private_addresses_before_anything_is_sent() {
    let (_dir, h) = hmac_harness("t", "v1", "blocklist", "").await;
    let before = h.requests();
    let alert = json!({"alert": {"source": {"ip": "10.1.2.3"}, "url": "1.2.3.4 5.6.7.8"}});
    let report = fire(&h, "t", alert).await;
    assert_eq!(h.requests(), before, "nothing reached the emulator");
    // One status rule for every run: values refused make the call partial, as for `run`.
    assert_eq!(report.status, RunStatus::Partial);
    let Outcome::Refused { rule, .. } = &report.values[0].outcome else {
        panic!("{report:?}");
    };
    assert!(rule.as_deref().unwrap().starts_with("builtin:"), "{rule:?}");
    assert!(
        matches!(
            &report.values[1].outcome,
            Outcome::Refused { rule: None, .. }
        ),
        "two addresses in one field are refused whole: {report:?}"
    );
    assert!(
        !h.library.drops(10).unwrap().is_empty(),
        "the guard drop is recorded"
    );
}

#[tokio::test]
async fn vision_one_blocks_are_recorded_as_hook_runs() {
    let (_dir, h) = hmac_harness("v1hook", "v1", "blocklist", "").await;
    let alert = json!({"alert": {"source": {"ip": "45.9.9.9"}, "url": "hxxp://evil[.]example/x"}});
    let report = fire(&h, "v1hook", alert).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(h.suspicious(), ["45.9.9.9", "http://evil.example/x"]);
    let run = &h.library.runs(1).unwrap()[0];
    assert_eq!(run.workflow, "hook:v1hook");
    assert_eq!(run.counts["blocked"], 2);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(SECRET));
}

#[tokio::test]
async fn xdr_blocks_carry_their_action_ids_and_missing_fields_are_reported() {
    let (_dir, h) = hmac_harness("x", "xdr", "xdr-block", "product_id = \"DNIF\"").await;
    let report = fire(&h, "x", json!({"alert": {"source": {"ip": "45.7.7.7"}}})).await;
    assert_eq!(report.status, RunStatus::Partial, "{report:?}");
    assert!(
        matches!(&report.values[0].outcome, Outcome::Refused { reason, .. } if reason.contains("URL"))
    );
    assert!(matches!(
        &report.values[1].outcome,
        Outcome::Blocked {
            action_id: Some(_),
            lift_at: None
        }
    ));
    assert_eq!(h.xdr_blocked(), ["45.7.7.7"]);
}

#[tokio::test]
async fn ttl_blocks_are_lifted_by_a_new_trigger_after_a_restart() {
    let (_dir, h) = hmac_harness("t", "v1", "blocklist", "ttl = \"1h\"").await;
    let report = fire(&h, "t", json!({"alert": {"source": {"ip": "45.5.5.5"}}})).await;
    let Outcome::Blocked {
        lift_at: Some(lift_at),
        ..
    } = report.values[1].outcome
    else {
        panic!("{report:?}");
    };
    assert_eq!(lift_at, h.now + Duration::hours(1));
    assert_eq!(h.suspicious(), ["45.5.5.5"]);

    // A restart: a new trigger and library handle over the same file.
    let (armed, library) = restarted(&h, "t");
    let early = armed
        .lift_due(&library, h.now + Duration::minutes(59))
        .await
        .unwrap();
    assert!(early.is_none());
    assert_eq!(h.suspicious(), ["45.5.5.5"]);
    let lifted = armed
        .lift_due(&library, h.now + Duration::hours(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lifted.status, RunStatus::Succeeded, "{lifted:?}");
    assert!(h.suspicious().is_empty());
    assert!(h.library.ledger("v1/hook:t").unwrap().is_empty());
    assert_eq!(h.library.runs(1).unwrap()[0].workflow, "lift:t");
    assert!(
        armed
            .lift_due(&library, h.now + Duration::hours(3))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn xdr_ttl_blocks_are_lifted_with_restore_block() {
    let (_dir, h) = hmac_harness("x", "xdr", "xdr-block", "ttl = \"30m\"").await;
    let alert = json!({"alert": {"source": {"ip": "45.4.4.4"}, "url": "http://bad.example/"}});
    let report = fire(&h, "x", alert).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(h.xdr_blocked(), ["45.4.4.4", "http://bad.example/"]);
    let lifted = lift_after_restart(&h, "x", Duration::hours(1)).await;
    assert_eq!(lifted.values.len(), 2, "{lifted:?}");
    assert!(h.xdr_blocked().is_empty());
}

#[tokio::test]
async fn response_blocks_follow_their_tasks_fail_with_the_task_and_are_lifted_with_a_restore() {
    let (_dir, h) = hmac_harness("r", "v1", "response-block", "ttl = \"30m\"").await;
    h.emulator.emulator().set_faults(FaultSettings {
        response_task_outcomes: [("45.4.4.5".to_owned(), TaskOutcome::Rejected)].into(),
        ..FaultSettings::default()
    });
    let alert = json!({"alert": {"source": {"ip": "45.4.4.4"}, "url": "http://bad.example/"}});
    let report = fire(&h, "r", alert).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert!(
        report.values.iter().all(|v| matches!(
            &v.outcome,
            Outcome::Blocked {
                action_id: Some(_),
                lift_at: Some(_)
            }
        )),
        "each value's task id and lift time: {report:?}"
    );
    assert_eq!(h.suspicious(), ["45.4.4.4", "http://bad.example/"]);
    let stats = h.emulator.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects", "207"),
        1,
        "one request"
    );

    // A task that ends `rejected` is a failed value with the task's status.
    let rejected = fire(&h, "r", json!({"alert": {"source": {"ip": "45.4.4.5"}}})).await;
    let Outcome::Failed { message } = &rejected.values[1].outcome else {
        panic!("{rejected:?}");
    };
    assert!(message.contains("`rejected`"), "{message}");
    assert_eq!(h.suspicious(), ["45.4.4.4", "http://bad.example/"]);

    let lifted = lift_after_restart(&h, "r", Duration::hours(1)).await;
    assert_eq!(lifted.values.len(), 2, "{lifted:?}");
    assert!(
        lifted.values.iter().all(|v| v.outcome == Outcome::Lifted),
        "{lifted:?}"
    );
    assert!(h.suspicious().is_empty());
    let stats = h.emulator.emulator().request_stats();
    assert_eq!(
        stats.count("POST /v3.0/response/suspiciousObjects/delete", "207"),
        1
    );
}

#[tokio::test]
async fn http_ttl_blocks_are_lifted_with_the_removal_template() {
    let (_dir, h) = hmac_harness("w", "webhook-undo", "http", "ttl = \"1h\"").await;
    let report = fire(&h, "w", json!({"alert": {"source": {"ip": "45.6.6.6"}}})).await;
    assert!(
        matches!(
            report.values[1].outcome,
            Outcome::Blocked {
                lift_at: Some(_),
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(h.suspicious(), ["45.6.6.6"]);
    let lifted = lift_after_restart(&h, "w", Duration::hours(2)).await;
    assert_eq!(lifted.status, RunStatus::Succeeded, "{lifted:?}");
    assert!(
        h.suspicious().is_empty(),
        "the removal template undid the block"
    );
    assert!(h.library.ledger("webhook-undo/hook:w").unwrap().is_empty());
}
