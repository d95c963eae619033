//! `[[targets]]`: the connections workflows and triggers write to. One file per product
//! ([`vision_one`], [`deep_security`], [`xdr_v2`], [`http`]) holds its section as written, its
//! validated settings, and the parameters of its actions; this file lists the products once
//! in each of the enums below ([`Product`], [`Settings`], [`Action`], [`Parameters`] and the
//! section read), so a new product is a new file and new variants here, every place flagged by
//! the compiler. A target holds its API key's *reference*; the client settings are built, and
//! the key read, only when a command needs the client.

pub mod apex_central;
pub mod deep_security;
pub mod http;
pub(crate) mod reach;
pub mod vision_one;
pub mod xdr_v2;

use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use trendmicro::transport::HttpPolicy;

use crate::error::{ConfigError, invalid};
use crate::parameters::Reader;
use crate::read;
use crate::schema::inline_schema;
use apex_central::{ApexCentralSection, ApexCentralTarget, UdsoParams};
use deep_security::{DeepSecuritySection, DeepSecurityTarget, IpListParams};
use http::{HttpParams, HttpSection, HttpTarget};
use reach::Reached;
use vision_one::{
    BlocklistParams, ExceptionParams, ResponseParams, VisionOneSection, VisionOneTarget,
};
use xdr_v2::{XdrParams, XdrV2Section, XdrV2Target};

/// The products a target can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    /// Trend Vision One's suspicious-object and exception lists.
    VisionOne,
    /// Deep Security or Workload Security IP lists.
    DeepSecurity,
    /// The legacy XDR v2.0 block / restore-block response API.
    XdrV2,
    /// Any HTTP API, one call per value, with a JSON payload template.
    Http,
    /// Apex Central's user-defined suspicious objects.
    ApexCentral,
}

/// As `product` is written: `vision-one`, `deep-security`, `xdr-v2`, `http`.
impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Product::VisionOne => "vision-one",
            Product::DeepSecurity => "deep-security",
            Product::XdrV2 => "xdr-v2",
            Product::Http => "http",
            Product::ApexCentral => "apex-central",
        })
    }
}

impl Product {
    /// Every product, in the order `iocsync check` lists them.
    pub const ALL: [Product; 5] = [
        Product::VisionOne,
        Product::DeepSecurity,
        Product::XdrV2,
        Product::Http,
        Product::ApexCentral,
    ];

    /// The keys only some products take, for the message about one given to another product.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Product::VisionOne => vision_one::KEYS,
            Product::DeepSecurity => deep_security::KEYS,
            Product::XdrV2 => xdr_v2::KEYS,
            Product::Http => http::KEYS,
            Product::ApexCentral => apex_central::KEYS,
        }
    }
}

/// One `[[targets]]` entry as written: `product` picks the section, and each section takes
/// its product's keys only (`deny_unknown_fields`), so a key of another product is refused
/// with its key path rather than by a hand-written check.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "product", rename_all = "kebab-case")]
pub(crate) enum TargetSection {
    VisionOne(VisionOneSection),
    DeepSecurity(DeepSecuritySection),
    XdrV2(XdrV2Section),
    Http(HttpSection),
    ApexCentral(ApexCentralSection),
}

/// One configured connection: its name, how it is reached, and its product's settings. Holds
/// the secret's *reference*, never the secret.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub settings: Settings,
    pub(crate) http: HttpPolicy,
}

/// A target's product with that product's settings.
#[derive(Debug, Clone)]
pub enum Settings {
    VisionOne(VisionOneTarget),
    DeepSecurity(DeepSecurityTarget),
    XdrV2(XdrV2Target),
    // Boxed: a template is several times the size of the other settings.
    Http(Box<HttpTarget>),
    ApexCentral(ApexCentralTarget),
}

impl Target {
    pub(crate) fn new(reached: Reached, settings: Settings) -> Target {
        Target {
            name: reached.name,
            settings,
            http: reached.http,
        }
    }

    /// Requests it may have in flight at once (`max_concurrency`, 4 unless set).
    pub fn max_concurrency(&self) -> usize {
        self.http.max_concurrency
    }

