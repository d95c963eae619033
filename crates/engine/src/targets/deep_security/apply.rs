//! Applying a plan to Deep Security IP lists: one write per changed part, each followed by
//! its ledger update; parts are different lists, so up to `overlap` are written at once. Parts are written whole and placed deterministically, so a process killed
//! anywhere leaves the ledger an exact copy of the truth. Only lists this library made (or
//! adopted on purpose) are written; entries a console user added are kept unless the part
//! clears the list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indicator::Kind;
use store::{LedgerEntry, LibraryBackend};
use trendmicro::deep_security::{DeepSecurityClient, IpList, MAX_IP_LISTS};

use crate::error::EngineError;
use crate::marker::{Maker, Marker};
use crate::plan::{Change, Plan};
use crate::report::{Progress, RunReport};

use super::packing::{PartWrite, item_kind, part_attributes, part_of};

/// Everything a Deep Security apply needs besides the plan.
pub struct DeepSecurity<'a> {
    pub client: &'a DeepSecurityClient,
    pub target: &'a str,
    pub marker: &'a Marker,
    /// Take over a list of the configured name that iocsync did not create.
    pub adopt_existing: bool,
    /// Parts written at once (the target's `max_concurrency`).
    pub overlap: usize,
}

/// Applies a Deep Security plan: one write per changed part, each followed by its ledger
/// update. Parts are different lists, so up to `overlap` of them are written at once; their
/// answers are recorded in part order.
pub async fn deep_security(
    ds: &DeepSecurity<'_>,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let mut directory = None;
    let by_part = ByPart::of(plan);
    for window in plan.parts.chunks(ds.overlap.max(1)) {
        if report.stop_requested(progress) {
            return Ok(());
        }
        if directory.is_none() && window.iter().any(|part| part.list_id.is_none()) {
            match Directory::read(ds.client).await {
                Ok(read) => directory = Some(read),
                Err(error) => {
                    let stop = error.stops_target();
                    report.errors.push(format!("{}: {error}", window[0].name));
                    if stop {
                        report.halted = Some(error.to_string());
                        return Ok(());
                    }
                    continue;
                }
            }
        }
        let mut creating = 0;
        let writes: Vec<_> = window
            .iter()
            .map(|part| {
                let before = creating;
                creating += usize::from(part.list_id.is_none());
                write_part(ds, part, directory.as_ref(), before)
            })
            .collect();
        let results = futures::future::join_all(writes).await;
        for (part, result) in window.iter().zip(results) {
            let changes = by_part.get(part.index);
            if !settle_part(
                library,
                plan,
                changes,
                part,
                result,
                directory.as_mut(),
                report,
            )? {
                return Ok(());
            }
            progress.advance(1);
        }
    }
    Ok(())
}

/// Records one part's answer; `false` when the run must stop.
fn settle_part(
    library: &mut dyn LibraryBackend,
    plan: &Plan,
    changes: &PartChanges<'_>,
    part: &PartWrite,
    result: Result<Written, PartError>,
    directory: Option<&mut Directory>,
    report: &mut RunReport,
) -> Result<bool, EngineError> {
    match result {
        Ok(written) => {
            if written.kept > 0 {
                report.notes.push(format!(
                    "{}: kept {} entries someone else added to the list",
                    part.name, written.kept
                ));
            }
            if let (Some(list), Some(directory)) = (written.created, directory) {
                directory.count += 1;
                directory
                    .lists
                    .entry(list.name.clone())
                    .or_default()
                    .push(list);
            }
            record_part(library, plan, changes, part, written.id, report)?;
            Ok(true)
        }
        Err(PartError::Foreign(error)) => {
            report.halted = Some(error.to_string());
            Ok(false)
        }
        Err(PartError::Target(error)) => {
            let stop = error.stops_target();
            if stop {
                report.halted = Some(error.to_string());
            } else {
                // Each value the part would have added or removed failed with it.
                let message = format!("IP list {} not written: {error}", part.name);
                for change in changes.adds.iter().chain(&changes.removals) {
                    report.fail(change, &message);
                }
            }
            Ok(!stop)
        }
    }
}

