//! `product = "apex-central"`: Apex Central's user-defined suspicious objects (action `udso`),
//! which Apex Central hands on to Apex One, Deep Discovery and TippingPoint. One value per
//! call; the marker goes into each object's `notes`.

use trendmicro::apex_central::ApexCentralConfig;

use crate::error::{ConfigError, invalid};
use crate::parameters::{Reader, SchemeKeys, UrlScheme, objects_per_run, url_scheme};
use crate::targets::reach::{Endpoint, api_key, reached, resolve_key, section};
use crate::targets::{Settings, Target};

section! {
    /// `product = "apex-central"`: the UDSO list of one Apex Central server.
    ApexCentralSection {
        /// The Apex Central server's URL (required).
        base_url: Option<String>,
        /// The Automation API application ID (not a secret: every request carries it;
        /// required).
        application_id: Option<String>,
        /// The API key, by reference (required).
        #[schemars(with = "Option<crate::schema::SecretRef>")]
        api_key: Option<String>,

    }
}

/// The keys only this product takes.
pub(crate) const KEYS: &[&str] = &["base_url", "application_id", "api_key"];

/// An Apex Central target, validated.
#[derive(Debug, Clone)]
pub struct ApexCentralTarget {
    pub(crate) base_url: String,
    pub(crate) application_id: String,
    pub(crate) key_ref: String,
}

impl ApexCentralTarget {
    /// The client settings of `target` (this product's), resolving the key.
    pub fn config(&self, target: &Target) -> Result<ApexCentralConfig, ConfigError> {
        let key = resolve_key(&target.name, &self.key_ref)?;
        let url = url::Url::parse(&self.base_url).map_err(|error| {
            invalid(
                format!("targets.{}.base_url", target.name),
                error.to_string(),
            )
        })?;
        let mut config = ApexCentralConfig::new(url, &self.application_id, key);
        config.http = target.http.clone();
        Ok(config)
    }
}

/// Validates an `apex-central` section, pushing every error at its key path.
pub(crate) fn validate(path: &str, s: ApexCentralSection, errors: &mut Vec<ConfigError>) -> Target {
    let endpoint = Endpoint {
        credentials: "tokens signed with the API key",
        ..Endpoint::api(s.base_url.as_deref())
    };
    let reached = reached(path, &s.reach(), &endpoint, errors);
    let key_ref = api_key(path, s.api_key, errors);
    let base_url = s.base_url.unwrap_or_else(|| {
        errors.push(invalid(format!("{path}.base_url"), "is required"));
        String::new()
    });
    let application_id = match s.application_id {
        Some(id) if !id.trim().is_empty() && !id.chars().any(char::is_control) => id,
        Some(_) => {
            errors.push(invalid(
                format!("{path}.application_id"),
                "must be the ID on Apex Central's Automation API Access Settings screen",
            ));
            String::new()
        }
        None => {
            errors.push(invalid(format!("{path}.application_id"), "is required"));
            String::new()
        }
    };
    let settings = ApexCentralTarget {
        base_url,
        application_id,
        key_ref,
    };
    Target::new(reached, Settings::ApexCentral(settings))
}

/// What an Apex Central product does with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdsoAction {
    Log,
    Block,
}

/// "User-defined suspicious objects" parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct UdsoParams {
    /// What a URL without a scheme becomes (Apex Central takes http:// and https:// URLs).
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    pub scan_action: UdsoAction,
    /// Most objects iocsync keeps on the list. Apex Central publishes no limit; 10,000 keeps
    /// the list the size Vision One allows per type.
    pub cap: usize,
}

// Describes the keys `udso_params` reads, for the schema.
/// The `parameters` of `action = "udso"` (Apex Central user-defined suspicious objects).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct UdsoKeys {
    #[schemars(flatten)]
    common: SchemeKeys,
    /// What Apex Central's products do with a match: `block` or `log`.
    #[schemars(extend("enum" = ["block", "log"], "default" = "block"))]
    scan_action: Option<String>,
    /// Most objects iocsync keeps on the list.
    #[schemars(range(min = 1, max = 100_000), extend("default" = 10_000))]
    cap: Option<u32>,
}

pub(crate) fn udso_params(r: &mut Reader<'_>) -> UdsoParams {
    let scan_action = match r.string("scan_action", &["block", "log"]) {
        None | Some("block") => UdsoAction::Block,
        Some(_) => UdsoAction::Log,
    };
    UdsoParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        scan_action,
        cap: r.integer("cap", 1, 100_000).unwrap_or(10_000) as usize,
    }
}
