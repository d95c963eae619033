//! `iocsync adopt WORKFLOW`: rebuilds a lost ledger from the target. The objects on the
//! workflow's list that carry this library's marker (or, with `--from-library`, the marker of
//! the library that was lost) and that no claim knows are recorded as the workflow's claims,
//! without a write; the next run then treats them as its own — keeping what the collection
//! wants (rewritten with this library's marker) and removing the rest within the brake.
//! Objects without a marker, or with another library's, are left alone.

use chrono::{DateTime, Utc};
use serde::Serialize;
use store::LibraryBackend;

use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::marker::Marker;
use config::Config;

/// What `adopt` found and recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdoptReport {
    pub workflow: String,
    /// The library id whose objects were adopted.
    pub library: String,
    /// Objects (or Deep Security entries) recorded as the workflow's claims.
    pub adopted: usize,
    /// Objects with the marker that other claimants already hold: left to them.
    pub already_claimed: usize,
    /// Objects without the marker (foreign, or another library's): left alone.
    pub left_alone: usize,
    pub dry_run: bool,
}

/// Adopts into `workflow`'s ledger the objects of library `from` (default: this library) on
/// its target that no claim knows.
pub async fn adopt(
    config: &Config,
    library: &mut dyn LibraryBackend,
    workflow: &str,
    from: Option<&str>,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<AdoptReport, EngineError> {
    let workflow = config.workflow(workflow)?;
    let target = config.target(&workflow.target)?;
    let id = match from {
        Some(id) => id.to_owned(),
        None => library.library_id()?,
    };
    let marker = Marker::new(&id);
    let mut report = AdoptReport {
        workflow: workflow.name.clone(),
        library: id,
        dry_run,
        ..AdoptReport::default()
    };
    // Under the workflow's lease: a run of the workflow meanwhile would plan against a
    // ledger half rebuilt.
    crate::lease::holding(
        library,
        &workflow.name,
        async |library: &mut dyn LibraryBackend| {
            crate::claims::join_space(library, &workflow.ledger_key(), &workflow.space())?;
            let entries =
                crate::targets::adopt(target, workflow, &*library, &marker, now, &mut report)
                    .await?;
            report.adopted = entries.len();
            if !dry_run {
                library.ledger_apply(&workflow.ledger_key(), &entries, &[])?;
            }
            Ok(())
        },
    )
    .await?;
    Ok(report)
}