/// What writing one part did.
struct Written {
    /// The list's ID (`None` for an empty part that does not exist).
    id: Option<u32>,
    /// Entries someone else added, kept.
    kept: usize,
    /// The list, when this write created it.
    created: Option<IpList>,
}

/// Why a part was not written.
enum PartError {
    Target(trendmicro::Error),
    /// A list of the part's name that iocsync may not touch: the run stops.
    Foreign(EngineError),
}

impl From<trendmicro::Error> for PartError {
    fn from(error: trendmicro::Error) -> Self {
        PartError::Target(error)
    }
}

/// The manager's IP lists by exact name, and how many there are (for the 5,000-list cap).
/// Read with one page walk the first time a part's ID is unknown: a first sync then costs one
/// walk plus one write per part, not one search per part besides.
struct Directory {
    lists: HashMap<String, Vec<IpList>>,
    count: usize,
}

impl Directory {
    async fn read(client: &DeepSecurityClient) -> Result<Directory, trendmicro::Error> {
        let all = client.list_all().await?;
        let count = all.len();
        let mut lists: HashMap<String, Vec<IpList>> = HashMap::new();
        for list in all {
            lists.entry(list.name.clone()).or_default().push(list);
        }
        Ok(Directory { lists, count })
    }

    /// The list named exactly `name`; several of them is an error (managing one is a guess).
    fn find(&self, name: &str) -> Result<Option<&IpList>, trendmicro::Error> {
        match self.lists.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([list]) => Ok(Some(list)),
            Some(lists) => Err(trendmicro::Error::DuplicateListName {
                name: name.to_owned(),
                count: lists.len(),
                ids: lists.iter().map(|l| l.id).collect(),
            }),
        }
    }
}

/// The description iocsync gives the IP lists it creates.
fn list_description(marker: &Marker) -> String {
    format!(
        "{} managed list: iocsync adds and removes its own entries; entries added here are kept (a manual run with clear_on_manual_run removes them)",
        marker.text()
    )
}

/// Writes one part in place (found by ID, else by exact name — only a list this library made,
/// or one adopted on purpose — else created). `creating_before` is how many parts of the same
/// window create a list before this one (they count against the 5,000-list cap).
async fn write_part(
    ds: &DeepSecurity<'_>,
    part: &PartWrite,
    directory: Option<&Directory>,
    creating_before: usize,
) -> Result<Written, PartError> {
    let written = |id, kept| Written {
        id,
        kept,
        created: None,
    };
    if let Some(id) = part.list_id {
        let kept = rewrite(ds, part, id, None).await?;
        return Ok(written(Some(id), kept));
    }
    // A part without an ID is written only once the directory was read.
    let Some(lists) = directory else {
        return Ok(written(None, 0));
    };
    if let Some(list) = lists.find(&part.name)? {
        let id = list.id;
        let maker = ds.marker.maker(list.description.as_deref());
        if maker != Maker::ThisLibrary && !ds.adopt_existing {
            return Err(PartError::Foreign(EngineError::ForeignList {
                target: ds.target.to_owned(),
                name: part.name.clone(),
                id,
                maker: maker.describe(),
            }));
        }
        let description = (maker != Maker::ThisLibrary).then(|| list_description(ds.marker));
        let kept = rewrite(ds, part, id, description.as_deref()).await?;
        return Ok(written(Some(id), kept));
    }
    if part.items.is_empty() {
        return Ok(written(None, 0));
    }
    if lists.count + creating_before >= MAX_IP_LISTS {
        return Err(PartError::Target(trendmicro::Error::CapReached {
            product: trendmicro::deep_security::PRODUCT,
            message: format!(
                "the manager already holds {} IP lists",
                lists.count + creating_before
            ),
        }));
    }
    let list = ds
        .client
        .create_list(&part.name, &list_description(ds.marker), &part.items)
        .await?;
    Ok(Written {
        id: Some(list.id),
        kept: 0,
        created: Some(list),
    })
}

