//! Webhook configuration: where to send, how, with which headers and which payload template.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use url::Url;

use crate::transport::HttpPolicy;

/// One `http` target: where its calls go and their payload templates.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTemplateConfig {
    /// Where the request goes.
    pub url: Url,
    /// The HTTP method (default `POST`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers. A value may be a secret reference: exactly `env:NAME` or `file:PATH`,
    /// or `${env:NAME}` / `${file:PATH}` inside a longer value (`Bearer ${env:XDR_TOKEN}`).
    /// References are resolved when the client is built; `Debug` shows no header value.
    /// `Content-Type` defaults to `application/json`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON payload template (see [`super::request`] for the placeholders).
    pub payload: String,
    /// Where a removal goes (default `url`).
    #[serde(default)]
    pub remove_url: Option<Url>,
    /// The method of a removal (default `method`).
    #[serde(default)]
    pub remove_method: Option<String>,
    /// The JSON payload template that undoes a value, with the same placeholders. Without it
    /// the target has no undo: a removal only forgets the value and no block can be lifted.
    #[serde(default)]
    pub remove_payload: Option<String>,
    /// Timeouts, proxy, TLS, limits and retries. An API that is not idempotent may want
    /// `retry.max_attempts = 1`.
    #[serde(default)]
    pub http: HttpPolicy,
}

fn default_method() -> String {
    "POST".to_owned()
}

impl HttpTemplateConfig {
    /// A POST of `payload` to `url`, without extra headers, with the default policy.
    pub fn new(url: Url, payload: impl Into<String>) -> Self {
        Self {
            url,
            method: default_method(),
            headers: BTreeMap::new(),
            payload: payload.into(),
            remove_url: None,
            remove_method: None,
            remove_payload: None,
            http: HttpPolicy::default(),
        }
    }
}

impl fmt::Debug for HttpTemplateConfig {
    /// Header values may be literal secrets: only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTemplateConfig")
            .field("url", &redacted(&self.url))
            .field("method", &self.method)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("payload", &self.payload)
            .field("remove_url", &self.remove_url.as_ref().map(redacted))
            .field("remove_method", &self.remove_method)
            .field("remove_payload", &self.remove_payload)
            .field("http", &self.http)
            .finish()
    }
}

/// A URL whose query (which may carry a token) is not shown.
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.query().is_some() {
        shown.set_query(Some("REDACTED"));
    }
    shown.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_header_names_only() {
        let mut config = HttpTemplateConfig::new(
            Url::parse("https://hooks.example/x?token=abc123").unwrap(),
            "{}",
        );
        config.remove_url = Some(Url::parse("https://hooks.example/undo?token=def456").unwrap());
        config
            .headers
            .insert("Authorization".into(), "Bearer literal-secret-value".into());
        let shown = format!("{config:?}");
        assert!(shown.contains("Authorization"), "{shown}");
        assert!(!shown.contains("literal-secret-value"), "{shown}");
        assert!(
            !shown.contains("abc123") && !shown.contains("def456"),
            "{shown}"
        );
    }

    #[test]
    fn reads_from_toml() {
        let config: HttpTemplateConfig = toml::from_str(
            r#"
url = "https://api.xdr.trendmicro.com/v2.0/xdr/response/block"
headers = { Authorization = "Bearer ${env:XDR_TOKEN}" }
payload = '{"valueType":"ip","targetValue":"$SrcIP"}'
"#,
        )
        .unwrap();
        assert_eq!(config.method, "POST");
        assert_eq!(config.headers["Authorization"], "Bearer ${env:XDR_TOKEN}");
    }
}
