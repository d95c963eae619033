//! `[[targets]]`: the connections workflows and triggers write to, one per product, with the
//! room of their lists ([`Capacity`]). A target holds its API key's *reference*; the client
//! settings are built, and the key read, only when a command needs the client.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use trendmicro::deep_security::{AuthHeader, DeepSecurityConfig, Region as WorkloadRegion};
use trendmicro::http_template::HttpTemplateConfig;
use trendmicro::transport::{HttpPolicy, ProxySetting};
use trendmicro::vision_one::VisionOneConfig;
use trendmicro::vision_one::config::Region;
use trendmicro::xdr_v2::XdrV2Config;
use url::Url;

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference};
use crate::{read, transport};

/// The products a target can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    VisionOne,
    DeepSecurity,
    /// The legacy XDR v2.0 block / restore-block response API.
    XdrV2,
    /// Any HTTP API, one call per value, with a JSON payload template.
    Http,
}

/// As `product` is written: `vision-one`, `deep-security`, `xdr-v2`, `http`.
impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Product::VisionOne => "vision-one",
            Product::DeepSecurity => "deep-security",
            Product::XdrV2 => "xdr-v2",
            Product::Http => "http",
        })
    }
}

/// What a one-off or trigger block does when its type is at the target's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Remove iocsync's own lowest-ranked workflow object of that type to make room (reported;
    /// the workflow adds it back when room returns).
    #[default]
    Displace,
    /// Answer "not blocked: capacity reached".
    Refuse,
}

/// How many objects of one type a Vision One suspicious-object list holds (Trend's limit for
/// third-party objects).
pub const V1_CAPACITY_PER_TYPE: usize = 10_000;

/// How many of them workflows leave free for one-off and trigger blocks, by default.
pub const DEFAULT_RESERVE_PER_TYPE: usize = 100;

/// How many exceptions a Vision One exception list holds in all.
pub const V1_EXCEPTION_CAPACITY: usize = 5_000;

/// One target list's room: workflows together keep `capacity − reserve` objects per bucket
/// (a type, or the whole list), one-off and trigger blocks may fill it to `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub capacity: usize,
    pub reserve: usize,
    /// Whether the limit is per object type (suspicious objects) or for the whole list.
    pub per_type: bool,
    pub when_full: WhenFull,
}

/// One configured connection. Holds the secret's *reference*, never the secret.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub product: Product,
    pub(crate) region: Option<Region>,
    pub(crate) workload_region: Option<WorkloadRegion>,
    pub(crate) base_url: Option<String>,
    pub(crate) key_ref: String,
    pub(crate) auth_header: Option<AuthHeader>,
    pub(crate) template: Option<HttpTemplateConfig>,
    pub(crate) http: HttpPolicy,
    pub(crate) batch_size: Option<usize>,
    pub(crate) capacity_per_type: usize,
    pub(crate) reserve_per_type: usize,
    pub(crate) when_full: WhenFull,
}

impl Target {
    /// The room of this target's suspicious-object list (Vision One).
    pub fn suspicious_capacity(&self) -> Capacity {
        Capacity {
            capacity: self.capacity_per_type,
            reserve: self.reserve_per_type,
            per_type: true,
            when_full: self.when_full,
        }
    }

    /// The room of this target's exception list (Vision One): 5,000 in all, no reserve (only
    /// workflows write exceptions).
    pub fn exception_capacity(&self) -> Capacity {
        Capacity {
            capacity: V1_EXCEPTION_CAPACITY,
            reserve: 0,
            per_type: false,
            when_full: WhenFull::Refuse,
        }
    }

    /// Reads the API key from the environment variable or file the config names.
    pub fn resolve_key(&self) -> Result<SecretString, ConfigError> {
        trendmicro::secret::expand(&self.key_ref)
            .map_err(|error| invalid(format!("targets.{}.api_key", self.name), error.to_string()))
    }

