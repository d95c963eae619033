//! Applying a plan to an HTTP template target: one call per new or changed object.

use indicator::Kind;
use store::LibraryBackend;
use trendmicro::http_template::{Fields, HttpTemplateClient};

use crate::claims::Write;
use crate::error::EngineError;
use crate::mapping::ObjectAttributes;
use crate::plan::Plan;
use crate::report::{Progress, RunReport};
use crate::targets::objects::{Decided, IN_FLIGHT, ItemError, one_at_a_time};

/// Applies an HTTP template plan: one call per new or changed object, the ledger updated after
/// each answered call. An object whose last claim goes is undone through the removal template
/// when the target has one (`remove_payload`); without one a webhook has no undo, so the
/// claim is only forgotten.
pub async fn http(
    client: &HttpTemplateClient,
    plan: &Plan,
    library: &mut dyn LibraryBackend,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), EngineError> {
    let key_of = |kind: Kind| Some(kind.as_str().to_owned());
    let extra = std::collections::BTreeMap::new();
    let send = async |d: &Decided<'_>| {
        let (attributes, remove) = match &d.write {
            Write::Create(attributes) | Write::Update(attributes) => (attributes.clone(), false),
            Write::Delete if client.can_remove() => {
                let old = d.work.change.attributes.object().map_or_else(
                    |_| ObjectAttributes::new(String::new(), String::new()),
                    std::borrow::Cow::into_owned,
                );
                (old, true)
            }
            Write::Delete | Write::Nothing => return Ok(None),
        };
        let fields = Fields {
            value: &d.work.change.value,
            kind: d.work.change.kind.as_str(),
            score: attributes.score,
            description: &attributes.description,
            tags: &[],
            extra: &extra,
        };
        let answer = if remove {
            client.remove(&fields).await
        } else {
            client.send(&fields).await
        };
        answer.map(|_| None).map_err(ItemError::of)
    };
    one_at_a_time(plan, library, progress, report, &key_of, IN_FLIGHT, &send).await
}
