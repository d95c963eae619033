//! `product = "http"`: any HTTP API, one templated call per value (action `http`), and undone
//! by `remove_payload` when there is one. Its credentials are in `headers`, as references.

use std::collections::BTreeMap;

use trendmicro::http_template::HttpTemplateConfig;
use url::Url;

use crate::error::{ConfigError, invalid};
use crate::parameters::{Reader, RunKeys, objects_per_run};
use crate::reference::{INLINE_SECRET, is_reference};
use crate::targets::reach::{Endpoint, reached, section};
use crate::targets::{Settings, Target};

section! {
    /// `product = "http"`: any HTTP API with a JSON payload template, one call per value.
    HttpSection {
        /// Where each value is sent (required).
        base_url: Option<String>,
        /// Refused with its reason (an http target's credentials are in `headers`), so not in
        /// the schema.
        #[schemars(skip)]
        api_key: Option<String>,
        /// The HTTP method of each call.
        #[schemars(extend("default" = "POST"))]
        method: Option<String>,
        /// Headers sent with every call; one whose name says it carries a credential
        /// (authorization, key, token, secret) must be a reference (`env:NAME`, `file:PATH`,
        /// or `${env:NAME}` inside the text).
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The JSON body template of each call (required): `$value`, `$kind`, `$score`,
        /// `$tags`, `$source` ... are replaced per value.
        payload: Option<String>,
        /// Where a value's removal is sent (default `base_url`).
        remove_url: Option<String>,
        /// The HTTP method of a removal (default `method`).
        remove_method: Option<String>,
        /// The body template of a removal; without it, what is sent is never undone.
        remove_payload: Option<String>,
    }
}

/// The keys only this product takes.
pub(crate) const KEYS: &[&str] = &[
    "base_url",
    "api_key",
    "method",
    "headers",
    "payload",
    "remove_url",
    "remove_method",
    "remove_payload",
];

/// An `http` target, validated: its templates (header secrets are resolved by the client).
#[derive(Debug, Clone)]
pub struct HttpTarget {
    pub template: HttpTemplateConfig,
}

impl HttpTarget {
    /// The client settings of `target` (this product's).
    pub fn config(&self, target: &Target) -> HttpTemplateConfig {
        let mut config = self.template.clone();
        config.http = target.http.clone();
        config
    }

    /// Whether what it sends can be undone (it has a `remove_payload`).
    pub fn can_remove(&self) -> bool {
        self.template.remove_payload.is_some()
    }
}

/// Validates an `http` section, pushing every error at its key path; `None` when its template
/// is wrong (the errors say why).
pub(crate) fn validate(
    path: &str,
    s: HttpSection,
    errors: &mut Vec<ConfigError>,
) -> Option<Target> {
    let endpoint = Endpoint {
        base_url: s.base_url.as_deref(),
        remove_url: s.remove_url.as_deref(),
        bare_host: false,
        credentials: "the target's headers (its credentials)",
    };
    let reached = reached(path, &s.reach(), &endpoint, errors);
    if s.api_key.is_some() {
        errors.push(invalid(
            format!("{path}.api_key"),
            "an http target carries its credentials in `headers` (as references)",
        ));
    }
    let template = template_section(path, s, errors)?;
    Some(Target::new(
        reached,
        Settings::Http(Box::new(HttpTarget { template })),
    ))
}

/// The template section of an `http` target: `base_url` is where it goes, `payload` its
/// template, and `remove_payload` (to `remove_url`, default `base_url`) how a value is undone.
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

/// HTTP template parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpParams {
    pub objects_per_run: Option<usize>,
}

// Describes the keys `http_params` reads, for the schema.
/// The `parameters` of `action = "http"` (templated HTTP calls).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct HttpKeys {
    #[schemars(flatten)]
    run: RunKeys,
}

pub(crate) fn http_params(r: &mut Reader<'_>) -> HttpParams {
    HttpParams {
        objects_per_run: objects_per_run(r),
    }
}
