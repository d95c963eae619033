//! [`HttpTemplateClient`]: renders the payload for one set of fields and sends it; with a
//! removal template, renders and sends the undo too.

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
use crate::secret::expand;
use crate::transport::{
    CallStats, EXCERPT_CHARS, HttpClient, Profile, config_error, secret_header,
};

/// The labels of the calls in the metrics.
const ENDPOINT: &str = "http";
const REMOVE_ENDPOINT: &str = "http-remove";

/// A built `http` target: secrets resolved, templates parsed.
#[derive(Debug)]
pub struct HttpTemplateClient {
    http: HttpClient,
    headers: Vec<(HeaderName, SecretString)>,
    send: Call,
    removal: Option<Call>,
}

/// Where one kind of request goes, how, and with which body.
#[derive(Debug)]
struct Call {
    url: Url,
    method: Method,
    template: Template,
    endpoint: &'static str,
}

impl Call {
    fn new(
        url: &Url,
        method: &str,
        payload: &str,
        [url_key, method_key, payload_key]: [&str; 3],
        endpoint: &'static str,
    ) -> Result<Call, Error> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config_error(url_key, "must be an http(s) URL"));
        }
        let method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| config_error(method_key, &format!("`{method}` is not an HTTP method")))?;
        Ok(Call {
            url: url.clone(),
            method,
            template: Template::parse(payload)
                .map_err(|error| config_error(payload_key, &error.to_string()))?,
            endpoint,
        })
    }
}

/// A 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// The start of the body.
    pub excerpt: String,
}

impl HttpTemplateClient {
    /// Parses the templates, resolves header secrets and builds the client.
    pub fn new(config: &HttpTemplateConfig) -> Result<Self, Error> {
        let send = Call::new(
            &config.url,
            &config.method,
            &config.payload,
            ["url", "method", "payload"],
            ENDPOINT,
        )?;
        let removal = config
            .remove_payload
            .as_deref()
            .map(|payload| {
                Call::new(
                    config.remove_url.as_ref().unwrap_or(&config.url),
                    config.remove_method.as_deref().unwrap_or(&config.method),
                    payload,
                    ["remove_url", "remove_method", "remove_payload"],
                    REMOVE_ENDPOINT,
                )
            })
            .transpose()?;
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let key = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| config_error(&key, "is not a valid header name"))?;
            let secret = expand(value)?;
            secret_header("", &secret, &key)?;
            headers.push((header, secret));
        }
        let http = HttpClient::new(&config.http, Profile::named(PRODUCT))?;
        Ok(Self {
            http,
            headers,
            send,
            removal,
        })
    }

    /// The parsed template (its placeholders tell which fields an alert must provide).
    pub fn template(&self) -> &Template {
        &self.send.template
    }

    /// Whether a value can be undone (the config has a `remove_payload`).
    pub fn can_remove(&self) -> bool {
        self.removal.is_some()
    }

    /// API calls, retries and rate-limit pauses so far.
    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// Renders the payload for `fields` and sends it. A non-2xx answer (after the policy's
    /// retries for 429 and 5xx) is [`Error::Webhook`] with the status and the body's start.
    pub async fn send(&self, fields: &Fields<'_>) -> Result<WebhookResponse, Error> {
        self.call(&self.send, fields).await
    }

    /// Renders the removal payload for `fields` and sends it, answered like [`send`]; a
    /// configuration error when there is no removal template.
    ///
    /// [`send`]: Self::send
    pub async fn remove(&self, fields: &Fields<'_>) -> Result<WebhookResponse, Error> {
        match &self.removal {
            Some(call) => self.call(call, fields).await,
            None => Err(config_error(
                "remove_payload",
                "this http target has no removal template, so nothing can be undone",
            )),
        }
    }

    async fn call(&self, call: &Call, fields: &Fields<'_>) -> Result<WebhookResponse, Error> {
        let body = Bytes::from(call.template.render(fields)?.to_string());
        let headers = self
            .headers
            .iter()
            .map(|(name, secret)| Ok((name.clone(), secret_header("", secret, name.as_str())?)))
            .collect::<Result<Vec<(HeaderName, HeaderValue)>, Error>>()?;
        let has_type = headers.iter().any(|(name, _)| name == CONTENT_TYPE);
        let response = self
            .http
            .send(call.endpoint, |client| {
                let mut request = client
                    .request(call.method.clone(), call.url.clone())
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
            let mut shown = call.url.clone();
            shown.set_query(None);
            Err(Error::Webhook {
                url: shown.to_string(),
                status: response.status.as_u16(),
                excerpt,
            })
        }
    }
}
