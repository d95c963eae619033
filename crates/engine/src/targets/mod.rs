//! The targets: one folder per product, each with what only that product does — how an
//! indicator maps onto it, how a plan is applied to it, how a one-off value is sent, what is
//! read back. Everything else (claims, plans, the brake, runs) is shared and reaches a target
//! through the exhaustive matches on [`Connection`] (a workflow's target with its parameters)
//! and [`Sender`] (a target acting on single values), so a new target is a new folder, a new
//! variant of each, and the compiler names every place that must learn of it.

pub mod apex_central;
pub mod check;
pub mod deep_security;
pub mod http_template;
pub mod objects;
pub mod vision_one;
pub mod xdr_v2;

use std::collections::HashMap;
use std::sync::Mutex;

use indicator::Kind;
use store::{IndicatorRecord, LedgerEntry, Library, LibraryBackend};
use trendmicro::CallStats;
use trendmicro::apex_central::{ApexCentralClient, UdsoType};
use trendmicro::deep_security::DeepSecurityClient;
use trendmicro::http_template::HttpTemplateClient;
use trendmicro::vision_one::VisionOneClient;
use trendmicro::xdr_v2::{ValueType, XdrV2Client};

use crate::error::EngineError;
use crate::keys::WorkflowKeys;
use crate::mapping::{self, Desired};
use crate::marker::Marker;
use crate::oneoff::{Claimer, Item, Request, Step};
use crate::plan::{self, Change, Plan, PlanInput, Remote};
use crate::report::{Progress, RunReport};
use crate::targets::vision_one::mapping::v1_key;
use config::{
    BlocklistParams, Capacity, ExceptionParams, HttpParams, IpListParams, Parameters, Product,
    ResponseParams, Settings, Target, VisionOneTarget, Workflow, XdrParams,
    targets::apex_central::UdsoParams,
};

