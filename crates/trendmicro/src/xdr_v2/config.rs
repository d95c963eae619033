//! XDR v2 target configuration: region or base URL, token, and how a task is polled.

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::Error;
use crate::transport::{HttpPolicy, config_error};
use crate::vision_one::Region;
use crate::vision_one::config::resolve_base;

/// One XDR v2 target (the same regional hosts as Vision One).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XdrV2Config {
    /// The region whose API host to use. Give this or `base_url`.
    #[serde(default)]
    pub region: Option<Region>,
    /// The API's base URL (the emulator, a gateway). Give this or `region`.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// The API token, sent as `Authorization: Bearer`; never shown by `Debug`.
    pub api_key: SecretString,
    /// Timeouts, proxy, TLS, limits and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// First pause between two task polls, in milliseconds (default 1000); pauses double up to
    /// `poll_max_delay_ms`.
    #[serde(default = "default_poll_min")]
    pub poll_min_delay_ms: u64,
    /// Longest pause between two task polls, in milliseconds (default 10,000).
    #[serde(default = "default_poll_max")]
    pub poll_max_delay_ms: u64,
}

fn default_poll_min() -> u64 {
    1000
}
fn default_poll_max() -> u64 {
    10_000
}

impl XdrV2Config {
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
            poll_min_delay_ms: default_poll_min(),
            poll_max_delay_ms: default_poll_max(),
        }
    }

    /// Checks every value without I/O and returns the API's base URL.
    pub fn validate(&self) -> Result<Url, Error> {
        let base = resolve_base(self.region, self.base_url.as_ref())?;
        if self.poll_min_delay_ms == 0 {
            return Err(config_error("poll_min_delay_ms", "must be at least 1"));
        }
        if self.poll_max_delay_ms < self.poll_min_delay_ms {
            return Err(config_error(
                "poll_max_delay_ms",
                "must be at least poll_min_delay_ms",
            ));
        }
        Ok(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_hides_the_key() {
        let mut config = XdrV2Config::with_region(Region::Au, "tok-secret-99".into());
        assert_eq!(
            config.validate().unwrap().as_str(),
            "https://api.au.xdr.trendmicro.com/"
        );
        assert!(!format!("{config:?}").contains("tok-secret-99"));
        config.poll_max_delay_ms = 1;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`poll_max_delay_ms`"), "{error}");
    }
}
