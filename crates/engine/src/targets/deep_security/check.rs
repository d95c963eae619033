//! Checks of a Deep Security target: a search of the lists; with `--write`, a list created and
//! deleted at once.

use trendmicro::deep_security::DeepSecurityClient;

use crate::targets::check::{DESCRIPTION, WriteCheck};

/// The Deep Security list the check creates and deletes.
const CHECK_LIST: &str = "iocsync-permission-check";

/// Every write permission of a Deep Security target.
pub async fn writes(client: &DeepSecurityClient) -> Vec<WriteCheck> {
    vec![WriteCheck::of("IP lists", ip_list(client).await)]
}

async fn ip_list(client: &DeepSecurityClient) -> Result<(), String> {
    // A documentation address (RFC 5737) on a list no rule refers to.
    let items = ["192.0.2.1".to_owned()];
    let list = client
        .create_list(CHECK_LIST, DESCRIPTION, &items)
        .await
        .map_err(|error| format!("creating a list: {error}"))?;
    client.delete_list(list.id).await.map_err(|error| {
        format!(
            "created the list `{CHECK_LIST}` (ID {}) but could not delete it: {error}",
            list.id
        )
    })
}
