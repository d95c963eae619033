//! `product = "deep-security"`: Deep Security or Workload Security IP lists (action
//! `ip-list`), written whole as `<list_name>_0`, `<list_name>_1`, ...

use store::Class;
use trendmicro::deep_security::{AuthHeader, DeepSecurityConfig, Region};

use crate::error::ConfigError;
use crate::parameters::{Reader, RunKeys, objects_per_run};
use crate::targets::reach::{Endpoint, api_key, reached, region, resolve_key, section};
use crate::targets::{Settings, Target};

section! {
    /// `product = "deep-security"`: Deep Security or Workload Security IP lists.
    DeepSecuritySection {
        /// A Workload Security region (`us-1` ... `ae-1`), instead of `base_url` (a manager).
        region: Option<String>,
        /// A manager: a URL (`https://dsm.example:4119/api`) or a bare host (https implied),
        /// instead of `region`.
        base_url: Option<String>,
        /// The API key, by reference (required).
        #[schemars(with = "Option<crate::schema::SecretRef>")]
        api_key: Option<String>,
        /// Which header carries the API key (default: `authorization` for Cloud One hosts,
        /// `api-secret-key` for others).
        auth_header: Option<AuthHeader>,
    }
}

/// The keys only this product (and others like it) takes.
pub(crate) const KEYS: &[&str] = &["region", "base_url", "api_key", "auth_header"];

/// A Deep Security / Workload Security target, validated.
#[derive(Debug, Clone)]
pub struct DeepSecurityTarget {
    pub(crate) region: Option<Region>,
    /// A manager: a URL, or a bare host (https implied).
    pub(crate) base_url: Option<String>,
    pub(crate) key_ref: String,
    pub(crate) auth_header: Option<AuthHeader>,
}

impl DeepSecurityTarget {
    /// The client settings of `target` (this product's), resolving the key.
    pub fn config(&self, target: &Target) -> Result<DeepSecurityConfig, ConfigError> {
        let key = resolve_key(&target.name, &self.key_ref)?;
        let mut config = match (&self.base_url, self.region) {
            (Some(instance), _) => DeepSecurityConfig::new(instance.clone(), key),
            (None, Some(region)) => DeepSecurityConfig::with_region(region, key),
            (None, None) => {
                return Err(crate::error::invalid(
                    format!("targets.{}", target.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.auth_header = self.auth_header;
        config.http = target.http.clone();
        Ok(config)
    }
}

/// Validates a `deep-security` section, pushing every error at its key path.
pub(crate) fn validate(
    path: &str,
    s: DeepSecuritySection,
    errors: &mut Vec<ConfigError>,
) -> Target {
    let endpoint = Endpoint {
        bare_host: true,
        ..Endpoint::api(s.base_url.as_deref())
    };
    let reached = reached(path, &s.reach(), &endpoint, errors);
    let settings = DeepSecurityTarget {
        key_ref: api_key(path, s.api_key, errors),
        region: region(path, s.region.as_deref(), s.base_url.is_some(), errors),
        auth_header: s.auth_header,
        base_url: s.base_url,
    };
    Target::new(reached, Settings::DeepSecurity(settings))
}

/// "Export Indicators" (Deep Security IP lists) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct IpListParams {
    pub list_name: String,
    pub clear_on_manual_run: bool,
    pub objects_per_run: Option<usize>,
    pub aggregate: bool,
    pub include: Vec<Class>,
    /// Characters per part (Deep Security takes 32,000).
    pub max_chars: usize,
}

// Describes the keys `ip_list_params` reads, for the schema.
/// The `parameters` of `action = "ip-list"` (Deep Security IP lists).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct IpListKeys {
    #[schemars(flatten)]
    run: RunKeys,
    /// The lists' name: parts are named `<list_name>_0`, `<list_name>_1`, ... (default: the
    /// workflow's name).
    #[schemars(length(min = 1))]
    list_name: Option<String>,
    /// Empty the lists before a manual run (`iocsync run`) writes them.
    #[schemars(extend("default" = false))]
    clear_on_manual_run: Option<bool>,
    /// Merge adjacent addresses into networks.
    #[schemars(extend("default" = true))]
    aggregate: Option<bool>,
    /// Which classes of values go into the lists.
    #[schemars(length(min = 1), extend("default" = ["indicator", "asset"]))]
    include: Option<Vec<Class>>,
    /// Characters per list part (Deep Security takes 32,000).
    #[schemars(
        range(min = 100, max = trendmicro::deep_security::IP_LIST_MAX_CHARS),
        extend("default" = trendmicro::deep_security::IP_LIST_MAX_CHARS)
    )]
    max_chars: Option<u32>,
}

pub(crate) fn ip_list_params(r: &mut Reader<'_>, workflow: &str) -> IpListParams {
    let list_name = match r.raw("list_name") {
        None => workflow.to_owned(),
        Some(toml::Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(_) => {
            r.fail("list_name", "expected a non-empty string");
            workflow.to_owned()
        }
    };
    let include = match r.raw("include") {
        None => vec![Class::Indicator, Class::Asset],
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let classes: Option<Vec<Class>> = items
                .iter()
                .map(|item| item.as_str().and_then(|s| s.parse::<Class>().ok()))
                .collect();
            classes.unwrap_or_else(|| {
                r.fail("include", "expected \"indicator\" and/or \"asset\"");
                Vec::new()
            })
        }
        Some(_) => {
            r.fail("include", "expected [\"indicator\", \"asset\"]");
            Vec::new()
        }
    };
    IpListParams {
        list_name,
        clear_on_manual_run: r.boolean("clear_on_manual_run").unwrap_or(false),
        objects_per_run: objects_per_run(r),
        aggregate: r.boolean("aggregate").unwrap_or(true),
        include,
        max_chars: r
            .integer(
                "max_chars",
                100,
                trendmicro::deep_security::IP_LIST_MAX_CHARS as i64,
            )
            .unwrap_or(trendmicro::deep_security::IP_LIST_MAX_CHARS as i64)
            as usize,
    }
}
