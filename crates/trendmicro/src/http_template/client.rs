//! [`HttpTemplateClient`]: renders the payload for one set of fields and sends it.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use secrecy::SecretString;
use url::Url;

use super::PRODUCT;
use super::config::HttpTemplateConfig;
use super::request::{Fields, Template};
use crate::Error;
use crate::error::excerpt;
use crate::http::{CallStats, EXCERPT_CHARS, HttpClient, Profile, config_error, secret_header};
use crate::secret::expand;

/// The label of every call in the metrics.
const ENDPOINT: &str = "webhook";

/// A built webhook: secrets resolved, template parsed.
#[derive(Debug)]
pub struct HttpTemplateClient {
    http: HttpClient,
    url: Url,
    method: Method,
    headers: Vec<(HeaderName, SecretString)>,
    template: Template,
}

/// A 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// The start of the body.
    pub excerpt: String,
}

impl HttpTemplateClient {
    /// Parses the template, resolves header secrets and builds the client.
    pub fn new(config: &HttpTemplateConfig) -> Result<Self, Error> {
        let template = Template::parse(&config.payload)?;
        let method = Method::from_bytes(config.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                config_error(
                    "method",
                    &format!("`{}` is not an HTTP method", config.method),
                )
            })?;
        if !matches!(config.url.scheme(), "http" | "https") {
            return Err(config_error("url", "must be an http(s) URL"));
        }
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let key = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(&key, "is not a valid header name"))?;
            let secret = expand(value)?;
            secret_header("", &secret, &key)?;
            headers.push((header, secret));
        }
        let http = HttpClient::new(
            &config.http,
            Profile {
                product: PRODUCT,
                rate_limit_first_delay: Duration::from_secs(1),
            },
        )?;
        Ok(Self {
            http,
            url: config.url.clone(),
            method,
            headers,
            template,
        })
    }

    /// The parsed template (its placeholders tell which fields an alert must provide).
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// API calls, retries and rate-limit pauses so far.
    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// Renders the payload for `fields` and sends it. A non-2xx answer (after the policy's
    /// retries for 429 and 5xx) is [`Error::Webhook`] with the status and the body's start.
    pub async fn send(&self, fields: &Fields<'_>) -> Result<WebhookResponse, Error> {
        let body = Bytes::from(self.template.render(fields)?.to_string());
        let headers = self
            .headers
            .iter()
            .map(|(name, secret)| Ok((name.clone(), secret_header("", secret, name.as_str())?)))
            .collect::<Result<Vec<(HeaderName, HeaderValue)>, Error>>()?;
        let has_type = headers.iter().any(|(name, _)| name == CONTENT_TYPE);
        let response = self
            .http
            .send(ENDPOINT, |client| {
                let mut request = client
                    .request(self.method.clone(), self.url.clone())
                    .body(body.clone());
                if !has_type {
                    request = request.header(CONTENT_TYPE, "application/json");
                }
                for (name, value) in &headers {
                    request = request.header(name.clone(), value.clone());
                }
                request
            })
            .await?;
        let excerpt = excerpt(&response.body, EXCERPT_CHARS);
        if response.status.is_success() {
            Ok(WebhookResponse {
                status: response.status.as_u16(),
                excerpt,
            })
        } else {
            let mut shown = self.url.clone();
            shown.set_query(None);
            Err(Error::Webhook {
                url: shown.to_string(),
                status: response.status.as_u16(),
                excerpt,
            })
        }
    }
}