    /// Its product.
    pub fn product(&self) -> Product {
        match self.settings {
            Settings::VisionOne(_) => Product::VisionOne,
            Settings::DeepSecurity(_) => Product::DeepSecurity,
            Settings::XdrV2(_) => Product::XdrV2,
            Settings::Http(_) => Product::Http,
            Settings::ApexCentral(_) => Product::ApexCentral,
        }
    }

    /// The reference of its API key; `None` for an http target (its credentials are headers).
    pub fn key_ref(&self) -> Option<&str> {
        match &self.settings {
            Settings::VisionOne(t) => Some(&t.key_ref),
            Settings::DeepSecurity(t) => Some(&t.key_ref),
            Settings::XdrV2(t) => Some(&t.key_ref),
            Settings::ApexCentral(t) => Some(&t.key_ref),
            Settings::Http(_) => None,
        }
    }
}

/// Validates `targets[i]`, pushing every error; the target when there is none.
pub(crate) fn validate_target(
    i: usize,
    section: TargetSection,
    errors: &mut Vec<ConfigError>,
) -> Option<Target> {
    let path = format!("targets[{i}]");
    let before = errors.len();
    let target = match section {
        TargetSection::VisionOne(s) => Some(vision_one::validate(&path, s, errors)),
        TargetSection::DeepSecurity(s) => Some(deep_security::validate(&path, s, errors)),
        TargetSection::XdrV2(s) => Some(xdr_v2::validate(&path, s, errors)),
        TargetSection::Http(s) => http::validate(&path, s, errors),
        TargetSection::ApexCentral(s) => Some(apex_central::validate(&path, s, errors)),
    };
    target.filter(|_| errors.len() == before)
}

/// What a workflow does on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Vision One suspicious-object list ("Add to Blocklist").
    Blocklist,
    /// Vision One exception list.
    Exceptions,
    /// Deep Security / Workload Security IP lists ("Export Indicators").
    IpList,
    /// XDR v2 block (one value at a time; removal is restore-block).
    XdrBlock,
    /// Vision One v3 response "Add to block list" (a task per value, many per request; removal
    /// is "Remove from block list"): the successor of `xdr-block`.
    ResponseBlock,
    /// One templated `http` call per new or changed value.
    Http,
    /// Apex Central user-defined suspicious objects (one value per call).
    Udso,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 7] = [
        Action::Blocklist,
        Action::Exceptions,
        Action::IpList,
        Action::XdrBlock,
        Action::ResponseBlock,
        Action::Http,
        Action::Udso,
    ];

    /// As `action` is written: `blocklist`, `ip-list`, ...
    pub(crate) fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The schema of its `parameters` table: the keys its reader takes.
    fn parameters_schema(self) -> Schema {
        match self {
            Action::Blocklist => inline_schema::<vision_one::BlocklistKeys>(),
            Action::Exceptions => inline_schema::<vision_one::ExceptionKeys>(),
            Action::IpList => inline_schema::<deep_security::IpListKeys>(),
            Action::XdrBlock => inline_schema::<xdr_v2::XdrKeys>(),
            Action::ResponseBlock => inline_schema::<vision_one::ResponseKeys>(),
            Action::Http => inline_schema::<http::HttpKeys>(),
            Action::Udso => inline_schema::<apex_central::UdsoKeys>(),
        }
    }
    /// The product whose targets take this action.
    pub fn product(self) -> Product {
        match self {
            Action::Blocklist | Action::Exceptions | Action::ResponseBlock => Product::VisionOne,
            Action::IpList => Product::DeepSecurity,
            Action::XdrBlock => Product::XdrV2,
            Action::Http => Product::Http,
            Action::Udso => Product::ApexCentral,
        }
    }

    /// Whether a trigger may take it: one value at a time, on a list that tells what it
    /// holds (not the exception list, nor IP lists written whole).
    pub fn triggered(self) -> bool {
        match self {
            Action::Blocklist | Action::XdrBlock | Action::ResponseBlock | Action::Http => true,
            // Not yet: one-off and trigger blocks on Apex Central are not wired.
            Action::Exceptions | Action::IpList | Action::Udso => false,
        }
    }
}

/// A workflow's schema with the `parameters` each `action` takes: one `if`/`then` per action
/// (a `transform` of the workflow's schema).
pub(crate) fn parameters_by_action(schema: &mut Schema) {
    let rules: Vec<serde_json::Value> = Action::ALL
        .into_iter()
        .map(|action| {
            serde_json::json!({
                "if": {
                    "properties": { "action": { "const": action.name() } },
                    "required": ["action"]
                },
                "then": { "properties": { "parameters": action.parameters_schema() } }
            })
        })
        .collect();
    schema.insert("allOf".to_owned(), rules.into());
}