/// A workflow's target, connected: the product's client with the workflow's parameters, one
/// variant per action, so what a run does to its target is decided here and nowhere else.
pub enum Connection<'w> {
    Blocklist(vision_one::Lists, &'w BlocklistParams),
    Exceptions(vision_one::Lists, &'w ExceptionParams),
    IpList(DeepSecurityClient, &'w IpListParams),
    XdrBlock(XdrV2Client, &'w XdrParams),
    ResponseBlock(VisionOneClient, &'w ResponseParams),
    Http(HttpTemplateClient, &'w HttpParams),
    Udso(ApexCentralClient, &'w UdsoParams),
}

/// What a target was read back as.
pub enum ReadBack {
    /// A Vision One list (all of it for `--verify`, or the values looked up before adds).
    Objects(Remote),
    /// Deep Security part contents (part index → items).
    Parts(HashMap<u32, Vec<String>>),
    /// Nothing to read back (XDR v2, webhooks): the ledger is the only record.
    Nothing,
}

impl<'w> Connection<'w> {
    /// Builds the client of `workflow`'s `target` (resolving its credentials). Config pairs
    /// every action with its product's targets (`workflows[i].action` is refused otherwise),
    /// so the last arm answers only a config built around that check.
    pub fn open(target: &Target, workflow: &'w Workflow) -> Result<Connection<'w>, EngineError> {
        Ok(match (&target.settings, &workflow.parameters) {
            (Settings::VisionOne(v1), Parameters::Blocklist(params)) => {
                Connection::Blocklist(vision_one::Lists::open(target, v1)?, params)
            }
            (Settings::VisionOne(v1), Parameters::Exceptions(params)) => {
                Connection::Exceptions(vision_one::Lists::open(target, v1)?, params)
            }
            (Settings::VisionOne(v1), Parameters::ResponseBlock(params)) => {
                Connection::ResponseBlock(VisionOneClient::new(&v1.config(target)?)?, params)
            }
            (Settings::DeepSecurity(ds), Parameters::IpList(params)) => {
                Connection::IpList(DeepSecurityClient::new(&ds.config(target)?)?, params)
            }
            (Settings::XdrV2(xdr), Parameters::XdrBlock(params)) => {
                Connection::XdrBlock(XdrV2Client::new(&xdr.config(target)?)?, params)
            }
            (Settings::Http(http), Parameters::Http(params)) => {
                Connection::Http(HttpTemplateClient::new(&http.config(target))?, params)
            }
            (Settings::ApexCentral(apex), Parameters::Udso(params)) => {
                Connection::Udso(ApexCentralClient::new(&apex.config(target)?)?, params)
            }
            (_, parameters) => {
                return Err(EngineError::WrongProduct {
                    target: target.name.clone(),
                    product: target.product(),
                    what: format!("action {:?}", parameters.action()),
                });
            }
        })
    }

    /// The calls made so far.
    pub fn stats(&self) -> CallStats {
        match self {
            Connection::Blocklist(lists, _) | Connection::Exceptions(lists, _) => {
                lists.client.stats()
            }
            Connection::IpList(client, _) => client.stats(),
            Connection::XdrBlock(client, _) => client.stats(),
            Connection::ResponseBlock(client, _) => client.stats(),
            Connection::Http(client, _) => client.stats(),
            Connection::Udso(client, _) => client.stats(),
        }
    }

    /// Everything the target holds for the workflow (`--verify`).
    pub async fn read_back(
        &self,
        workflow: &Workflow,
        marker: &Marker,
        ledger: &[LedgerEntry],
    ) -> Result<ReadBack, EngineError> {
        Ok(match self {
            Connection::Blocklist(lists, _) => ReadBack::Objects(
                vision_one::readback::whole_list(
                    &lists.client,
                    vision_one::Kind::Suspicious,
                    marker,
                )
                .await?,
            ),
            Connection::Exceptions(lists, _) => ReadBack::Objects(
                vision_one::readback::whole_list(
                    &lists.client,
                    vision_one::Kind::Exceptions,
                    marker,
                )
                .await?,
            ),
            Connection::IpList(client, params) => ReadBack::Parts(
                deep_security::apply::read_parts(client, params, &workflow.ledger_key(), ledger)
                    .await?,
            ),
            Connection::Udso(client, _) => {
                ReadBack::Objects(apex_central::readback::whole_list(client, marker).await?)
            }
            // Response blocks land on the suspicious-object list (with the tenant's own scan
            // action and risk level, which their claims leave open): verified there.
            Connection::ResponseBlock(client, _) => ReadBack::Objects(
                vision_one::readback::whole_list(client, vision_one::Kind::Suspicious, marker)
                    .await?,
            ),
            Connection::XdrBlock(..) | Connection::Http(..) => ReadBack::Nothing,
        })
    }

    /// The objects already on the target among `adds` (values a plan would add that no claim
    /// knows): only Vision One lists can tell; elsewhere `None`.
    pub async fn look_up(
        &self,
        marker: &Marker,
        adds: &[&Change],
    ) -> Result<Option<Remote>, EngineError> {
        Ok(match self {
            Connection::Blocklist(lists, _) => Some(
                vision_one::readback::look_up(
                    &lists.client,
                    vision_one::Kind::Suspicious,
                    marker,
                    adds,
                )
                .await?,
            ),
            Connection::Exceptions(lists, _) => Some(
                vision_one::readback::look_up(
                    &lists.client,
                    vision_one::Kind::Exceptions,
                    marker,
                    adds,
                )
                .await?,
            ),
            Connection::ResponseBlock(client, _) => Some(
                vision_one::readback::look_up(client, vision_one::Kind::Suspicious, marker, adds)
                    .await?,
            ),
            Connection::Udso(client, _) => {
                Some(apex_central::readback::look_up(client, marker, adds).await?)
            }
            Connection::IpList(..) | Connection::XdrBlock(..) | Connection::Http(..) => None,
        })
    }

    /// Sends `plan` and records what the target confirmed.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(
        &self,
        target: &Target,
        workflow: &Workflow,
        marker: &Marker,
        plan: &Plan,
        library: &mut dyn LibraryBackend,
        progress: &dyn Progress,
        report: &mut RunReport,
    ) -> Result<(), EngineError> {
        match self {
            Connection::Blocklist(lists, _) => {
                let destination = lists.destination(vision_one::Kind::Suspicious);
                vision_one::apply::vision_one(&destination, plan, library, progress, report).await
            }
            Connection::Exceptions(lists, _) => {
                let destination = lists.destination(vision_one::Kind::Exceptions);
                vision_one::apply::vision_one(&destination, plan, library, progress, report).await
            }
            Connection::IpList(client, _) => {
                let destination = deep_security::apply::DeepSecurity {
                    client,
                    target: &target.name,
                    marker,
                    adopt_existing: workflow.adopt_existing,
                    overlap: target.max_concurrency(),
                };
                deep_security::apply::deep_security(&destination, plan, library, progress, report)
                    .await
            }
            Connection::XdrBlock(client, params) => {
                xdr_v2::apply::xdr(client, params, plan, library, progress, report).await
            }
            Connection::ResponseBlock(client, params) => {
                vision_one::response::response(client, params, plan, library, progress, report)
                    .await
            }
            Connection::Http(client, _) => {
                http_template::apply::http(client, plan, library, progress, report).await
            }
            Connection::Udso(client, _) => {
                apex_central::apply::udso(client, plan, library, progress, report).await
            }
        }
    }

    /// The Vision One client of a Vision One list (what `iocsync why --live` reads).
    pub fn vision_one(&self) -> Option<&VisionOneClient> {
        match self {
            Connection::Blocklist(lists, _) | Connection::Exceptions(lists, _) => {
                Some(&lists.client)
            }
            Connection::ResponseBlock(client, _) => Some(client),
            Connection::IpList(..)
            | Connection::XdrBlock(..)
            | Connection::Http(..)
            | Connection::Udso(..) => None,
        }
    }

    /// How many steps the progress bar counts: parts on Deep Security, changes elsewhere.
    pub fn steps(&self, plan: &Plan) -> usize {
        match self {
            Connection::IpList(..) => plan.parts.len(),
            Connection::Blocklist(..)
            | Connection::Exceptions(..)
            | Connection::XdrBlock(..)
            | Connection::ResponseBlock(..)
            | Connection::Http(..)
            | Connection::Udso(..) => plan.changes(),
        }
    }
}

/// The room of a workflow's list (Vision One lists only).
pub fn capacity(target: &Target, parameters: &Parameters) -> Option<Capacity> {
    let v1 = vision_one_settings(target);
    match parameters {
        Parameters::Blocklist(_) | Parameters::ResponseBlock(_) => {
            v1.map(VisionOneTarget::suspicious_capacity)
        }
        Parameters::Exceptions(_) => v1.map(VisionOneTarget::exception_capacity),
        Parameters::IpList(_)
        | Parameters::XdrBlock(_)
        | Parameters::Http(_)
        | Parameters::Udso(_) => None,
    }
}

/// How full one bucket of a target's list is: the objects iocsync's claims hold there against
/// the product's room (the status page and `/metrics` show it; a list near its cap is where a
/// product starts evicting by itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Room {
    /// The list (`suspicious`, `exceptions`).
    pub list: &'static str,
    /// The object type the cap counts (`ip`, `domain`, ...), or `all` for a whole-list cap.
    pub bucket: String,
    pub held: u64,
    pub capacity: u64,
}

impl Room {
    /// Whether the bucket is 90% full or more.
    pub fn nearly_full(&self) -> bool {
        self.held * 10 >= self.capacity * 9
    }
}

/// The room of each capped list of `target` (Vision One lists; the other products publish no
/// cap iocsync could count against).
pub fn rooms(target: &Target, library: &dyn LibraryBackend) -> Result<Vec<Room>, EngineError> {
    match &target.settings {
        Settings::VisionOne(v1) => {
            let suspicious = (List::Suspicious, "suspicious", v1.suspicious_capacity());
            let exceptions = (List::Exceptions, "exceptions", v1.exception_capacity());
            let mut rooms = Vec::new();
            for (list, name, capacity) in [suspicious, exceptions] {
                rooms.extend(rooms_of(library, &target.name, list, name, &capacity)?);
            }
            Ok(rooms)
        }
        Settings::DeepSecurity(_)
        | Settings::XdrV2(_)
        | Settings::Http(_)
        | Settings::ApexCentral(_) => Ok(Vec::new()),
    }
}

fn rooms_of(
    library: &dyn LibraryBackend,
    target: &str,
    list: List<'_>,
    name: &'static str,
    capacity: &Capacity,
) -> Result<Vec<Room>, EngineError> {
    let mut held: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (kind, count) in library.space_counts(&crate::keys::space(target, list))? {
        *held
            .entry(crate::budget::bucket_of_kind(capacity, kind))
            .or_default() += count;
    }
    Ok(held
        .into_iter()
        .map(|(bucket, held)| Room {
            list: name,
            bucket: if bucket.is_empty() {
                "all".to_owned()
            } else {
                bucket
            },
            held,
            capacity: capacity.capacity as u64,
        })
        .collect())
}

/// A Vision One target's settings (`None` for the other products).
fn vision_one_settings(target: &Target) -> Option<&VisionOneTarget> {
    match &target.settings {
        Settings::VisionOne(v1) => Some(v1),
        Settings::DeepSecurity(_)
        | Settings::XdrV2(_)
        | Settings::Http(_)
        | Settings::ApexCentral(_) => None,
    }
}

/// The value key a claim without one (older one-off blocks) gets on a workflow's list.
pub fn key_of(parameters: &Parameters, kind: Kind) -> Option<String> {
    match parameters {
        Parameters::XdrBlock(_) => ValueType::for_kind(kind)
            .ok()
            .map(|t| t.as_str().to_owned()),
        Parameters::Http(_) => Some(kind.as_str().to_owned()),
        Parameters::Udso(_) => UdsoType::for_kind(kind).ok().map(|t| t.as_str().to_owned()),
        Parameters::Blocklist(_)
        | Parameters::Exceptions(_)
        | Parameters::ResponseBlock(_)
        | Parameters::IpList(_) => v1_key(kind).map(str::to_owned),
    }
}

/// A list on a target that objects live in; every claim on one object shares its space
/// ([`crate::keys::space`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List<'a> {
    /// Vision One's suspicious-object list.
    Suspicious,
    /// Vision One's exception list.
    Exceptions,
    /// XDR v2 blocks.
    XdrBlocks,
    /// What an HTTP template target was sent.
    Http,
    /// A Deep Security IP-list family `<name>_0`, `<name>_1`, ...
    IpList(&'a str),
    /// Apex Central's user-defined suspicious objects.
    Udso,
}

impl List<'_> {
    /// Its name in a space key (the part after `#`); kept as first written, so existing
    /// libraries read the same.
    pub fn name(&self) -> String {
        match self {
            List::Suspicious => "suspicious".to_owned(),
            List::Exceptions => "exceptions".to_owned(),
            List::XdrBlocks => "xdr-blocks".to_owned(),
            List::Http => "http".to_owned(),
            List::IpList(name) => format!("ip-list:{name}"),
            List::Udso => "udso".to_owned(),
        }
    }
}

/// A built client for one target that acts on single values.
#[derive(Debug)]
pub enum Sender {
    VisionOne(VisionOneClient),
    /// Vision One v3 response blocks ("Add to block list"), their tasks followed up to
    /// `task_timeout`; the objects land on the suspicious-object list.
    Response {
        client: VisionOneClient,
        task_timeout: std::time::Duration,
    },
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
            Sender::VisionOne(_) | Sender::Response { .. } | Sender::XdrV2 { .. } => true,
        }
    }

    /// Builds the client for `target` (resolving its key). `product_id` is sent with XDR
    /// blocks; `response` makes a Vision One target block through v3 response tasks instead
    /// of writing the suspicious-object list.
    pub fn new(target: &Target, product_id: &str, response: bool) -> Result<Sender, EngineError> {
        if response && target.product() != Product::VisionOne {
            return Err(EngineError::WrongProduct {
                target: target.name.clone(),
                product: target.product(),
                what: "v3 response blocks (a Vision One action)".to_owned(),
            });
        }
        Ok(match &target.settings {
            Settings::VisionOne(v1) if response => Sender::Response {
                client: VisionOneClient::new(&v1.config(target)?)?,
                task_timeout: ONE_OFF_TASK_TIMEOUT,
            },
            Settings::VisionOne(v1) => {
                Sender::VisionOne(VisionOneClient::new(&v1.config(target)?)?)
            }
            Settings::XdrV2(xdr) => Sender::XdrV2 {
                client: XdrV2Client::new(&xdr.config(target)?)?,
                product_id: product_id.to_owned(),
            },
            Settings::Http(http) => Sender::Http(HttpTemplateClient::new(&http.config(target))?),
            Settings::DeepSecurity(_) => {
                return Err(EngineError::WrongProduct {
                    target: target.name.clone(),
                    product: target.product(),
                    what: "a one-off block (Deep Security takes whole IP lists: use an ip-list workflow)"
                        .to_owned(),
                });
            }
            Settings::ApexCentral(_) => {
                return Err(EngineError::WrongProduct {
                    target: target.name.clone(),
                    product: target.product(),
                    what: "a one-off block (not wired for Apex Central yet: use a udso workflow)"
                        .to_owned(),
                });
            }
        })
    }

    /// The room of the list one-off blocks go to (only Vision One lists have a capacity).
    pub fn capacity(&self, target: &Target) -> Option<Capacity> {
        match self {
            Sender::VisionOne(_) | Sender::Response { .. } => {
                vision_one_settings(target).map(|v1| v1.suspicious_capacity())
            }
            Sender::XdrV2 { .. } | Sender::Http(_) => None,
        }
    }

    /// The list one-off blocks go to on this target.
    pub fn list(&self) -> List<'static> {
        match self {
            Sender::VisionOne(_) | Sender::Response { .. } => List::Suspicious,
            Sender::XdrV2 { .. } => List::XdrBlocks,
            Sender::Http(_) => List::Http,
        }
    }

    /// The value key of a kind on this target's list.
    pub fn key_of(&self, kind: Kind) -> Option<String> {
        match self {
            Sender::VisionOne(_) | Sender::Response { .. } => v1_key(kind).map(str::to_owned),
            Sender::XdrV2 { .. } => ValueType::for_kind(kind)
                .ok()
                .map(|t| t.as_str().to_owned()),
            Sender::Http(_) => Some(kind.as_str().to_owned()),
        }
    }

    /// The value this target takes for `found`, or why it takes none.
    pub fn accept(&self, found: &indicator::Indicator) -> Result<String, String> {
        match self {
            Sender::VisionOne(_) | Sender::Response { .. } => vision_one::oneoff::accept(found),
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
            Sender::Response {
                client,
                task_timeout,
            } => vision_one::response::send(client, *task_timeout, items, sending).await,
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
            Sender::VisionOne(client) | Sender::Response { client, .. } => {
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
            Sender::VisionOne(client) | Sender::Response { client, .. } => {
                vision_one::oneoff::displace(
                    client, claimer, library, capacity, bucket, count, notes,
                )
                .await
            }
            Sender::XdrV2 { .. } | Sender::Http(_) => Ok(0),
        }
    }
}

/// How long a one-off or trigger block waits for its v3 response task.
const ONE_OFF_TASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What a plan wants on a per-object target, mapped and capped, before the list's budget.
pub struct Wanted {
    pub desired: Vec<Desired>,
    /// How long before its expiry an object is rewritten (Vision One blocklists).
    pub renew_within: Option<chrono::Duration>,
    pub objects_per_run: Option<usize>,
}

/// Maps `allowed` (guarded members in priority order) onto the workflow's action: the objects
/// a per-object target should hold, or `None` for a Deep Security IP list, whose parts the
/// packing plans whole (into `plan`).
pub fn wanted(
    workflow: &Workflow,
    allowed: &[&IndicatorRecord],
    input: &PlanInput<'_>,
    describe: &mapping::Describer<'_>,
    plan: &mut Plan,
) -> Option<Wanted> {
    let parameters = &workflow.parameters;
    if let Parameters::IpList(params) = parameters {
        deep_security::packing::plan_ip_list(workflow, params, allowed, input, plan);
        return None;
    }
    let desired = plan::map_all(allowed, plan, |r| {
        objects(parameters, r, describe).unwrap_or_else(|| Ok(Vec::new()))
    });
    let desired = match cap(parameters) {
        Some(Cap { per_type, objects }) => plan::cap(desired, |_| per_type, objects, plan),
        None => desired,
    };
    Some(Wanted {
        desired,
        renew_within: renew_within(parameters),
        objects_per_run: objects_per_run(parameters),
    })
}

/// The objects one member becomes under a per-object action, or why it becomes none; `None`
/// for a Deep Security IP list (the packing maps its members).
pub fn objects(
    parameters: &Parameters,
    record: &IndicatorRecord,
    describe: &mapping::Describer<'_>,
) -> Option<Result<Vec<Desired>, String>> {
    Some(match parameters {
        Parameters::Blocklist(params) => vision_one::mapping::blocklist(record, params, describe),
        Parameters::Exceptions(params) => vision_one::mapping::exceptions(record, params, describe),
        Parameters::ResponseBlock(params) => {
            vision_one::mapping::described(record, params.url_scheme, describe)
        }
        Parameters::Udso(params) => apex_central::mapping::udso(record, params, describe),
        Parameters::XdrBlock(params) => xdr_v2::mapping::xdr(record, params, describe),
        Parameters::Http(_) => Ok(vec![http_template::mapping::http(record, describe)]),
        Parameters::IpList(_) => return None,
    })
}

/// A workflow's own cap: at most `objects` of each value key (`per_type`) or in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub per_type: bool,
    pub objects: usize,
}

/// The workflow's cap, for the actions that have one.
pub fn cap(parameters: &Parameters) -> Option<Cap> {
    let (per_type, objects) = match parameters {
        Parameters::Blocklist(params) => (true, params.cap_per_type),
        Parameters::ResponseBlock(params) => (true, params.cap_per_type),
        Parameters::Exceptions(params) => (false, params.cap),
        Parameters::Udso(params) => (false, params.cap),
        Parameters::IpList(_) | Parameters::XdrBlock(_) | Parameters::Http(_) => return None,
    };
    Some(Cap { per_type, objects })
}

/// Whether the action takes values of `kind` at all, or why not (the reason its mapping gives
/// every member of the kind), so a capped read need not read a kind that is all skips.
pub fn takes(parameters: &Parameters, kind: Kind) -> Result<(), String> {
    let v1 = || {
        trendmicro::vision_one::ObjectValue::for_indicator(kind, String::new())
            .map(drop)
            .map_err(|error| error.to_string())
    };
    match parameters {
        Parameters::Blocklist(_) | Parameters::Exceptions(_) | Parameters::ResponseBlock(_) => v1(),
        Parameters::Udso(_) => UdsoType::for_kind(kind)
            .map(drop)
            .map_err(|error| error.to_string())
            .and_then(|()| v1()),
        Parameters::IpList(_) | Parameters::XdrBlock(_) | Parameters::Http(_) => Ok(()),
    }
}

fn objects_per_run(parameters: &Parameters) -> Option<usize> {
    match parameters {
        Parameters::Blocklist(params) => params.objects_per_run,
        Parameters::Exceptions(params) => params.objects_per_run,
        Parameters::ResponseBlock(params) => params.objects_per_run,
        Parameters::Udso(params) => params.objects_per_run,
        Parameters::XdrBlock(params) => params.objects_per_run,
        Parameters::Http(params) => params.objects_per_run,
        Parameters::IpList(_) => None,
    }
}

/// How long before its expiry an object of this action is rewritten: Vision One blocklist
/// objects are renewed; nothing else expires on its target.
pub fn renew_within(parameters: &Parameters) -> Option<chrono::Duration> {
    match parameters {
        Parameters::Blocklist(params) => Some(params.renew_within),
        Parameters::Exceptions(_)
        | Parameters::IpList(_)
        | Parameters::XdrBlock(_)
        | Parameters::ResponseBlock(_)
        | Parameters::Http(_)
        | Parameters::Udso(_) => None,
    }
}

/// The list on its target a workflow's objects live in.
pub fn list_of(parameters: &Parameters) -> List<'_> {
    match parameters {
        // Response blocks land on the suspicious-object list: every claim on them shares it.
        Parameters::Blocklist(_) | Parameters::ResponseBlock(_) => List::Suspicious,
        Parameters::Exceptions(_) => List::Exceptions,
        Parameters::XdrBlock(_) => List::XdrBlocks,
        Parameters::Http(_) => List::Http,
        Parameters::Udso(_) => List::Udso,
        Parameters::IpList(params) => List::IpList(&params.list_name),
    }
}

