//! One-off blocks as XDR v2 tasks: a block, or a restore-block to undo one.

use trendmicro::xdr_v2::{ValueType, XdrV2Client};

use crate::claims::Write;
use crate::oneoff::{Item, Request};

pub(crate) async fn send(
    client: &XdrV2Client,
    product_id: &str,
    item: &Item,
    write: &Write,
    request: &Request<'_>,
) -> Result<Option<String>, String> {
    let value_type = ValueType::for_kind(item.kind).map_err(|error| error.to_string())?;
    let started = match write {
        Write::Create(attributes) => {
            client
                .block(value_type, &item.value, &attributes.description, product_id)
                .await
        }
        Write::Delete => {
            client
                .restore_block(value_type, &item.value, request.description, product_id)
                .await
        }
        // XDR v2 blocks carry nothing to update.
        Write::Update(_) | Write::Nothing => return Ok(None),
    };
    started
        .map(|action| Some(action.0))
        .map_err(|error| error.to_string())
}
