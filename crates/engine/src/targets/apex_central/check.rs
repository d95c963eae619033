//! `iocsync check --write` on Apex Central: the harmless check value added as a user-defined
//! suspicious object (logged, not blocked, expiring in a day) and removed at once. An object
//! already holding the value is never overwritten: the check then says so and changes nothing.

use trendmicro::apex_central::{ApexCentralClient, ScanAction, Udso, UdsoType};

use crate::targets::check::{CHECK_VALUE, DESCRIPTION, WriteCheck};

/// Every write permission of an Apex Central target.
pub async fn writes(client: &ApexCentralClient) -> Vec<WriteCheck> {
    vec![WriteCheck::of(
        "user-defined suspicious objects (add / remove)",
        add_and_remove(client).await,
    )]
}

async fn add_and_remove(client: &ApexCentralClient) -> Result<(), String> {
    let kind = UdsoType::Domain;
    if let Some(there) = client
        .find(kind, CHECK_VALUE)
        .await
        .map_err(|error| format!("reading: {error}"))?
    {
        return Err(format!(
            "not checked: an object for {CHECK_VALUE} is already on the list (notes: {:?}), and \
             iocsync does not overwrite it",
            there.notes
        ));
    }
    let mut udso = Udso::new(kind, CHECK_VALUE, ScanAction::Log);
    udso.notes = DESCRIPTION.to_owned();
    udso.expires = Some(time::OffsetDateTime::now_utc() + time::Duration::days(1));
    client
        .add(&udso)
        .await
        .map_err(|error| format!("adding: {error}"))?;
    client
        .remove(kind, CHECK_VALUE)
        .await
        .map(drop)
        .map_err(|error| format!("added {CHECK_VALUE} but could not remove it: {error}"))
}
