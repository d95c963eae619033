//! Apex Central target configuration: the server, the application registered on its Automation
//! API Access Settings screen (ID and API key), and the HTTP policy.

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::Error;
use crate::transport::{HttpPolicy, config_error};

/// One Apex Central target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApexCentralConfig {
    /// The server, e.g. `https://apex.corp.example` (the API lives under `/WebApp/api/`). A path
    /// prefix is kept, but the request checksum covers the path as sent: a gateway that rewrites
    /// paths breaks every signature.
    pub base_url: Url,
    /// The application ID (the token's `appid` claim). Not a secret: every token carries it in
    /// clear.
    pub application_id: String,
    /// The API key tokens are signed with; it never travels itself. Never shown by `Debug`.
    pub api_key: SecretString,
    /// Timeouts, proxy, TLS (on-premise servers often have a private CA: prefer `ca_bundle` to
    /// turning verification off), limits and retries.
    #[serde(default)]
    pub http: HttpPolicy,
}

impl ApexCentralConfig {
    /// A configuration with the default HTTP policy.
    pub fn new(base_url: Url, application_id: impl Into<String>, api_key: SecretString) -> Self {
        Self {
            base_url,
            application_id: application_id.into(),
            api_key,
            http: HttpPolicy::default(),
        }
    }

    /// Checks every value without I/O.
    pub fn validate(&self) -> Result<(), Error> {
        let url = &self.base_url;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(config_error(
                "base_url",
                &format!("`{url}` is not an http(s) address with a host"),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(config_error(
                "base_url",
                "must not carry a query or fragment",
            ));
        }
        let id = &self.application_id;
        if id.trim().is_empty() || id.chars().any(char::is_control) {
            return Err(config_error(
                "application_id",
                "must be the non-empty ID shown on Apex Central's Automation API Access Settings screen",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_toml_validates_and_hides_the_key() {
        let config: ApexCentralConfig = toml::from_str(
            "base_url = \"https://apex.corp.example\"\napplication_id = \"2E28ED1B-ABA2\"\napi_key = \"apex-very-secret\"\n",
        )
        .unwrap();
        config.validate().unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("apex-very-secret"), "{shown}");
        assert!(shown.contains("2E28ED1B-ABA2"), "{shown}");
        let unknown = toml::from_str::<ApexCentralConfig>(
            "base_url = \"https://a.example\"\napplication_id = \"x\"\napi_key = \"k\"\nregion = \"us\"\n",
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn refuses_unusable_values() {
        let base = |url: &str| Url::parse(url).unwrap();
        let cases = [
            (base("ftp://apex.example"), "id", "`base_url`"),
            (base("https://apex.example/?a=1"), "id", "`base_url`"),
            (base("https://apex.example"), " ", "`application_id`"),
            (base("https://apex.example"), "id\n", "`application_id`"),
        ];
        for (url, id, key) in cases {
            let error = ApexCentralConfig::new(url, id, "k".into())
                .validate()
                .unwrap_err()
                .to_string();
            assert!(error.contains(key), "{error}");
        }
    }
}