/// The guard rules an action is held to: an exception list may hold what a blocklist must
/// never (the company's own ranges), everything else blocks.
pub fn guard_list(parameters: &Parameters) -> guard::ListKind {
    match parameters {
        Parameters::Exceptions(_) => guard::ListKind::ExceptionList,
        Parameters::Blocklist(_)
        | Parameters::IpList(_)
        | Parameters::XdrBlock(_)
        | Parameters::ResponseBlock(_)
        | Parameters::Http(_)
        | Parameters::Udso(_) => guard::ListKind::Blocklist,
    }
}

/// Whether an item the target holds as `item` stands for `found` (`values`: the forms the
/// targets take for it): a Deep Security item may be a network holding the address.
pub fn holds(
    parameters: &Parameters,
    item: &str,
    found: &indicator::Indicator,
    values: &[String],
) -> bool {
    match parameters {
        Parameters::IpList(_) => deep_security::mapping::covers(item, found),
        Parameters::Blocklist(_)
        | Parameters::Exceptions(_)
        | Parameters::XdrBlock(_)
        | Parameters::ResponseBlock(_)
        | Parameters::Http(_)
        | Parameters::Udso(_) => values.iter().any(|v| v == item),
    }
}

/// The Vision One list a single value can be looked up in live (`iocsync why --live`), or why
/// the action has none.
pub fn live_list(parameters: &Parameters) -> Result<vision_one::Kind, &'static str> {
    match parameters {
        Parameters::Blocklist(_) | Parameters::ResponseBlock(_) => Ok(vision_one::Kind::Suspicious),
        Parameters::Exceptions(_) => Ok(vision_one::Kind::Exceptions),
        Parameters::IpList(_)
        | Parameters::XdrBlock(_)
        | Parameters::Http(_)
        | Parameters::Udso(_) => Err("not read: only Vision One lists can be read back live"),
    }
}

