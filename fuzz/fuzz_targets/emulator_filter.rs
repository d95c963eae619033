//! The emulator's `TMV1-Filter` parser and Deep Security item/search checks never panic on any input.
#![no_main]

use emulator::deep_security::{items::check_item, search::Search};
use emulator::vision_one::filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = filter::parse(text);
    let _ = check_item(text);
    if let Ok(body) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = Search::parse(&body);
    }
});
