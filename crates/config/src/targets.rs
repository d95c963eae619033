//! `[[targets]]`: the connections workflows and triggers write to, one per product, with the
//! room of their lists ([`Capacity`]). A target holds its API key's *reference*; the client
//! settings are built, and the key read, only when a command needs the client.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use trendmicro::deep_security::{AuthHeader, DeepSecurityConfig, Region as WorkloadRegion};
use trendmicro::http::{HttpPolicy, ProxySetting};
use trendmicro::http_template::HttpTemplateConfig;
use trendmicro::vision_one::VisionOneConfig;
use trendmicro::vision_one::config::Region;
use trendmicro::xdr_v2::XdrV2Config;
use url::Url;

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference};
use crate::transport;

/// The products a target can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    VisionOne,
    DeepSecurity,
    /// The legacy XDR v2.0 block / restore-block response API.
    XdrV2,
    /// A generic webhook with a JSON payload template, one call per value.
    Http,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    name: String,
    product: Product,
    /// A Vision One region for vision-one and xdr-v2, a Workload Security one for deep-security.
    region: Option<String>,
    base_url: Option<String>,
    api_key: Option<String>,
    auth_header: Option<AuthHeader>,
    method: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    payload: Option<String>,
    remove_url: Option<String>,
    remove_method: Option<String>,
    remove_payload: Option<String>,
    tls_verify: Option<bool>,
    ca_bundle: Option<PathBuf>,
    proxy: Option<String>,
    proxy_password: Option<String>,
    #[serde(default)]
    allow_plain_http: bool,
    requests_per_minute: Option<std::num::NonZeroU32>,
    max_concurrency: Option<usize>,
    batch_size: Option<usize>,
    capacity_per_type: Option<usize>,
    reserve_per_type: Option<usize>,
    when_full: Option<WhenFull>,
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
    pub(crate) webhook: Option<HttpTemplateConfig>,
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

    /// The webhook settings of an `http` target (header secrets are resolved by the client).
    pub fn http_template(&self) -> Result<HttpTemplateConfig, ConfigError> {
        let mut config = self.webhook.clone().ok_or_else(|| {
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

pub(crate) fn validate_target(i: usize, raw: RawTarget) -> Result<Target, ConfigError> {
    let path = format!("targets[{i}]");
    if raw.name.trim().is_empty() {
        return Err(invalid(format!("{path}.name"), "must not be empty"));
    }
    let (capacity_per_type, reserve_per_type) = capacity_keys(&path, &raw)?;
    let key_ref = match (raw.product, raw.api_key) {
        (Product::Http, None) => String::new(),
        (Product::Http, Some(_)) => {
            return Err(invalid(
                format!("{path}.api_key"),
                "an http target carries its credentials in `headers` (as references)",
            ));
        }
        (_, None) => return Err(invalid(format!("{path}.api_key"), "is required")),
        (_, Some(key)) if is_reference(&key) => key,
        (_, Some(_)) => return Err(invalid(format!("{path}.api_key"), INLINE_SECRET)),
    };
    transport::check(
        &path,
        &transport::TransportKeys {
            product: raw.product,
            base_url: raw.base_url.as_deref(),
            remove_url: raw.remove_url.as_deref(),
            proxy: raw.proxy.as_deref(),
            proxy_password: raw.proxy_password.as_deref(),
            allow_plain_http: raw.allow_plain_http,
        },
    )?;
    let webhook = webhook(
        &path,
        raw.product,
        &raw.base_url,
        RawWebhook {
            method: raw.method,
            headers: raw.headers,
            payload: raw.payload,
            remove_url: raw.remove_url,
            remove_method: raw.remove_method,
            remove_payload: raw.remove_payload,
        },
    )?;
    match raw.product {
        Product::VisionOne | Product::XdrV2 => {
            if raw.region.is_some() == raw.base_url.is_some() {
                return Err(invalid(
                    &path,
                    "give exactly one of `region` and `base_url`",
                ));
            }
            if raw.auth_header.is_some() {
                return Err(invalid(
                    format!("{path}.auth_header"),
                    "applies to deep-security targets only",
                ));
            }
        }
        Product::DeepSecurity => {
            if raw.region.is_some() == raw.base_url.is_some() {
                return Err(invalid(
                    &path,
                    "give exactly one of `region` and `base_url`",
                ));
            }
        }
        Product::Http => {
            if raw.base_url.is_none() || raw.region.is_some() {
                return Err(invalid(
                    format!("{path}.base_url"),
                    "this product needs `base_url` and no `region`",
                ));
            }
        }
    }
    if let Some(url) = &raw.base_url
        && raw.product != Product::DeepSecurity
    {
        Url::parse(url).map_err(|error| invalid(format!("{path}.base_url"), error.to_string()))?;
    }
    if raw.batch_size == Some(0) {
        return Err(invalid(format!("{path}.batch_size"), "must be at least 1"));
    }
    let (region, workload_region) = regions(&path, raw.product, raw.region.as_deref())?;

    let mut http = HttpPolicy::default();
    if let Some(verify) = raw.tls_verify {
        http.verify_tls = verify;
    }
    http.ca_bundle = raw.ca_bundle;
    http.proxy_password = raw.proxy_password;
    if let Some(proxy) = raw.proxy {
        http.proxy = proxy
            .parse::<ProxySetting>()
            .map_err(|reason| invalid(format!("{path}.proxy"), reason))?;
    }
    http.requests_per_minute = raw.requests_per_minute;
    if let Some(n) = raw.max_concurrency {
        if n == 0 {
            return Err(invalid(
                format!("{path}.max_concurrency"),
                "must be at least 1",
            ));
        }
        http.max_concurrency = n;
    }
    Ok(Target {
        name: raw.name,
        product: raw.product,
        region,
        workload_region,
        base_url: raw.base_url,
        key_ref,
        auth_header: raw.auth_header,
        webhook,
        http,
        batch_size: raw.batch_size,
        capacity_per_type,
        reserve_per_type,
        when_full: raw.when_full.unwrap_or_default(),
    })
}

/// `region` as the product names its regions: Vision One's (`us`, `eu`, ...) for vision-one and
/// xdr-v2 targets, Workload Security's (`us-1`, ..., `ae-1`) for deep-security ones.
fn regions(
    path: &str,
    product: Product,
    name: Option<&str>,
) -> Result<(Option<Region>, Option<WorkloadRegion>), ConfigError> {
    let unknown = |error: trendmicro::error::UnknownRegion| {
        invalid(format!("{path}.region"), error.to_string())
    };
    match (product, name) {
        (_, None) => Ok((None, None)),
        (Product::DeepSecurity, Some(name)) => Ok((None, Some(name.parse().map_err(unknown)?))),
        (_, Some(name)) => Ok((Some(name.parse().map_err(unknown)?), None)),
    }
}

/// `capacity_per_type` and `reserve_per_type` (Vision One targets only): the list's limit and
/// the room workflows leave for one-off and trigger blocks.
fn capacity_keys(path: &str, raw: &RawTarget) -> Result<(usize, usize), ConfigError> {
    if raw.product != Product::VisionOne
        && (raw.capacity_per_type.is_some()
            || raw.reserve_per_type.is_some()
            || raw.when_full.is_some())
    {
        return Err(invalid(
            path,
            "`capacity_per_type`, `reserve_per_type` and `when_full` apply to vision-one targets only",
        ));
    }
    let capacity = raw.capacity_per_type.unwrap_or(V1_CAPACITY_PER_TYPE);
    if capacity == 0 {
        return Err(invalid(
            format!("{path}.capacity_per_type"),
            "must be at least 1",
        ));
    }
    let reserve = raw
        .reserve_per_type
        .unwrap_or(DEFAULT_RESERVE_PER_TYPE.min(capacity / 10));
    if reserve >= capacity {
        return Err(invalid(
            format!("{path}.reserve_per_type"),
            format!("must be below capacity_per_type ({capacity})"),
        ));
    }
    Ok((capacity, reserve))
}

/// The keys only an `http` target takes.
struct RawWebhook {
    method: Option<String>,
    headers: std::collections::BTreeMap<String, String>,
    payload: Option<String>,
    remove_url: Option<String>,
    remove_method: Option<String>,
    remove_payload: Option<String>,
}

impl RawWebhook {
    fn is_empty(&self) -> bool {
        self.method.is_none()
            && self.headers.is_empty()
            && self.payload.is_none()
            && self.remove_url.is_none()
            && self.remove_method.is_none()
            && self.remove_payload.is_none()
    }
}

/// The webhook of an `http` target: `base_url` is where it goes, `payload` its template, and
/// `remove_payload` (to `remove_url`, default `base_url`) how a value is undone.
/// Headers that carry credentials must be secret references.
fn webhook(
    path: &str,
    product: Product,
    base_url: &Option<String>,
    raw: RawWebhook,
) -> Result<Option<HttpTemplateConfig>, ConfigError> {
    if product != Product::Http {
        if !raw.is_empty() {
            return Err(invalid(
                path,
                "`method`, `headers`, `payload` and `remove_*` apply to http targets only",
            ));
        }
        return Ok(None);
    }
    let parse_url = |key: &str, url: &str| {
        Url::parse(url).map_err(|e| invalid(format!("{path}.{key}"), e.to_string()))
    };
    let url = parse_url("base_url", base_url.as_deref().unwrap_or_default())?;
    let payload = raw
        .payload
        .ok_or_else(|| invalid(format!("{path}.payload"), "is required"))?;
    for (name, value) in &raw.headers {
        let lower = name.to_ascii_lowercase();
        let sensitive = ["authorization", "key", "token", "secret"]
            .iter()
            .any(|word| lower.contains(word));
        if sensitive && !(is_reference(value) || value.contains("${")) {
            return Err(invalid(format!("{path}.headers.{name}"), INLINE_SECRET));
        }
    }
    if raw.remove_payload.is_none() && (raw.remove_url.is_some() || raw.remove_method.is_some()) {
        return Err(invalid(
            format!("{path}.remove_payload"),
            "is required with `remove_url` or `remove_method`",
        ));
    }
    let mut config = HttpTemplateConfig::new(url, payload);
    config.headers = raw.headers;
    if let Some(method) = raw.method {
        config.method = method;
    }
    config.remove_url = raw
        .remove_url
        .map(|url| parse_url("remove_url", &url))
        .transpose()?;
    config.remove_method = raw.remove_method;
    config.remove_payload = raw.remove_payload;
    Ok(Some(config))
}
