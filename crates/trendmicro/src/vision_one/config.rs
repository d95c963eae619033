//! Vision One target configuration: where the API is, the key, and how writes are batched and
//! listings paged. [`VisionOneConfig::validate`] is pure; building a client does the rest.

use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::Error;
use crate::error::UnknownRegion;
use crate::transport::{HttpPolicy, config_error};

/// A Vision One (and XDR) data-centre region; each has its own API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Eu,
    Au,
    Sg,
    Jp,
    In,
    /// Middle East and Africa (UAE).
    Mea,
    Ca,
    Uk,
    Za,
    Id,
    Br,
    /// FedRAMP; not in Trend's spec, but a published host.
    Usgov,
}

impl Region {
    /// Every region, in declaration order.
    pub const ALL: [Region; 13] = [
        Region::Us,
        Region::Eu,
        Region::Au,
        Region::Sg,
        Region::Jp,
        Region::In,
        Region::Mea,
        Region::Ca,
        Region::Uk,
        Region::Za,
        Region::Id,
        Region::Br,
        Region::Usgov,
    ];

    /// The API host's base URL (endpoints live under `/v3.0/`, XDR v2 under `/v2.0/`).
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.xdr.trendmicro.com",
            Region::Eu => "https://api.eu.xdr.trendmicro.com",
            Region::Au => "https://api.au.xdr.trendmicro.com",
            Region::Sg => "https://api.sg.xdr.trendmicro.com",
            Region::Jp => "https://api.xdr.trendmicro.co.jp",
            Region::In => "https://api.in.xdr.trendmicro.com",
            Region::Mea => "https://api.mea.xdr.trendmicro.com",
            Region::Ca => "https://api.ca.xdr.trendmicro.com",
            Region::Uk => "https://api.uk.xdr.trendmicro.com",
            Region::Za => "https://api.za.xdr.trendmicro.com",
            Region::Id => "https://api.id.xdr.trendmicro.com",
            Region::Br => "https://api.br.xdr.trendmicro.com",
            Region::Usgov => "https://api.usgov.xdr.trendmicro.com",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The serde name, so messages match what the config file says.
        let name = match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Au => "au",
            Region::Sg => "sg",
            Region::Jp => "jp",
            Region::In => "in",
            Region::Mea => "mea",
            Region::Ca => "ca",
            Region::Uk => "uk",
            Region::Za => "za",
            Region::Id => "id",
            Region::Br => "br",
            Region::Usgov => "usgov",
        };
        f.write_str(name)
    }
}

impl std::str::FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        UnknownRegion::lookup(&Region::ALL, name)
    }
}

/// The base URL from exactly one of `region` and `base_url` (shared with XDR v2).
pub(crate) fn resolve_base(region: Option<Region>, base_url: Option<&Url>) -> Result<Url, Error> {
    match (region, base_url) {
        (Some(_), Some(_)) => Err(config_error(
            "base_url",
            "give either `region` or `base_url`, not both",
        )),
        (None, None) => Err(config_error(
            "region",
            "give `region` (us, eu, au, sg, jp, in, mea, ca, uk, za, id, br, usgov) or `base_url`",
        )),
        (Some(region), None) => Url::parse(region.base_url())
            .map_err(|error| config_error("region", &error.to_string())),
        (None, Some(url)) => check_base_url(url),
    }
}

fn check_base_url(url: &Url) -> Result<Url, Error> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(config_error(
            "base_url",
            &format!("`{url}` is not an http(s) URL with a host"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config_error(
            "base_url",
            &format!("`{url}` must not carry a query or fragment"),
        ));
    }
    Ok(url.clone())
}

/// One Vision One target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisionOneConfig {
    /// The region whose API host to use. Give this or `base_url`.
    #[serde(default)]
    pub region: Option<Region>,
    /// The API's base URL (the emulator, a gateway, a region not listed). Give this or `region`.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// The API key; its role needs the "Suspicious Object Management" permissions (view, and
    /// manage lists). Sent only as `Authorization: Bearer`; never shown by `Debug`.
    pub api_key: SecretString,
    /// Timeouts, proxy, TLS, limits and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// Most suspicious objects in one request (default 1000).
    #[serde(default = "default_suspicious_batch")]
    pub suspicious_batch_size: usize,
    /// Most exceptions in one request (default 100).
    #[serde(default = "default_exception_batch")]
    pub exception_batch_size: usize,
    /// Largest request body in bytes (default 960,000: under Vision One's 1 MB limit with a
    /// margin).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Items per page when listing: 50, 100 or 200 (default 200: fewest requests).
    #[serde(default = "default_page_size")]
    pub page_size: u16,
    /// Requests an item may ride in when Vision One answers it with a server error (default 3).
    #[serde(default = "default_item_attempts")]
    pub item_attempts: u32,
}

