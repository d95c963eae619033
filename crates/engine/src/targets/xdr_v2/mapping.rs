//! What an indicator becomes as an XDR v2 block: its `valueType` and its value (URLs get a
//! scheme as on Vision One).

use store::IndicatorRecord;
use trendmicro::xdr_v2::ValueType;

use crate::mapping::{Describer, Desired, ObjectAttributes};
use crate::targets::vision_one::mapping::vision_one_values;
use config::XdrParams;

/// The XDR v2 blocks one indicator becomes (the value key is the `valueType`), or why none.
pub fn xdr(
    record: &IndicatorRecord,
    params: &XdrParams,
    describe: &Describer<'_>,
) -> Result<Vec<Desired>, String> {
    let value_type = ValueType::for_kind(record.kind).map_err(|error| error.to_string())?;
    Ok(vision_one_values(record, params.url_scheme)?
        .into_iter()
        .map(|value| Desired {
            kind: record.kind,
            attributes: ObjectAttributes::new(value_type.as_str(), describe.describe(record)),
            value: value.value().to_owned(),
        })
        .collect())
}
