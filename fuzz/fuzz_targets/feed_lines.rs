//! The line-oriented readers (plain text, JSON lines), format detection and the TAXII argument
//! and cursor parsers on arbitrary bytes: none panics, the readers always end, and every record
//! is either a sighting with a non-empty value or a problem that names where it is.
#![no_main]

use feeds::taxii::{Target, check_added_after};
use feeds::{Columns, Defaults, Format, Location, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Text, Format::Jsonl] {
        let options = Options::new(Defaults::new("fuzz"));
        for record in feeds::open(format, "fuzz", data, options) {
            match record {
                Ok(sighting) => assert!(!sighting.value.is_empty()),
                Err(problem) => {
                    assert!(!problem.reason.is_empty() && problem.location != Location::Line(0))
                }
            }
        }
    }
    let _ = feeds::detect("feed", data, &Columns::default());
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = feeds::detect(text, data, &Columns::default());
    let _ = Target::parse(text);
    let _ = check_added_after(text);
});
