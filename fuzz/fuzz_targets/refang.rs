//! `indicator::refang` never panics, never lengthens its input, and is idempotent.
#![no_main]

use indicator::refang;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let once = refang(input).into_owned();
    // The longest replacement ("hxxxp" -> "http", "[://]" -> "://") never lengthens the text.
    assert!(once.len() <= input.len(), "{input:?} grew to {once:?}");
    assert_eq!(refang(&once), once.as_str(), "not idempotent for {input:?}");
});
