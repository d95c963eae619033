//! [`DeepSecurityClient`]: find, list, create, describe, modify and delete IP lists.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::config::{AuthHeader, DeepSecurityConfig};
use super::request::{
    IpLists, create_body, error_message, modify_body, search_after_id, search_by_name,
};
use super::{IP_LIST_MAX_CHARS, IpList, PRODUCT, list_chars};
use crate::Error;
use crate::error::excerpt;
use crate::transport::{
    CallStats, EXCERPT_CHARS, HttpClient, Profile, Response, join_path, secret_header,
};

const SEARCH: &str = "POST /iplists/search";
const CREATE: &str = "POST /iplists";
const DESCRIBE: &str = "GET /iplists/{id}";
const MODIFY: &str = "POST /iplists/{id}";
const DELETE: &str = "DELETE /iplists/{id}";

/// How many lists a name search asks for: one is expected, more reveal duplicates.
const NAME_SEARCH_MAX: u32 = 10;

/// A client for one Deep Security Manager or Workload Security account.
#[derive(Debug)]
pub struct DeepSecurityClient {
    http: HttpClient,
    base: Url,
    api_key: SecretString,
    header: AuthHeader,
    page_size: u32,
}

impl DeepSecurityClient {
    /// Validates the configuration and builds the client (no request is sent).
    pub fn new(config: &DeepSecurityConfig) -> Result<Self, Error> {
        let (base, header) = config.validate()?;
        let http = HttpClient::new(
            &config.http,
            Profile {
                product: PRODUCT,
                // Trend's samples wait 2^(n+3) ms after the n-th 429: 8 ms, then doubling.
                rate_limit_first_delay: Duration::from_millis(8),
            },
        )?;
        let client = Self {
            http,
            base,
            api_key: config.api_key.clone(),
            header,
            page_size: config.page_size,
        };
        client.auth()?;
        Ok(client)
    }

    /// The API base URL (ending in `/api`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// API calls, retries and rate-limit pauses so far.
    pub fn stats(&self) -> CallStats {
        self.http.stats()
    }

    /// Checks that the manager answers and that the key may view IP lists (a one-list search).
    pub async fn check(&self) -> Result<(), Error> {
        let _: IpLists = self
            .call(
                SEARCH,
                Method::POST,
                "/iplists/search",
                Some(&search_after_id(0, 1)),
            )
            .await?;
        Ok(())
    }

    /// The list named exactly `name`, if there is one. Several lists with that name is an error
    /// ([`Error::DuplicateListName`]): managing one of them would be a guess.
    pub async fn find_list_by_name(&self, name: &str) -> Result<Option<IpList>, Error> {
        let found: IpLists = self
            .call(
                SEARCH,
                Method::POST,
                "/iplists/search",
                Some(&search_by_name(name, NAME_SEARCH_MAX)),
            )
            .await?;
        // The manager may compare names without regard to case; only an exact match counts.
        let mut matches: Vec<IpList> = found
            .ip_lists
            .into_iter()
            .filter(|list| list.name == name)
            .collect();
        match matches.len() {
            0 | 1 => Ok(matches.pop()),
            count => Err(Error::DuplicateListName {
                name: name.to_owned(),
                count,
                ids: matches.iter().map(|list| list.id).collect(),
            }),
        }
    }

    /// Every IP list, fetched `page_size` at a time in ID order until an empty page.
    pub async fn list_all(&self) -> Result<Vec<IpList>, Error> {
        let mut all = Vec::new();
        let mut last_id = 0;
        loop {
            let filter = search_after_id(last_id, self.page_size);
            let page: IpLists = self
                .call(SEARCH, Method::POST, "/iplists/search", Some(&filter))
                .await?;
            let Some(max_id) = page.ip_lists.iter().map(|list| list.id).max() else {
                return Ok(all);
            };
            // A manager that ignored the ID criterion would otherwise be paged forever.
            if max_id <= last_id {
                return Err(Error::UnexpectedResponse {
                    product: PRODUCT,
                    endpoint: SEARCH,
                    status: 200,
                    reason: format!("asked for IDs above {last_id}, got none above {max_id}"),
                    excerpt: String::new(),
                });
            }
            last_id = max_id;
            all.extend(page.ip_lists);
        }
    }

