//! What every `[[targets]]` section takes whatever its product: the target's name and how it
//! is reached (TLS, proxy, rate, concurrency), declared once by [`section!`] and checked once
//! by [`reached`]; and the key readers products share ([`api_key`], [`region`]).

use std::num::NonZeroU32;
use std::path::PathBuf;

use trendmicro::transport::{HttpPolicy, ProxySetting};
use url::Url;

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference};
use crate::transport;

/// Declares one product's section: its own keys, then the keys every target takes (its name
/// and how it is reached, see [`Reach`]).
macro_rules! section {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            /// The target's name, which workflows and triggers refer to (unique in the file).
            name: String,
            $($(#[$field_meta])* $field: $ty,)*
            /// Whether the server's TLS certificate is verified.
            #[schemars(extend("default" = true))]
            tls_verify: Option<bool>,
            /// A PEM file of CA certificates to trust for this target, besides the system's.
            ca_bundle: Option<std::path::PathBuf>,
            /// `"system"` (the `HTTPS_PROXY`/`NO_PROXY` environment, the default), `"none"`,
            /// or a proxy URL, with the user but never the password.
            #[schemars(extend("default" = "system"))]
            proxy: Option<String>,
            /// The proxy's password, when `proxy` names a user.
            #[schemars(with = "Option<crate::schema::SecretRef>")]
            proxy_password: Option<String>,
            /// Allow plain `http://` to hosts other than loopback (credentials then travel in
            /// clear text).
            #[serde(default)]
            allow_plain_http: bool,
            /// Most requests per minute sent to this target (no limit when not given).
            requests_per_minute: Option<std::num::NonZeroU32>,
            /// Most requests in flight at once.
            #[schemars(range(min = 1), extend("default" = 4))]
            max_concurrency: Option<usize>,
            /// Objects per request; only Vision One lists use it, but the example file documents
            /// it as a key of every target.
            #[schemars(range(min = 1))]
            batch_size: Option<usize>,
        }

        impl $name {
            fn reach(&self) -> $crate::targets::reach::Reach<'_> {
                $crate::targets::reach::Reach {
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
pub(crate) use section;

/// The keys every section takes: the target's name and how it is reached.
pub(crate) struct Reach<'a> {
    pub(crate) name: &'a str,
    pub(crate) tls_verify: Option<bool>,
    pub(crate) ca_bundle: Option<&'a PathBuf>,
    pub(crate) proxy: Option<&'a str>,
    pub(crate) proxy_password: Option<&'a str>,
    pub(crate) allow_plain_http: bool,
    pub(crate) requests_per_minute: Option<NonZeroU32>,
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) batch_size: Option<usize>,
}

/// Where a product's requests go, as its section wrote it, for the transport rules.
pub(crate) struct Endpoint<'a> {
    pub(crate) base_url: Option<&'a str>,
    pub(crate) remove_url: Option<&'a str>,
    /// Deep Security's `base_url` may be a bare host (https implied); the others are URLs.
    pub(crate) bare_host: bool,
    /// What plain http would send in clear text (the API key, an http target's headers).
    pub(crate) credentials: &'static str,
}

impl<'a> Endpoint<'a> {
    /// A product called at `base_url` with an API key.
    pub(crate) fn api(base_url: Option<&'a str>) -> Endpoint<'a> {
        Endpoint {
            base_url,
            remove_url: None,
            bare_host: false,
            credentials: "the API key",
        }
    }
}

/// What every product shares, checked: the name, and how requests are sent.
pub(crate) struct Reached {
    pub(crate) name: String,
    pub(crate) http: HttpPolicy,
    pub(crate) batch_size: Option<usize>,
}

/// Checks the keys every product shares, pushing each error at `path.key`.
pub(crate) fn reached(
    path: &str,
    reach: &Reach<'_>,
    endpoint: &Endpoint<'_>,
    errors: &mut Vec<ConfigError>,
) -> Reached {
    if reach.name.trim().is_empty() {
        errors.push(invalid(format!("{path}.name"), "must not be empty"));
    }
    transport::check(
        path,
        &transport::TransportKeys {
            endpoint,
            proxy: reach.proxy,
            proxy_password: reach.proxy_password,
            allow_plain_http: reach.allow_plain_http,
        },
        errors,
    );
    if let Some(url) = endpoint.base_url
        && !endpoint.bare_host
        && let Err(error) = Url::parse(url)
    {
        errors.push(invalid(format!("{path}.base_url"), error.to_string()));
    }
    if reach.batch_size == Some(0) {
        errors.push(invalid(format!("{path}.batch_size"), "must be at least 1"));
    }
    Reached {
        name: reach.name.to_owned(),
        http: policy(path, reach, errors),
        batch_size: reach.batch_size,
    }
}

/// TLS, proxy, rate and concurrency, as the client takes them.
fn policy(path: &str, reach: &Reach<'_>, errors: &mut Vec<ConfigError>) -> HttpPolicy {
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
    http
}

/// `api_key`: required, and a reference.
pub(crate) fn api_key(path: &str, key: Option<String>, errors: &mut Vec<ConfigError>) -> String {
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
pub(crate) fn region<R>(
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

/// Reads the secret `key_ref` names, for target `name`'s client.
pub(crate) fn resolve_key(name: &str, key_ref: &str) -> Result<secrecy::SecretString, ConfigError> {
    trendmicro::secret::expand(key_ref)
        .map_err(|error| invalid(format!("targets.{name}.api_key"), error.to_string()))
}

/// The client settings of a product reached by `base_url` or `region` (validation made sure
/// one is given), built by `by_url` or `by_region` with the key `key_ref` names; `target`'s
/// transport policy goes into them through `with_policy`.
pub(crate) struct Reachable<'a, R> {
    pub(crate) target: &'a crate::targets::Target,
    pub(crate) key_ref: &'a str,
    pub(crate) base_url: Option<&'a str>,
    pub(crate) region: Option<R>,
}

impl<R: Copy> Reachable<'_, R> {
    pub(crate) fn build<C>(
        &self,
        by_url: impl FnOnce(Url, secrecy::SecretString) -> C,
        by_region: impl FnOnce(R, secrecy::SecretString) -> C,
    ) -> Result<C, ConfigError> {
        let name = &self.target.name;
        let key = resolve_key(name, self.key_ref)?;
        match (self.base_url, self.region) {
            (Some(url), _) => Url::parse(url)
                .map(|url| by_url(url, key))
                .map_err(|error| invalid(format!("targets.{name}.base_url"), error.to_string())),
            (None, Some(region)) => Ok(by_region(region, key)),
            (None, None) => Err(invalid(
                format!("targets.{name}"),
                "give `region` or `base_url`",
            )),
        }
    }
}
