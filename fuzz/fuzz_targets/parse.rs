//! `indicator::parse` and `parse_as` never panic, and every value they return is canonical:
//! parsing it again gives the same kind and value.
#![no_main]

use indicator::{Kind, parse, parse_as};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(found) = parse(input) {
        assert!(!found.is_empty());
        for ind in found {
            let again = parse(&ind.value)
                .unwrap_or_else(|e| panic!("{:?} from {input:?} does not parse: {e}", ind.value));
            assert_eq!(again.len(), 1);
            assert_eq!(
                (again[0].kind, &again[0].value),
                (ind.kind, &ind.value),
                "from {input:?}"
            );
            if ind.kind.is_network() {
                assert!(ind.net().is_some() && ind.scope.is_some());
            }
        }
    }
    for kind in Kind::ALL {
        if let Ok(found) = parse_as(kind, input) {
            assert!(!found.is_empty());
        }
    }
});
