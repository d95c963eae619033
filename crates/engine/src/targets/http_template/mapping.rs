//! What an indicator becomes on an HTTP template target: one call with its value, kind, score
//! and description. Every kind goes.

use store::IndicatorRecord;

use crate::mapping::{Describer, Desired, ObjectAttributes};

/// The webhook call one indicator becomes: its value as the library holds it, its kind as the
/// key, its score and description. Every kind goes.
pub fn http(record: &IndicatorRecord, describe: &Describer<'_>) -> Desired {
    Desired {
        kind: record.kind,
        value: record.value.clone(),
        attributes: ObjectAttributes {
            score: record.score,
            ..ObjectAttributes::new(record.kind.as_str(), describe.describe(record))
        },
    }
}
