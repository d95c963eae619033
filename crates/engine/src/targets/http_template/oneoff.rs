//! One-off sends to an HTTP template target: the payload for a block, the removal template
//! (`remove_payload`) to undo one.

use trendmicro::http_template::{Fields, HttpTemplateClient};

use crate::claims::Write;
use crate::oneoff::{Item, Request, Step};

pub(crate) async fn send(
    client: &HttpTemplateClient,
    item: &Item,
    step: &Step,
    request: &Request<'_>,
) -> Result<Option<String>, String> {
    let description = match &step.write {
        Write::Create(a) | Write::Update(a) => a.description.clone(),
        Write::Delete | Write::Nothing => request.description.to_owned(),
    };
    let fields = Fields {
        value: &item.value,
        kind: item.kind.as_str(),
        score: None,
        description: &description,
        tags: &[],
        extra: request.extra,
    };
    let answer = match step.write {
        Write::Delete if client.can_remove() => client.remove(&fields).await,
        Write::Delete | Write::Nothing => return Ok(None),
        Write::Create(_) | Write::Update(_) => client.send(&fields).await,
    };
    answer.map(|_| None).map_err(|error| error.to_string())
}