/// Per-action parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Parameters {
    Blocklist(BlocklistParams),
    Exceptions(ExceptionParams),
    IpList(IpListParams),
    XdrBlock(XdrParams),
    ResponseBlock(ResponseParams),
    Http(HttpParams),
    Udso(UdsoParams),
}

impl Parameters {
    pub fn action(&self) -> Action {
        match self {
            Parameters::Blocklist(_) => Action::Blocklist,
            Parameters::Exceptions(_) => Action::Exceptions,
            Parameters::IpList(_) => Action::IpList,
            Parameters::XdrBlock(_) => Action::XdrBlock,
            Parameters::ResponseBlock(_) => Action::ResponseBlock,
            Parameters::Http(_) => Action::Http,
            Parameters::Udso(_) => Action::Udso,
        }
    }

    /// Reads workflow `workflow`'s `parameters` for `action`, noting errors in `reader`.
    pub(crate) fn read(action: Action, reader: &mut Reader<'_>, workflow: &str) -> Parameters {
        match action {
            Action::Blocklist => Parameters::Blocklist(vision_one::blocklist_params(reader)),
            Action::Exceptions => Parameters::Exceptions(vision_one::exception_params(reader)),
            Action::IpList => Parameters::IpList(deep_security::ip_list_params(reader, workflow)),
            Action::XdrBlock => Parameters::XdrBlock(xdr_v2::xdr_params(reader)),
            Action::ResponseBlock => Parameters::ResponseBlock(vision_one::response_params(reader)),
            Action::Http => Parameters::Http(http::http_params(reader)),
            Action::Udso => Parameters::Udso(apex_central::udso_params(reader)),
        }
    }
}

/// Reads `targets[i]` as the section its `product` names, pushing every error at its key path.
pub(crate) fn read_target(
    i: usize,
    value: toml::Value,
    errors: &mut Vec<ConfigError>,
) -> Option<TargetSection> {
    // serde's internally tagged enums buffer the entry before reading the section, which
    // loses the key of an error: a refused entry is read again, the section on its own.
    if let Ok(section) = TargetSection::deserialize(value.clone()) {
        return Some(section);
    }
    let path = format!("targets[{i}]");
    let toml::Value::Table(mut table) = value else {
        errors.push(invalid(path, "expected a table"));
        return None;
    };
    let Some(product) = table.remove("product") else {
        errors.push(invalid(path, "missing field `product`"));
        return None;
    };
    let product: Product = read::entry(&format!("{path}.product"), product, errors)?;
    let rest = toml::Value::Table(table);
    let mut found = Vec::new();
    let section = match product {
        Product::VisionOne => read::entry(&path, rest, &mut found).map(TargetSection::VisionOne),
        Product::DeepSecurity => {
            read::entry(&path, rest, &mut found).map(TargetSection::DeepSecurity)
        }
        Product::XdrV2 => read::entry(&path, rest, &mut found).map(TargetSection::XdrV2),
        Product::Http => read::entry(&path, rest, &mut found).map(TargetSection::Http),
        Product::ApexCentral => {
            read::entry(&path, rest, &mut found).map(TargetSection::ApexCentral)
        }
    };
    errors.extend(
        found
            .into_iter()
            .map(|error| other_products_key(&path, product, error)),
    );
    section
}

/// An unknown key that other products take says which.
fn other_products_key(path: &str, product: Product, error: ConfigError) -> ConfigError {
    let ConfigError::Invalid { key, reason } = &error else {
        return error;
    };
    let Some(name) = key
        .strip_prefix(path)
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return error;
    };
    let owners: Vec<String> = Product::ALL
        .into_iter()
        .filter(|owner| *owner != product && owner.keys().contains(&name))
        .map(|owner| owner.to_string())
        .collect();
    if !reason.starts_with("unknown field") || owners.is_empty() {
        return error;
    }
    invalid(
        key.clone(),
        format!(
            "{product} targets take no `{name}`: it and the keys like it apply to {} targets only",
            owners.join(" and ")
        ),
    )
}
