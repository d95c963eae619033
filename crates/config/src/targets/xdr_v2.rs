//! `product = "xdr-v2"`: the legacy XDR v2.0 block / restore-block response API (action
//! `xdr-block`), one value per task.

use std::time::Duration;

use trendmicro::vision_one::config::Region;
use trendmicro::xdr_v2::XdrV2Config;

use crate::error::ConfigError;
use crate::parameters::{Reader, SchemeKeys, UrlScheme, objects_per_run, url_scheme};
use crate::targets::reach::{Endpoint, Reachable, api_key, reached, region, section};
use crate::targets::{Settings, Target};

section! {
    /// `product = "xdr-v2"`: the legacy XDR v2.0 block / restore-block API.
    XdrV2Section {
        /// A Vision One region (`us`, `eu`, ...), instead of `base_url`.
        region: Option<String>,
        /// The API's URL, instead of `region`.
        base_url: Option<String>,
        /// The API key, by reference (required).
        #[schemars(with = "Option<crate::schema::SecretRef>")]
        api_key: Option<String>,

    }
}

/// The keys only this product (and others like it) takes.
pub(crate) const KEYS: &[&str] = &["region", "base_url", "api_key"];

/// An XDR v2 target, validated.
#[derive(Debug, Clone)]
pub struct XdrV2Target {
    pub(crate) region: Option<Region>,
    pub(crate) base_url: Option<String>,
    pub(crate) key_ref: String,
}

impl XdrV2Target {
    /// The client settings of `target` (this product's), resolving the key.
    pub fn config(&self, target: &Target) -> Result<XdrV2Config, ConfigError> {
        let reachable = Reachable {
            target,
            key_ref: &self.key_ref,
            base_url: self.base_url.as_deref(),
            region: self.region,
        };
        let mut config = reachable.build(XdrV2Config::with_base_url, XdrV2Config::with_region)?;
        config.http = target.http.clone();
        Ok(config)
    }
}

/// Validates an `xdr-v2` section, pushing every error at its key path.
pub(crate) fn validate(path: &str, s: XdrV2Section, errors: &mut Vec<ConfigError>) -> Target {
    let reached = reached(
        path,
        &s.reach(),
        &Endpoint::api(s.base_url.as_deref()),
        errors,
    );
    let settings = XdrV2Target {
        key_ref: api_key(path, s.api_key, errors),
        region: region(path, s.region.as_deref(), s.base_url.is_some(), errors),
        base_url: s.base_url,
    };
    Target::new(reached, Settings::XdrV2(settings))
}

/// XDR v2 block parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct XdrParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// `productId` sent with each block (the seed's webhook sends its own name).
    pub product_id: String,
    /// How long to wait for each task to reach a final status.
    pub task_timeout: Duration,
    /// How many blocks may be outstanding at once (sent, their tasks not yet final): a block
    /// is mostly waiting for its task, so many overlap; 1 sends one value at a time.
    pub in_flight: usize,
}

// Describes the keys `xdr_params` reads, for the schema.
/// The `parameters` of `action = "xdr-block"` (XDR v2 blocks).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct XdrKeys {
    #[schemars(flatten)]
    common: SchemeKeys,
    /// The `productId` sent with each block.
    #[schemars(length(min = 1), extend("default" = "iocsync"))]
    product_id: Option<String>,
    /// How long to wait, in seconds, for each block's task to reach a final status.
    #[schemars(range(min = 1, max = 3600), extend("default" = 120))]
    task_timeout_secs: Option<u16>,
    /// How many blocks may be outstanding at once (1: one value at a time).
    #[schemars(range(min = 1, max = 256), extend("default" = 128))]
    in_flight: Option<u16>,
}

pub(crate) fn xdr_params(r: &mut Reader<'_>) -> XdrParams {
    let product_id = match r.raw("product_id") {
        None => "iocsync".to_owned(),
        Some(toml::Value::String(id)) if !id.trim().is_empty() => id.clone(),
        Some(_) => {
            r.fail("product_id", "expected a non-empty string");
            String::new()
        }
    };
    XdrParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        product_id,
        task_timeout: Duration::from_secs(
            r.integer("task_timeout_secs", 1, 3600).unwrap_or(120) as u64
        ),
        in_flight: r.integer("in_flight", 1, 256).unwrap_or(128) as usize,
    }
}
