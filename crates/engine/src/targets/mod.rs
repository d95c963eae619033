//! The targets: one folder per product, each with what only that product does — how an
//! indicator maps onto it, how a plan is applied to it, how a one-off value is sent, what is
//! read back. Everything else (claims, plans, the brake, runs) is shared and reaches a target
//! through the exhaustive matches on [`Connection`] (a workflow's target with its parameters)
//! and [`Sender`] (a target acting on single values), so a new target is a new folder, a new
//! variant of each, and the compiler names every place that must learn of it.

pub mod deep_security;
pub mod http_template;
pub mod objects;
pub mod vision_one;
pub mod xdr_v2;

use std::collections::HashMap;
use std::sync::Mutex;

use indicator::Kind;
use store::Library;
use trendmicro::http_template::HttpTemplateClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::{ValueType, XdrV2Client};

use crate::config::{Capacity, Product, Target};
use crate::error::EngineError;
use crate::keys::List;
use crate::oneoff::{Claimer, Item, Request, Step};
use crate::targets::vision_one::mapping::v1_key;

/// A built client for one target that acts on single values.
#[derive(Debug)]
pub enum Sender {
    VisionOne(VisionOneClient),
    XdrV2 {
        client: XdrV2Client,
        product_id: String,
    },
    Http(HttpTemplateClient),
}

impl Sender {
    /// Whether what it sends can be undone: always on Vision One and XDR v2, on an HTTP
    /// target only with a removal template (`remove_payload`).
    pub fn can_undo(&self) -> bool {
        match self {
            Sender::Http(client) => client.can_remove(),
            Sender::VisionOne(_) | Sender::XdrV2 { .. } => true,
        }
    }

    /// Builds the client for `target` (resolving its key). `product_id` is sent with XDR blocks.
    pub fn new(target: &Target, product_id: &str) -> Result<Sender, EngineError> {
        Ok(match target.product {
            Product::VisionOne => Sender::VisionOne(VisionOneClient::new(&target.vision_one()?)?),
            Product::XdrV2 => Sender::XdrV2 {
                client: XdrV2Client::new(&target.xdr_v2()?)?,
                product_id: product_id.to_owned(),
            },
            Product::Http => Sender::Http(HttpTemplateClient::new(&target.http_template()?)?),
            Product::DeepSecurity => {
                return Err(EngineError::WrongProduct {
                    target: target.name.clone(),
                    product: target.product,
                    what: "a one-off block (Deep Security takes whole IP lists: use an ip-list workflow)"
                        .to_owned(),
                });
            }
        })
    }

    /// The room of the list one-off blocks go to (only Vision One lists have a capacity).
    pub fn capacity(&self, target: &Target) -> Option<Capacity> {
        match self {
            Sender::VisionOne(_) => Some(target.suspicious_capacity()),
            Sender::XdrV2 { .. } | Sender::Http(_) => None,
        }
    }

    /// The list one-off blocks go to on this target.
    pub fn list(&self) -> List<'static> {
        match self {
            Sender::VisionOne(_) => List::Suspicious,
            Sender::XdrV2 { .. } => List::XdrBlocks,
            Sender::Http(_) => List::Http,
        }
    }

    /// The value key of a kind on this target's list.
    pub fn key_of(&self, kind: Kind) -> Option<String> {
        match self {
            Sender::VisionOne(_) => v1_key(kind).map(str::to_owned),
            Sender::XdrV2 { .. } => ValueType::for_kind(kind)
                .ok()
                .map(|t| t.as_str().to_owned()),
            Sender::Http(_) => Some(kind.as_str().to_owned()),
        }
    }

    /// The value this target takes for `found`, or why it takes none.
    pub fn accept(&self, found: &indicator::Indicator) -> Result<String, String> {
        match self {
            Sender::VisionOne(_) => vision_one::oneoff::accept(found),
            Sender::XdrV2 { .. } => ValueType::for_kind(found.kind)
                .map(|_| found.value.clone())
                .map_err(|error| error.to_string()),
            Sender::Http(_) => Ok(found.value.clone()),
        }
    }
}

impl Sender {
    /// Sends the writes of `sending` (steps that write); one result per step, in order — the
    /// target's id for it (an XDR action id) or its message — and the error that halted the
    /// rest.
    pub(crate) async fn send(
        &self,
        items: &[Item],
        request: &Request<'_>,
        sending: &[&Step],
    ) -> (Vec<Result<Option<String>, String>>, Option<String>) {
        match self {
            Sender::VisionOne(client) => vision_one::oneoff::send(client, items, sending).await,
            Sender::XdrV2 { client, product_id } => {
                let mut out = Vec::new();
                for step in sending {
                    let item = &items[step.index];
                    out.push(
                        xdr_v2::oneoff::send(client, product_id, item, &step.write, request).await,
                    );
                }
                (out, None)
            }
            Sender::Http(client) => {
                let mut out = Vec::new();
                for step in sending {
                    out.push(
                        http_template::oneoff::send(client, &items[step.index], step, request)
                            .await,
                    );
                }
                (out, None)
            }
        }
    }

    /// The objects already on the target for values of `items` no claim knows (only Vision One
    /// lists can be read back; elsewhere nothing is found).
    pub(crate) async fn look_up(
        &self,
        claimer: &Claimer<'_>,
        library: &Mutex<Library>,
        space: &str,
        items: &[Item],
    ) -> Result<HashMap<String, vision_one::oneoff::Present>, EngineError> {
        match self {
            Sender::VisionOne(client) => {
                vision_one::oneoff::look_up(client, claimer, library, space, items).await
            }
            Sender::XdrV2 { .. } | Sender::Http(_) => Ok(HashMap::new()),
        }
    }

    /// Removes up to `count` of iocsync's workflow objects in `bucket` to make room for
    /// one-off blocks; returns how many went (only Vision One lists have a capacity).
    pub(crate) async fn displace(
        &self,
        claimer: &Claimer<'_>,
        library: &Mutex<Library>,
        capacity: &Capacity,
        bucket: &str,
        count: usize,
        notes: &mut Vec<String>,
    ) -> Result<usize, EngineError> {
        match self {
            Sender::VisionOne(client) => {
                vision_one::oneoff::displace(
                    client, claimer, library, capacity, bucket, count, notes,
                )
                .await
            }
            Sender::XdrV2 { .. } | Sender::Http(_) => Ok(0),
        }
    }
}
