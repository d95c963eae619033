//! Webhook trigger mapping on arbitrary text: read as a value template it never panics and
//! names only valid fields; read as an alert, every template gives values or one reason, and a
//! template with text around its fields gives at most one value (alert text never adds one).
#![no_main]

use std::sync::LazyLock;

use config::{ValueTemplate, is_field_name};
use engine::trigger::map_alert;
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<config::Config> = LazyLock::new(|| {
    config::Config::from_toml(
        r#"
[library]
path = "l.db"
[[targets]]
name = "web"
product = "http"
base_url = "http://127.0.0.1:9/"
payload = '{"v": "$value"}'
[[triggers]]
name = "t"
target = "web"
action = "http"
secret = "env:FUZZ_SECRET"
values = ["$A", "x-$A-$B"]
[triggers.fields]
A = "a"
B = "b.0.c"
"#,
    )
    .expect("the fuzz config is valid")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let template = ValueTemplate::parse(text);
    assert_eq!(template.as_str(), text);
    assert!(template.fields().iter().all(|name| is_field_name(name)));
    let Ok(alert) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let mapped = map_alert(&CONFIG.triggers[0], &alert);
    let wrapped = mapped.inputs.iter().filter(|(t, _)| t == "x-$A-$B").count();
    let wrapped_skipped = mapped
        .skipped
        .iter()
        .filter(|(t, _)| t == "x-$A-$B")
        .count();
    assert_eq!(wrapped + wrapped_skipped, 1);
    assert!(mapped.skipped.iter().all(|(_, reason)| !reason.is_empty()));
});