    /// How many IP lists the manager holds (it takes at most [`super::MAX_IP_LISTS`]). Pages
    /// through every list: there is no count endpoint.
    pub async fn count_lists(&self) -> Result<usize, Error> {
        Ok(self.list_all().await?.len())
    }

    /// The list with this ID; [`Error::NotFound`] when there is none.
    pub async fn describe(&self, id: u32) -> Result<IpList, Error> {
        self.call(DESCRIBE, Method::GET, &format!("/iplists/{id}"), None)
            .await
    }

    /// Creates a list and returns it with its new ID.
    pub async fn create_list(
        &self,
        name: &str,
        description: &str,
        items: &[String],
    ) -> Result<IpList, Error> {
        if name.trim().is_empty() {
            return Err(Error::InvalidInput {
                what: "IP list name".to_owned(),
                reason: "is empty".to_owned(),
            });
        }
        check_size(name, items)?;
        self.call(
            CREATE,
            Method::POST,
            "/iplists",
            Some(&create_body(name, description, items)),
        )
        .await
    }

    /// Replaces the items of list `id` (and its description, when given), keeping its ID so
    /// that the rules referring to it stay intact.
    pub async fn modify_items(
        &self,
        id: u32,
        items: &[String],
        description: Option<&str>,
    ) -> Result<IpList, Error> {
        check_size(&format!("ID {id}"), items)?;
        self.call(
            MODIFY,
            Method::POST,
            &format!("/iplists/{id}"),
            Some(&modify_body(items, description)),
        )
        .await
    }

    /// Deletes list `id`. The sync engine must never call this on a managed list or part:
    /// rules refer to lists by ID, and a deleted list cannot be brought back under it.
    pub async fn delete_list(&self, id: u32) -> Result<(), Error> {
        let path = format!("/iplists/{id}");
        self.send(DELETE, Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// Sends a request and reads a JSON answer of type `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, Error> {
        let response = self.send(endpoint, method, path, body).await?;
        serde_json::from_slice(&response.body)
            .map_err(|error| self.http.unexpected(endpoint, &response, error.to_string()))
    }

    /// Sends a request that must succeed; any other status becomes its error.
    async fn send(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, Error> {
        let (name, value) = self.auth()?;
        let url = join_path(&self.base, path);
        let body = body.map(|body| Bytes::from(body.to_string()));
        let response = self
            .http
            .send(endpoint, |client| {
                let request = client
                    .request(method.clone(), url.clone())
                    .header("api-version", "v1")
                    .header(name.clone(), value.clone());
                match &body {
                    Some(body) => request
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                    None => request,
                }
            })
            .await?;
        if response.status.is_success() {
            return Ok(response);
        }
        let message =
            error_message(&response.body).unwrap_or_else(|| excerpt(&response.body, EXCERPT_CHARS));
        Err(self.http.status_error(endpoint, &response, message, None))
    }

    fn auth(&self) -> Result<(HeaderName, HeaderValue), Error> {
        Ok(match self.header {
            AuthHeader::Authorization => (
                AUTHORIZATION,
                secret_header("ApiKey ", &self.api_key, "api_key")?,
            ),
            AuthHeader::ApiSecretKey => (
                HeaderName::from_static("api-secret-key"),
                secret_header("", &self.api_key, "api_key")?,
            ),
        })
    }
}

fn check_size(name: &str, items: &[String]) -> Result<(), Error> {
    let chars = list_chars(items);
    if chars > IP_LIST_MAX_CHARS {
        return Err(Error::ListTooLarge {
            name: name.to_owned(),
            chars,
            max: IP_LIST_MAX_CHARS,
        });
    }
    Ok(())
}
