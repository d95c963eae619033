//! Deep Security target configuration: the instance or Workload Security region, the key and
//! its header, paging.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use super::region::Region;
use crate::Error;
use crate::transport::{HttpPolicy, config_error};

/// Which header carries the API key (the seed's "Authentication Header Parameter Name").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthHeader {
    /// `Authorization: ApiKey <key>`: Cloud One API keys.
    Authorization,
    /// `api-secret-key: <key>`: on-premise managers and legacy Workload Security keys.
    ApiSecretKey,
}

/// One Deep Security / Workload Security target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepSecurityConfig {
    /// The manager: `https://dsm.example:4119` (on-premise; give the port) or
    /// `workload.us-1.cloudone.trendmicro.com` (Cloud One). The scheme defaults to `https://`
    /// and `/api` is added when missing. Give this or `region`.
    #[serde(default)]
    pub instance: Option<String>,
    /// The Workload Security region whose manager to use. Give this or `instance`.
    #[serde(default)]
    pub region: Option<Region>,
    /// The API key; never shown by `Debug`.
    pub api_key: SecretString,
    /// The header that carries the key. Unset means `authorization` for Cloud One hosts
    /// (`*.cloudone.trendmicro.com`) and `api-secret-key` for every other host.
    #[serde(default)]
    pub auth_header: Option<AuthHeader>,
    /// Timeouts, proxy, TLS (on-premise managers often have self-signed certificates: prefer
    /// `ca_bundle` to turning verification off), limits and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// IP lists fetched per search request when listing them all (default 250).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    250
}

impl DeepSecurityConfig {
    /// A configuration for a manager's address, every optional setting at its default.
    pub fn new(instance: impl Into<String>, api_key: SecretString) -> Self {
        Self::build(Some(instance.into()), None, api_key)
    }

    /// A configuration for a Workload Security region, every optional setting at its default.
    pub fn with_region(region: Region, api_key: SecretString) -> Self {
        Self::build(None, Some(region), api_key)
    }

    fn build(instance: Option<String>, region: Option<Region>, api_key: SecretString) -> Self {
        Self {
            instance,
            region,
            api_key,
            auth_header: None,
            http: HttpPolicy::default(),
            page_size: default_page_size(),
        }
    }

    /// Checks every value without I/O; returns the API base URL (ending in `/api`) and the
    /// header to use.
    pub fn validate(&self) -> Result<(Url, AuthHeader), Error> {
        let base = self.base()?;
        if self.page_size == 0 {
            return Err(config_error("page_size", "must be at least 1"));
        }
        let header = self.auth_header.unwrap_or_else(|| default_header(&base));
        Ok((base, header))
    }

    /// The API base URL from exactly one of `instance` and `region`.
    fn base(&self) -> Result<Url, Error> {
        match (&self.instance, self.region) {
            (Some(instance), None) => normalize_instance(instance),
            (None, Some(region)) => normalize_instance(&region.base_url()),
            (Some(_), Some(_)) => Err(config_error(
                "instance",
                "give either `region` or `instance`, not both",
            )),
            (None, None) => Err(config_error(
                "region",
                &format!("give `region` ({}) or `instance`", known_regions()),
            )),
        }
    }
}

fn known_regions() -> String {
    Region::ALL.map(Region::name).join(", ")
}

fn default_header(base: &Url) -> AuthHeader {
    let cloud = base
        .host_str()
        .is_some_and(|host| host.ends_with(".cloudone.trendmicro.com"));
    if cloud {
        AuthHeader::Authorization
    } else {
        AuthHeader::ApiSecretKey
    }
}

/// The API base URL for an instance as a user may write it: with or without `https://`, with
/// or without `/api`, with or without a trailing slash.
pub fn normalize_instance(instance: &str) -> Result<Url, Error> {
    let key = "instance";
    let trimmed = instance.trim();
    if trimmed.is_empty() {
        return Err(config_error(key, "is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|error| {
        config_error(key, &format!("`{instance}` is not a host or URL: {error}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(config_error(
            key,
            &format!("`{instance}` is not an http(s) address with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config_error(
            key,
            &format!("`{instance}` must not carry a query or fragment"),
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/api") {
        path
    } else {
        format!("{path}/api")
    };
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_normalise_to_the_api_base() {
        let cases = [
            ("dsm.corp:4119", "https://dsm.corp:4119/api"),
            ("https://dsm.corp:4119", "https://dsm.corp:4119/api"),
            ("https://dsm.corp:4119/api/", "https://dsm.corp:4119/api"),
            (
                "workload.us-1.cloudone.trendmicro.com",
                "https://workload.us-1.cloudone.trendmicro.com/api",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api"),
            (" https://gw.corp/ds ", "https://gw.corp/ds/api"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize_instance(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
        for bad in ["", "ftp://dsm.corp", "https://dsm.corp/api?x=1", "https://"] {
            let error = normalize_instance(bad).unwrap_err().to_string();
            assert!(error.contains("`instance`"), "{bad}: {error}");
        }
    }

    #[test]
    fn header_defaults_by_host() {
        let cloud = DeepSecurityConfig::new("workload.de-1.cloudone.trendmicro.com", "k".into());
        assert_eq!(cloud.validate().unwrap().1, AuthHeader::Authorization);
        let onprem = DeepSecurityConfig::new("dsm.corp:4119", "k".into());
        assert_eq!(onprem.validate().unwrap().1, AuthHeader::ApiSecretKey);
        let mut chosen = onprem.clone();
        chosen.auth_header = Some(AuthHeader::Authorization);
        assert_eq!(chosen.validate().unwrap().1, AuthHeader::Authorization);
    }

    #[test]
    fn a_region_gives_its_workload_host_and_the_authorization_header() {
        let config = DeepSecurityConfig::with_region(Region::Ae1, "k".into());
        let (base, header) = config.validate().unwrap();
        assert_eq!(
            base.as_str(),
            "https://workload.ae-1.cloudone.trendmicro.com/api"
        );
        assert_eq!(header, AuthHeader::Authorization);
        let from_toml: DeepSecurityConfig =
            toml::from_str("region = \"ae-1\"\napi_key = \"k\"\n").unwrap();
        assert_eq!(from_toml.validate().unwrap().0, base);

        let mut both = config.clone();
        both.instance = Some("dsm.corp:4119".into());
        let error = both.validate().unwrap_err().to_string();
        assert!(error.contains("not both"), "{error}");
        both.instance = None;
        both.region = None;
        let error = both.validate().unwrap_err().to_string();
        assert!(
            error.contains("`region`") && error.contains("ae-1"),
            "{error}"
        );
        let error = toml::from_str::<DeepSecurityConfig>("region = \"mars-1\"\napi_key = \"k\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("mars-1"), "{error}");
    }

    #[test]
    fn reads_from_toml_and_hides_the_key() {
        let config: DeepSecurityConfig = toml::from_str(
            "instance = \"dsm.corp:4119\"\napi_key = \"2:very-secret\"\nauth_header = \"api-secret-key\"\n",
        )
        .unwrap();
        assert_eq!(config.auth_header, Some(AuthHeader::ApiSecretKey));
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