fn default_suspicious_batch() -> usize {
    1000
}
fn default_exception_batch() -> usize {
    100
}
fn default_max_body() -> usize {
    960_000
}
fn default_page_size() -> u16 {
    200
}
fn default_item_attempts() -> u32 {
    3
}

impl VisionOneConfig {
    /// A configuration for an explicit base URL, everything else default.
    pub fn with_base_url(base_url: Url, api_key: SecretString) -> Self {
        Self::new(None, Some(base_url), api_key)
    }

    /// A configuration for a region, everything else default.
    pub fn with_region(region: Region, api_key: SecretString) -> Self {
        Self::new(Some(region), None, api_key)
    }

    fn new(region: Option<Region>, base_url: Option<Url>, api_key: SecretString) -> Self {
        Self {
            region,
            base_url,
            api_key,
            http: HttpPolicy::default(),
            suspicious_batch_size: default_suspicious_batch(),
            exception_batch_size: default_exception_batch(),
            max_body_bytes: default_max_body(),
            page_size: default_page_size(),
            item_attempts: default_item_attempts(),
        }
    }

    /// Checks every value without I/O and returns the API's base URL.
    pub fn validate(&self) -> Result<Url, Error> {
        let base = resolve_base(self.region, self.base_url.as_ref())?;
        if self.suspicious_batch_size == 0 {
            return Err(config_error("suspicious_batch_size", "must be at least 1"));
        }
        if self.exception_batch_size == 0 {
            return Err(config_error("exception_batch_size", "must be at least 1"));
        }
        // Room for the longest object (a 2048-character URL and 1000-character description,
        // JSON-escaped at worst six bytes a character) so every object fits in some request.
        if self.max_body_bytes < 20_000 {
            return Err(config_error("max_body_bytes", "must be at least 20000"));
        }
        if ![50, 100, 200].contains(&self.page_size) {
            return Err(config_error("page_size", "must be 50, 100 or 200"));
        }
        if self.item_attempts == 0 {
            return Err(config_error("item_attempts", "must be at least 1"));
        }
        Ok(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_has_a_parseable_https_host() {
        for region in Region::ALL {
            let url = Url::parse(region.base_url()).unwrap();
            assert_eq!(url.scheme(), "https");
            let name: Region = serde_json::from_str(&format!("\"{region}\"")).unwrap();
            assert_eq!(name, region);
        }
        assert_eq!(Region::Jp.base_url(), "https://api.xdr.trendmicro.co.jp");
        assert_eq!("mea".parse::<Region>(), Ok(Region::Mea));
        let error = "mars".parse::<Region>().unwrap_err().to_string();
        assert!(
            error.contains("`mars`") && error.contains("us, eu, au"),
            "{error}"
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let config = VisionOneConfig::with_region(Region::Eu, "sk-very-secret-1234".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret-1234"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn validate_names_the_bad_key() {
        let mut config = VisionOneConfig::with_region(Region::Us, "k".into());
        config.page_size = 75;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`page_size`"), "{error}");

        config.page_size = 200;
        config.base_url = Some(Url::parse("http://127.0.0.1:1").unwrap());
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("not both"), "{error}");

        config.region = None;
        config.base_url = Some(Url::parse("ftp://host").unwrap());
        assert!(config.validate().is_err());
    }

    #[test]
    fn reads_from_toml() {
        let config: VisionOneConfig =
            toml::from_str("region = \"sg\"\napi_key = \"k\"\nexception_batch_size = 50\n")
                .unwrap();
        assert_eq!(
            config.validate().unwrap().as_str(),
            "https://api.sg.xdr.trendmicro.com/"
        );
        assert_eq!(config.exception_batch_size, 50);
        let error = toml::from_str::<VisionOneConfig>("region = \"mars\"\napi_key = \"k\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("mars"), "{error}");
    }
}