/// Writes iocsync's entries of a part into list `id`, keeping the entries someone else added
/// (unless the part clears the list); returns how many were kept.
async fn rewrite(
    ds: &DeepSecurity<'_>,
    part: &PartWrite,
    id: u32,
    description: Option<&str>,
) -> Result<usize, trendmicro::Error> {
    let mut items = part.items.clone();
    let mut kept = 0;
    let ours_description = list_description(ds.marker);
    let mut description = description.map(str::to_owned);
    if part.clear {
        description.get_or_insert(ours_description);
    } else {
        let ours: std::collections::HashSet<&String> =
            part.items.iter().chain(&part.ours_before).collect();
        let list = ds.client.describe(id).await?;
        // A list adopted from a lost library gets this library's marker.
        if ds.marker.maker(list.description.as_deref()) != Maker::ThisLibrary {
            description.get_or_insert(ours_description);
        }
        for item in list.items {
            if !ours.contains(&item) {
                items.push(item);
                kept += 1;
            }
        }
    }
    ds.client
        .modify_items(id, &items, description.as_deref())
        .await?;
    Ok(kept)
}

/// The plan's adds and removals that fall in `part`.
/// The plan's adds and removals of one part.
#[derive(Default)]
struct PartChanges<'p> {
    adds: Vec<&'p Change>,
    removals: Vec<&'p Change>,
}

/// The plan's changes grouped by part once, so recording a part costs its own changes, not
/// the whole plan's (a first sync of a million items writes hundreds of parts).
struct ByPart<'p> {
    parts: HashMap<u32, PartChanges<'p>>,
    none: PartChanges<'p>,
}

impl<'p> ByPart<'p> {
    fn of(plan: &'p Plan) -> Self {
        let mut parts: HashMap<u32, PartChanges<'p>> = HashMap::new();
        let part_of = |change: &Change| part_of(&change.attributes.json());
        for change in &plan.adds {
            if let Some(part) = part_of(change) {
                parts.entry(part).or_default().adds.push(change);
            }
        }
        for change in &plan.removals {
            if let Some(part) = part_of(change) {
                parts.entry(part).or_default().removals.push(change);
            }
        }
        ByPart {
            parts,
            none: PartChanges::default(),
        }
    }

    fn get(&self, index: u32) -> &PartChanges<'p> {
        self.parts.get(&index).unwrap_or(&self.none)
    }
}

fn record_part(
    library: &mut dyn LibraryBackend,
    plan: &Plan,
    changes: &PartChanges<'_>,
    part: &PartWrite,
    id: Option<u32>,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let now: DateTime<Utc> = plan.at;
    let entries: Vec<LedgerEntry> = part
        .items
        .iter()
        .map(|item| LedgerEntry {
            key: plan.ledger.clone(),
            space: plan.space.clone(),
            kind: item_kind(item),
            value: item.clone(),
            attributes: part_attributes(part.index),
            remote_id: id.map(|id| id.to_string()),
            pushed_at: now,
        })
        .collect();
    let gone: Vec<(Kind, String)> = changes
        .removals
        .iter()
        .map(|c| (c.kind, c.value.clone()))
        .collect();
    library.ledger_apply(&plan.ledger, &entries, &gone)?;
    report.added += changes.adds.len();
    report.removed += gone.len();
    Ok(())
}

/// The contents of the parts the ledger knows, for `--verify` (part index → items).
pub async fn read_parts(
    client: &DeepSecurityClient,
    params: &config::IpListParams,
    _ledger_key: &str,
    ledger: &[LedgerEntry],
) -> Result<HashMap<u32, Vec<String>>, EngineError> {
    let mut parts = HashMap::new();
    let indexes: std::collections::BTreeSet<u32> = ledger
        .iter()
        .filter_map(|e| part_of(&e.attributes))
        .collect();
    for index in indexes {
        if let Some(list) = client
            .find_list_by_name(&super::packing::part_name(&params.list_name, index))
            .await?
        {
            parts.insert(index, list.items);
        }
    }
    Ok(parts)
}