/// `iocsync adopt`: what of `workflow`'s list on `target` carries `marker` and no claim knows,
/// as the workflow's claims (only lists that can be read back can be adopted).
pub async fn adopt(
    target: &Target,
    workflow: &Workflow,
    library: &dyn LibraryBackend,
    marker: &Marker,
    now: chrono::DateTime<chrono::Utc>,
    report: &mut crate::adopt::AdoptReport,
) -> Result<Vec<LedgerEntry>, EngineError> {
    Ok(match Connection::open(target, workflow)? {
        Connection::Blocklist(lists, _) => {
            let list = vision_one::Kind::Suspicious;
            vision_one::adopt::adopt(&lists.client, list, workflow, library, marker, now, report)
                .await?
        }
        Connection::Exceptions(lists, _) => {
            let list = vision_one::Kind::Exceptions;
            vision_one::adopt::adopt(&lists.client, list, workflow, library, marker, now, report)
                .await?
        }
        // Response blocks are objects of the suspicious-object list like the blocklist's.
        Connection::ResponseBlock(client, _) => {
            let list = vision_one::Kind::Suspicious;
            vision_one::adopt::adopt(&client, list, workflow, library, marker, now, report).await?
        }
        Connection::IpList(client, params) => {
            deep_security::adopt::adopt(&client, workflow, &params.list_name, marker, now, report)
                .await?
        }
        Connection::Udso(..) | Connection::XdrBlock(..) | Connection::Http(..) => {
            return Err(EngineError::WrongProduct {
                target: target.name.clone(),
                product: target.product(),
                what: format!(
                    "`iocsync adopt {}` (only Vision One and Deep Security lists can be adopted)",
                    workflow.name
                ),
            });
        }
    })
}

