//! The misp-api reader (MISP `attributes/restSearch` answers) on arbitrary bytes: it never
//! panics, always ends, and every record it yields is either a sighting with a non-empty value
//! or a problem that names where it is.
#![no_main]

use feeds::{Defaults, Format, Location, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = Options::new(Defaults::new("fuzz"));
    for record in feeds::open(Format::MispApi, "fuzz", data, options) {
        match record {
            Ok(sighting) => assert!(!sighting.value.is_empty()),
            Err(problem) => {
                assert!(!problem.reason.is_empty() && problem.location != Location::Line(0))
            }
        }
    }
});
