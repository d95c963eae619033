//! `indicator::extract` never panics, returns no duplicate, and returns only canonical values.
#![no_main]

use std::collections::HashSet;

use indicator::{extract, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let found = extract(&text);
    let mut seen = HashSet::new();
    for ind in &found {
        assert!(
            seen.insert((ind.kind, ind.value.clone())),
            "duplicate {ind}"
        );
        let again = parse(&ind.value).unwrap_or_else(|e| panic!("{ind} does not parse: {e}"));
        assert_eq!((again[0].kind, &again[0].value), (ind.kind, &ind.value));
    }
});