/// Whether `product` has a call that checks a target without changing anything on it.
pub fn probeable(product: Product) -> bool {
    match product {
        Product::VisionOne | Product::DeepSecurity | Product::XdrV2 | Product::ApexCentral => true,
        Product::Http => false,
    }
}

/// Checks that `target` answers, accepts its key and lets it read its lists, with the cheapest
/// call that changes nothing (`iocsync check` and the daemon's health probe).
pub async fn check(target: &Target) -> Result<(), EngineError> {
    match &target.settings {
        Settings::VisionOne(v1) => VisionOneClient::new(&v1.config(target)?)?.check().await?,
        Settings::DeepSecurity(ds) => {
            DeepSecurityClient::new(&ds.config(target)?)?
                .check()
                .await?;
        }
        Settings::XdrV2(xdr) => {
            xdr_v2::check::read(&XdrV2Client::new(&xdr.config(target)?)?).await?
        }
        Settings::ApexCentral(apex) => {
            ApexCentralClient::new(&apex.config(target)?)?
                .check()
                .await?;
        }
        Settings::Http(_) => return Err(EngineError::NoCheck(target.name.clone())),
    }
    Ok(())
}

/// `iocsync check --write`: each write permission of `target`, proved by a harmless write
/// undone at once.
pub async fn check_writes(target: &Target) -> Vec<check::WriteCheck> {
    let unbuilt =
        |error: EngineError| vec![check::WriteCheck::of("client", Err(error.to_string()))];
    match &target.settings {
        Settings::VisionOne(v1) => match client(v1.config(target), VisionOneClient::new) {
            Ok(client) => vision_one::check::writes(&client).await,
            Err(error) => unbuilt(error),
        },
        Settings::DeepSecurity(ds) => match client(ds.config(target), DeepSecurityClient::new) {
            Ok(client) => deep_security::check::writes(&client).await,
            Err(error) => unbuilt(error),
        },
        Settings::XdrV2(xdr) => match client(xdr.config(target), XdrV2Client::new) {
            Ok(client) => xdr_v2::check::writes(&client).await,
            Err(error) => unbuilt(error),
        },
        Settings::ApexCentral(apex) => match client(apex.config(target), ApexCentralClient::new) {
            Ok(client) => apex_central::check::writes(&client).await,
            Err(error) => unbuilt(error),
        },
        Settings::Http(_) => vec![check::WriteCheck::of(
            "http",
            Err(
                "an http target has no harmless call to check; send a test alert instead"
                    .to_owned(),
            ),
        )],
    }
}

/// A client built from its settings, either failing as an engine error.
fn client<C, S>(
    settings: Result<S, config::ConfigError>,
    build: impl FnOnce(&S) -> Result<C, trendmicro::Error>,
) -> Result<C, EngineError> {
    Ok(build(&settings?)?)
}
