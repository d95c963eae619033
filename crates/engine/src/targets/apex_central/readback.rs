//! Reading the UDSO list back: all of it for `--verify`, or each value a run is about to add
//! (one filtered query per value), so that an object a person or another tool made is found
//! before it could be overwritten. Who made an object is read from its notes' marker.

use trendmicro::apex_central::{ApexCentralClient, ScanAction, Udso};

use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::marker::Marker;
use crate::plan::{Change, Remote, RemoteObject};

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

/// The objects on the list among the values of `changes`.
pub async fn look_up(
    client: &ApexCentralClient,
    marker: &Marker,
    changes: &[&Change],
) -> Result<Remote, EngineError> {
    let mut remote = Remote::default();
    for change in changes {
        let Some(kind) = change
            .attributes
            .get("key")
            .and_then(|key| key.as_str())
            .and_then(super::mapping::udso_type)
        else {
            continue;
        };
        // Under the value looked up: Apex Central matches hashes and domains in any case.
        if let Some(udso) = client.find(kind, &change.value).await? {
            put(&mut remote, marker, udso, change.value.clone());
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
