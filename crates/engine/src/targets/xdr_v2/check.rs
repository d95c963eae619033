//! Checks of an XDR v2 target: a task that does not exist is asked for (the API has no health
//! check); with `--write`, a harmless value blocked and restored at once.

use trendmicro::xdr_v2::{ActionId, ValueType, XdrV2Client};

use crate::targets::check::{CHECK_VALUE, DESCRIPTION, WriteCheck};

/// "Not found" or a refused request proves the host answers and the token is accepted; a bad
/// token, a missing permission or no answer at all is an error.
pub async fn read(client: &XdrV2Client) -> Result<(), trendmicro::Error> {
    match client.get_task(&ActionId("0".to_owned())).await {
        Ok(_) => Ok(()),
        Err(error) if error.stops_target() => Err(error),
        Err(_) => Ok(()),
    }
}

/// Every write permission of an XDR v2 target.
pub async fn writes(client: &XdrV2Client) -> Vec<WriteCheck> {
    vec![WriteCheck::of(
        "response tasks (block / restore)",
        response_task(client).await,
    )]
}

async fn response_task(client: &XdrV2Client) -> Result<(), String> {
    let started = client
        .block(ValueType::Domain, CHECK_VALUE, DESCRIPTION, "iocsync")
        .await
        .map_err(|error| format!("blocking: {error}"))?;
    drop(started);
    client
        .restore_block(ValueType::Domain, CHECK_VALUE, DESCRIPTION, "iocsync")
        .await
        .map(drop)
        .map_err(|error| format!("blocked {CHECK_VALUE} but could not restore it: {error}"))
}
