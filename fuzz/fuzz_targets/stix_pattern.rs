//! The STIX pattern parser on arbitrary text: it never panics, and whatever it accepts prints
//! back to text that parses to the same tree.
#![no_main]

use feeds::stix::pattern::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pattern) = parse(text) {
        let printed = pattern.to_string();
        match parse(&printed) {
            Ok(again) => assert_eq!(again, pattern, "{printed}"),
            Err(err) => panic!("printed pattern does not parse: {printed}\n{err}"),
        }
    }
});
