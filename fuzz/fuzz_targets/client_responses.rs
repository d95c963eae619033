//! The clients' readers of target answers (Vision One 207 bodies and errors, XDR task answers) and
//! the HTTP payload template never panic, and a rendered template is always valid JSON.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use trendmicro::http_template::{Fields, Template};
use trendmicro::vision_one::request::{parse_error, parse_multi_status};
use trendmicro::xdr_v2::request::{parse_action_id, parse_task};

fuzz_target!(|data: &[u8]| {
    let _ = parse_multi_status(data, 3);
    let _ = parse_error(data);
    let _ = parse_action_id(data);
    let _ = parse_task(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(template) = Template::parse(text) {
        let extra = BTreeMap::new();
        let tags = vec![text.to_owned()];
        let fields = Fields {
            value: text,
            kind: "url",
            score: Some(7),
            description: text,
            tags: &tags,
            extra: &extra,
        };
        if let Ok(payload) = template.render(&fields) {
            let encoded = serde_json::to_string(&payload).expect("a JSON value serialises");
            serde_json::from_str::<serde_json::Value>(&encoded).expect("rendered payload is JSON");
        }
    }
});
