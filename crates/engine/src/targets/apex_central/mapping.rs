//! What an indicator becomes as a user-defined suspicious object: its UDSO type (the value
//! key), its content (URLs get a scheme, as Apex Central needs one) and its notes (the
//! description, marker first, cut to the 256 characters Apex Central keeps).

use store::IndicatorRecord;
use trendmicro::apex_central::{MAX_NOTES_CHARS, UdsoType};
use trendmicro::vision_one::ScanAction;

use crate::mapping::{Describer, Desired, ObjectAttributes};
use crate::targets::vision_one::mapping::vision_one_values;
use config::targets::apex_central::{UdsoAction, UdsoParams};

/// The objects one indicator becomes, or why none.
pub fn udso(
    record: &IndicatorRecord,
    params: &UdsoParams,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    let kind = UdsoType::for_kind(record.kind).map_err(|error| error.to_string())?;
    let notes: String = describe
        .describe(record)
        .chars()
        .take(MAX_NOTES_CHARS)
        .collect();
    let scan_action = match params.scan_action {
        UdsoAction::Log => ScanAction::Log,
        UdsoAction::Block => ScanAction::Block,
    };
    Ok(vision_one_values(record, params.url_scheme)?
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: ObjectAttributes {
                scan_action: Some(scan_action),
                ..ObjectAttributes::new(kind.as_str(), notes.clone())
            },
            value: value.value().to_owned(),
        })
        .collect())
}

/// The UDSO type named by a value key (`file_sha1`, `ip`, `url`, `domain`).
pub fn udso_type(key: &str) -> Option<UdsoType> {
    UdsoType::from_listed(key)
}
