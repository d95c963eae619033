//! Reading the UDSO list back: all of it for `--verify`, or each value a run is about to add
//! (one filtered query per value, several at once), so that an object a person or another tool made is found
//! before it could be overwritten. Who made an object is read from its notes' marker.

use futures::{StreamExt, stream};
use trendmicro::apex_central::{ApexCentralClient, ScanAction, Udso};

use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::marker::Marker;
use crate::plan::{Change, Remote, RemoteObject};
use crate::targets::objects::IN_FLIGHT;

/// Every object on the list.
pub async fn whole_list(
    client: &ApexCentralClient,
    marker: &Marker,
) -> Result<Remote, EngineError> {
    let mut remote = Remote {
        complete: true,
        ..Remote::default()
    };
    for udso in client.list(None, None).await? {
        let content = udso.content.clone();
        put(&mut remote, marker, udso, content);
    }
    Ok(remote)
}

/// The objects on the list among the values of `changes`, looked up `IN_FLIGHT` at a time
/// (Apex Central finds one content per query).
pub async fn look_up(
    client: &ApexCentralClient,
    marker: &Marker,
    changes: &[&Change],
) -> Result<Remote, EngineError> {
    let wanted = changes.iter().filter_map(|change| {
        let attributes = change.attributes.object().ok()?;
        let kind = super::mapping::udso_type(&attributes.key)?;
        Some((kind, change.value.as_str()))
    });
    let mut found = stream::iter(wanted)
        .map(|(kind, value)| async move { (value, client.find(kind, value).await) })
        .buffer_unordered(IN_FLIGHT);
    let mut remote = Remote::default();
    while let Some((value, answer)) = found.next().await {
        // Under the value looked up: Apex Central matches hashes and domains in any case.
        if let Some(udso) = answer? {
            put(&mut remote, marker, udso, value.to_owned());
        }
    }
    Ok(remote)
}

fn put(remote: &mut Remote, marker: &Marker, udso: Udso, value: String) {
    let scan_action = match udso.scan_action {
        ScanAction::Log => Some(trendmicro::vision_one::ScanAction::Log),
        ScanAction::Block => Some(trendmicro::vision_one::ScanAction::Block),
        // Quarantine is a file action iocsync never asks for: read as neither, so an update
        // would be planned only for iocsync's own object.
        ScanAction::Quarantine => None,
    };
    let attributes = ObjectAttributes {
        scan_action,
        ..ObjectAttributes::new(udso.kind.as_str(), udso.notes)
    };
    let maker = marker.maker(Some(&attributes.description));
    remote.objects.insert(
        (attributes.key.clone(), value),
        RemoteObject { attributes, maker },
    );
}