    /// The Vision One client settings (resolving the key).
    pub fn vision_one(&self) -> Result<VisionOneConfig, ConfigError> {
        let key = self.resolve_key()?;
        let mut config = match (&self.base_url, self.region) {
            (Some(url), _) => {
                let url = Url::parse(url).map_err(|error| {
                    invalid(format!("targets.{}.base_url", self.name), error.to_string())
                })?;
                VisionOneConfig::with_base_url(url, key)
            }
            (None, Some(region)) => VisionOneConfig::with_region(region, key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.http = self.http.clone();
        if let Some(size) = self.batch_size {
            config.suspicious_batch_size = size;
            config.exception_batch_size = size;
        }
        Ok(config)
    }

    /// The XDR v2 client settings (resolving the key).
    pub fn xdr_v2(&self) -> Result<XdrV2Config, ConfigError> {
        let v1 = self.vision_one()?;
        let mut config = match (v1.base_url, v1.region) {
            (Some(url), _) => XdrV2Config::with_base_url(url, v1.api_key),
            (None, Some(region)) => XdrV2Config::with_region(region, v1.api_key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.http = self.http.clone();
        Ok(config)
    }

    /// The settings of an `http` target (header secrets are resolved by the client).
    pub fn http_template(&self) -> Result<HttpTemplateConfig, ConfigError> {
        let mut config = self.template.clone().ok_or_else(|| {
            invalid(
                format!("targets.{}.product", self.name),
                "is not an http target",
            )
        })?;
        config.http = self.http.clone();
        Ok(config)
    }

    /// The Deep Security client settings (resolving the key).
    pub fn deep_security(&self) -> Result<DeepSecurityConfig, ConfigError> {
        let key = self.resolve_key()?;
        let mut config = match (&self.base_url, self.workload_region) {
            (Some(instance), _) => DeepSecurityConfig::new(instance.clone(), key),
            (None, Some(region)) => DeepSecurityConfig::with_region(region, key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.auth_header = self.auth_header;
        config.http = self.http.clone();
        Ok(config)
    }
}

/// One `[[targets]]` entry as written: `product` picks the section, and each section takes
/// its product's keys only (`deny_unknown_fields`), so a key of another product is refused
/// with its key path rather than by a hand-written check.
#[derive(Debug, Deserialize)]
#[serde(tag = "product", rename_all = "kebab-case")]
pub(crate) enum TargetSection {
    VisionOne(VisionOneSection),
    DeepSecurity(DeepSecuritySection),
    XdrV2(XdrV2Section),
    Http(HttpSection),
}

/// Declares one product's section: its own keys, then the keys every target takes (its name
/// and how it is reached, see [`Reach`]).
macro_rules! section {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            name: String,
            $($(#[$field_meta])* $field: $ty,)*
            tls_verify: Option<bool>,
            ca_bundle: Option<PathBuf>,
            proxy: Option<String>,
            proxy_password: Option<String>,
            #[serde(default)]
            allow_plain_http: bool,
            requests_per_minute: Option<NonZeroU32>,
            max_concurrency: Option<usize>,
            /// Objects per request; only Vision One lists use it, but the example file documents
            /// it as a key of every target.
            batch_size: Option<usize>,
        }

        impl $name {
            fn reach(&self) -> Reach<'_> {
                Reach {
                    name: &self.name,
                    tls_verify: self.tls_verify,
                    ca_bundle: self.ca_bundle.as_ref(),
                    proxy: self.proxy.as_deref(),
                    proxy_password: self.proxy_password.as_deref(),
                    allow_plain_http: self.allow_plain_http,
                    requests_per_minute: self.requests_per_minute,
                    max_concurrency: self.max_concurrency,
                    batch_size: self.batch_size,
                }
            }
        }
    };
}

section! {
    /// `product = "vision-one"`: the suspicious-object and exception lists, with their room.
    VisionOneSection {
        /// A Vision One region (`us`, `eu`, ...), instead of `base_url`.
        region: Option<String>,
        base_url: Option<String>,
        api_key: Option<String>,
        capacity_per_type: Option<usize>,
        reserve_per_type: Option<usize>,
        when_full: Option<WhenFull>,
    }
}

section! {
    /// `product = "deep-security"`: Deep Security or Workload Security IP lists.
    DeepSecuritySection {
        /// A Workload Security region (`us-1` ... `ae-1`), instead of `base_url` (a manager).
        region: Option<String>,
        base_url: Option<String>,
        api_key: Option<String>,
        auth_header: Option<AuthHeader>,
    }
}

section! {
    /// `product = "xdr-v2"`: the legacy XDR v2.0 block / restore-block API.
    XdrV2Section {
        /// A Vision One region, instead of `base_url`.
        region: Option<String>,
        base_url: Option<String>,
        api_key: Option<String>,
    }
}

section! {
    /// `product = "http"`: any HTTP API with a JSON payload template, one call per value.
    HttpSection {
        base_url: Option<String>,
        /// Refused with its reason (an http target's credentials are in `headers`).
        api_key: Option<String>,
        method: Option<String>,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        payload: Option<String>,
        remove_url: Option<String>,
        remove_method: Option<String>,
        remove_payload: Option<String>,
    }
}

/// The keys only some products take, for the message about one given to another product.
const PRODUCT_KEYS: [(Product, &[&str]); 4] = [
    (
        Product::VisionOne,
        &[
            "region",
            "base_url",
            "api_key",
            "capacity_per_type",
            "reserve_per_type",
            "when_full",
        ],
    ),
    (
        Product::DeepSecurity,
        &["region", "base_url", "api_key", "auth_header"],
    ),
    (Product::XdrV2, &["region", "base_url", "api_key"]),
    (
        Product::Http,
        &[
            "base_url",
            "api_key",
            "method",
            "headers",
            "payload",
            "remove_url",
            "remove_method",
            "remove_payload",
        ],
    ),
];

/// The keys every section takes: the target's name and how it is reached.
struct Reach<'a> {
    name: &'a str,
    tls_verify: Option<bool>,
    ca_bundle: Option<&'a PathBuf>,
    proxy: Option<&'a str>,
    proxy_password: Option<&'a str>,
    allow_plain_http: bool,
    requests_per_minute: Option<NonZeroU32>,
    max_concurrency: Option<usize>,
    batch_size: Option<usize>,
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
    let owners: Vec<String> = PRODUCT_KEYS
        .iter()
        .filter(|(owner, keys)| *owner != product && keys.contains(&name))
        .map(|(owner, _)| owner.to_string())
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

/// Validates `targets[i]`, pushing every error; the target when there is none.
pub(crate) fn validate_target(
    i: usize,
    section: TargetSection,
    errors: &mut Vec<ConfigError>,
) -> Option<Target> {
    let path = format!("targets[{i}]");
    let before = errors.len();
    let target = match section {
        TargetSection::VisionOne(s) => {
            let mut target = reached(
                &path,
                Product::VisionOne,
                &s.reach(),
                s.base_url.as_deref(),
                None,
                errors,
            );
            target.key_ref = api_key(&path, s.api_key, errors);
            target.region = region(&path, s.region.as_deref(), s.base_url.is_some(), errors);
            if let Some((capacity, reserve)) =
                capacity_keys(&path, s.capacity_per_type, s.reserve_per_type, errors)
            {
                target.capacity_per_type = capacity;
                target.reserve_per_type = reserve;
            }
            target.when_full = s.when_full.unwrap_or_default();
            target.base_url = s.base_url;
            target
        }
        TargetSection::XdrV2(s) => {
            let mut target = reached(
                &path,
                Product::XdrV2,
                &s.reach(),
                s.base_url.as_deref(),
                None,
                errors,
            );
            target.key_ref = api_key(&path, s.api_key, errors);
            target.region = region(&path, s.region.as_deref(), s.base_url.is_some(), errors);
            target.base_url = s.base_url;
            target
        }
        TargetSection::DeepSecurity(s) => {
            let mut target = reached(
                &path,
                Product::DeepSecurity,
                &s.reach(),
                s.base_url.as_deref(),
                None,
                errors,
            );
            target.key_ref = api_key(&path, s.api_key, errors);
            target.workload_region =
                region(&path, s.region.as_deref(), s.base_url.is_some(), errors);
            target.auth_header = s.auth_header;
            target.base_url = s.base_url;
            target
        }
        TargetSection::Http(s) => {
            let mut target = reached(
                &path,
                Product::Http,
                &s.reach(),
                s.base_url.as_deref(),
                s.remove_url.as_deref(),
                errors,
            );
            if s.api_key.is_some() {
                errors.push(invalid(
                    format!("{path}.api_key"),
                    "an http target carries its credentials in `headers` (as references)",
                ));
            }
            target.base_url = s.base_url.clone();
            target.template = template_section(&path, s, errors);
            target
        }
    };
    (errors.len() == before).then_some(target)
}

/// The target with what every product shares — its name and how it is reached — checked;
/// the product's own keys are set by the caller.
fn reached(
    path: &str,
    product: Product,
    reach: &Reach<'_>,
    base_url: Option<&str>,
    remove_url: Option<&str>,
    errors: &mut Vec<ConfigError>,
) -> Target {
    if reach.name.trim().is_empty() {
        errors.push(invalid(format!("{path}.name"), "must not be empty"));
    }
    transport::check(
        path,
        &transport::TransportKeys {
            product,
            base_url,
            remove_url,
            proxy: reach.proxy,
            proxy_password: reach.proxy_password,
            allow_plain_http: reach.allow_plain_http,
        },
        errors,
    );
    if let Some(url) = base_url
        && product != Product::DeepSecurity
        && let Err(error) = Url::parse(url)
    {
        errors.push(invalid(format!("{path}.base_url"), error.to_string()));
    }
    if reach.batch_size == Some(0) {
        errors.push(invalid(format!("{path}.batch_size"), "must be at least 1"));
    }
    let mut http = HttpPolicy::default();
    if let Some(verify) = reach.tls_verify {
        http.verify_tls = verify;
    }
    http.ca_bundle = reach.ca_bundle.cloned();
    http.proxy_password = reach.proxy_password.map(str::to_owned);
    if let Some(proxy) = reach.proxy {
        match proxy.parse::<ProxySetting>() {
            Ok(setting) => http.proxy = setting,
            Err(reason) => errors.push(invalid(format!("{path}.proxy"), reason)),
        }
    }
    http.requests_per_minute = reach.requests_per_minute;
    match reach.max_concurrency {
        Some(0) => errors.push(invalid(
            format!("{path}.max_concurrency"),
            "must be at least 1",
        )),
        Some(n) => http.max_concurrency = n,
        None => {}
    }
    Target {
        name: reach.name.to_owned(),
        product,
        region: None,
        workload_region: None,
        base_url: None,
        key_ref: String::new(),
        auth_header: None,
        template: None,
        http,
        batch_size: reach.batch_size,
        capacity_per_type: V1_CAPACITY_PER_TYPE,
        reserve_per_type: DEFAULT_RESERVE_PER_TYPE,
        when_full: WhenFull::default(),
    }
}

/// `api_key`: required, and a reference.
fn api_key(path: &str, key: Option<String>, errors: &mut Vec<ConfigError>) -> String {
    match key {
        Some(key) if is_reference(&key) => key,
        Some(_) => {
            errors.push(invalid(format!("{path}.api_key"), INLINE_SECRET));
            String::new()
        }
        None => {
            errors.push(invalid(format!("{path}.api_key"), "is required"));
            String::new()
        }
    }
}

/// `region` as the product names its regions (Vision One's `us`, `eu`, ... for vision-one and
/// xdr-v2 targets, Workload Security's `us-1` ... `ae-1` for deep-security ones), given exactly
/// when `base_url` is not.
fn region<R>(
    path: &str,
    name: Option<&str>,
    has_base_url: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<R>
where
    R: std::str::FromStr<Err = trendmicro::error::UnknownRegion>,
{
    if name.is_some() == has_base_url {
        errors.push(invalid(path, "give exactly one of `region` and `base_url`"));
    }
    match name?.parse() {
        Ok(region) => Some(region),
        Err(error) => {
            errors.push(invalid(format!("{path}.region"), error.to_string()));
            None
        }
    }
}

/// `capacity_per_type` and `reserve_per_type` (Vision One targets): the list's limit and the
/// room workflows leave for one-off and trigger blocks.
fn capacity_keys(
    path: &str,
    capacity: Option<usize>,
    reserve: Option<usize>,
    errors: &mut Vec<ConfigError>,
) -> Option<(usize, usize)> {
    let capacity = capacity.unwrap_or(V1_CAPACITY_PER_TYPE);
    if capacity == 0 {
        errors.push(invalid(
            format!("{path}.capacity_per_type"),
            "must be at least 1",
        ));
        return None;
    }
    let reserve = reserve.unwrap_or(DEFAULT_RESERVE_PER_TYPE.min(capacity / 10));
    if reserve >= capacity {
        errors.push(invalid(
            format!("{path}.reserve_per_type"),
            format!("must be below capacity_per_type ({capacity})"),
        ));
        return None;
    }
    Some((capacity, reserve))
}

/// The template section of an `http` target: `base_url` is where it goes, `payload` its template, and
/// `remove_payload` (to `remove_url`, default `base_url`) how a value is undone.
/// Headers that carry credentials must be secret references.
fn template_section(
    path: &str,
    section: HttpSection,
    errors: &mut Vec<ConfigError>,
) -> Option<HttpTemplateConfig> {
    let before = errors.len();
    let parse_url = |key: &str, url: &str, errors: &mut Vec<ConfigError>| {
        Url::parse(url)
            .map_err(|e| errors.push(invalid(format!("{path}.{key}"), e.to_string())))
            .ok()
    };
    let url = match section.base_url.as_deref() {
        // Parsed (and its error pushed) with the keys every product shares.
        Some(url) => Url::parse(url).ok(),
        None => {
            errors.push(invalid(format!("{path}.base_url"), "is required"));
            None
        }
    };
    if section.payload.is_none() {
        errors.push(invalid(format!("{path}.payload"), "is required"));
    }
    for (name, value) in &section.headers {
        let lower = name.to_ascii_lowercase();
        let sensitive = ["authorization", "key", "token", "secret"]
            .iter()
            .any(|word| lower.contains(word));
        if sensitive && !(is_reference(value) || value.contains("${")) {
            errors.push(invalid(format!("{path}.headers.{name}"), INLINE_SECRET));
        }
    }
    if section.remove_payload.is_none()
        && (section.remove_url.is_some() || section.remove_method.is_some())
    {
        errors.push(invalid(
            format!("{path}.remove_payload"),
            "is required with `remove_url` or `remove_method`",
        ));
    }
    let remove_url = section
        .remove_url
        .as_deref()
        .and_then(|url| parse_url("remove_url", url, errors));
    let (Some(url), Some(payload)) = (url, section.payload) else {
        return None;
    };
    if errors.len() != before {
        return None;
    }
    let mut config = HttpTemplateConfig::new(url, payload);
    config.headers = section.headers;
    if let Some(method) = section.method {
        config.method = method;
    }
    config.remove_url = remove_url;
    config.remove_method = section.remove_method;
    config.remove_payload = section.remove_payload;
    Some(config)
}
