//! `[[feeds]]`: sources the daemon pulls on a schedule (and `iocsync pull` by hand).
//!
//! A feed names where its data comes from (`url`: `https://…`, `file:PATH` or a path,
//! `taxii+https://…/collections/ID/`, or a MISP base URL with `format = "misp-api"`), how to
//! read it (`format`), when (`schedule`), whether a download is the whole current list
//! (`mode = "snapshot"`, the default for files and URLs) or only additions and revocations
//! (`incremental`, always so for TAXII and MISP), the defaults for its sightings, and when a
//! pull is held (`min_ratio`, `max_invalid`). Credentials are references (`env:`/`file:`),
//! per feed, in `headers`, `bearer` or `basic_user` + `basic_password`, never in the URL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;
use store::{Class, FeedMode};

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};
use crate::schedule::{Schedule, parse_schedule, positive_duration};

/// Downloads larger than this are refused unless `max_bytes` says otherwise (a feed that
/// suddenly serves gigabytes is broken or hostile).
const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// How a feed's data is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FeedFormat {
    /// From the file name and the first bytes.
    #[default]
    Auto,
    /// One value a line (`#` comments).
    Text,
    /// Comma-separated values.
    Csv,
    /// One JSON object a line.
    Jsonl,
    /// A STIX 2.1 bundle.
    Stix,
    /// MISP event JSON, downloaded as a file.
    Misp,
    /// A TAXII 2.1 collection (`taxii+https://…`), polled from its cursor.
    Taxii,
    /// A MISP instance's `/attributes/restSearch`, from the last attribute timestamp.
    MispApi,
}

impl FeedFormat {
    /// Whether the source only ever gives additions and revocations.
    pub fn is_incremental(self) -> bool {
        matches!(self, FeedFormat::Taxii | FeedFormat::MispApi)
    }
}

/// Where a feed's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Url(url::Url),
    File(PathBuf),
}

/// How a feed authenticates, by reference (resolved only when it is pulled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FeedAuth {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

/// MISP `restSearch` filters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MispFilters {
    /// Only attributes marked for detection (MISP's `to_ids`).
    #[serde(default = "yes")]
    pub to_ids: bool,
    /// Only attributes of published events.
    #[serde(default = "yes")]
    pub published: bool,
    /// Only attributes with one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for MispFilters {
    fn default() -> Self {
        MispFilters {
            to_ids: true,
            published: true,
            tags: Vec::new(),
        }
    }
}

/// One feed, validated.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The source name of every sighting it gives.
    pub name: String,
    pub location: Location,
    pub format: FeedFormat,
    pub schedule: Option<Schedule>,
    pub mode: FeedMode,
    pub score: Option<u8>,
    pub tags: Vec<String>,
    pub class: Class,
    /// Header name → secret reference.
    pub headers: BTreeMap<String, String>,
    pub auth: FeedAuth,
    /// A value this source has not listed for this long is withdrawn.
    pub expire_after: Option<Duration>,
    pub min_ratio: f64,
    pub max_invalid: f64,
    pub max_bytes: u64,
    pub verify_tls: bool,
    pub ca_file: Option<PathBuf>,
    pub proxy: Option<String>,
    pub misp: MispFilters,
}

impl Feed {
    /// The headers with their secrets resolved (errors name the key).
    pub fn resolve_headers(
        &self,
        index: usize,
    ) -> Result<Vec<(String, SecretString)>, ConfigError> {
        self.headers
            .iter()
            .map(|(name, reference)| {
                non_empty_secret(format!("feeds[{index}].headers.{name}"), reference)
                    .map(|secret| (name.clone(), secret))
            })
            .collect()
    }

    /// The secret of `auth`, resolved (errors name the key).
    pub fn resolve_secret(&self, index: usize) -> Result<Option<SecretString>, ConfigError> {
        match &self.auth {
            FeedAuth::None => Ok(None),
            FeedAuth::Bearer(reference) => {
                non_empty_secret(format!("feeds[{index}].bearer"), reference).map(Some)
            }
            FeedAuth::Basic { password, .. } => {
                non_empty_secret(format!("feeds[{index}].basic_password"), password).map(Some)
            }
        }
    }
}

/// One `[[feeds]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeed {
    /// The feed's name, and the source name of every sighting it gives (no `/`).
    name: String,
    /// Where its data comes from: `https://...`, `file:PATH` or a path (relative to the
    /// config file), `taxii+https://.../collections/ID/`, or a MISP base URL with
    /// `format = "misp-api"`. Never with credentials in it.
    url: String,
    /// How its data is read.
    #[serde(default)]
    format: FeedFormat,
    /// When the daemon pulls it: an interval or a UTC cron expression (without one, only
    /// `iocsync pull` does).
    #[schemars(with = "Option<crate::schema::ScheduleText>")]
    schedule: Option<String>,
    /// `snapshot` (each download is the whole current list; the default for files and URLs)
    /// or `incremental` (additions and revocations only; always so for TAXII and MISP).
    #[schemars(with = "Option<store::FeedMode>")]
    mode: Option<String>,
    /// The score (0-10) of its sightings, when the data gives none.
    #[schemars(range(max = 10))]
    score: Option<u8>,
    /// Tags added to every sighting.
    #[serde(default)]
    tags: Vec<String>,
    /// Whether its values are threats or the company's own assets.
    #[serde(default)]
    class: Class,
    /// Header name → secret reference, sent with every request.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, crate::schema::SecretRef>")]
    headers: BTreeMap<String, String>,
    /// A bearer token (`Authorization: Bearer ...`), instead of `basic_user`.
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    bearer: Option<String>,
    /// The HTTP Basic user, with `basic_password`.
    basic_user: Option<String>,
    /// The HTTP Basic password, with `basic_user`.
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    basic_password: Option<String>,
    /// A value this source has not listed for this long is withdrawn (default: when a
    /// snapshot no longer lists it).
    #[schemars(with = "Option<crate::schema::Duration>")]
    expire_after: Option<String>,
    /// A pull that keeps less than this share (0-1) of what the feed listed before is held.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = 0.5))]
    min_ratio: Option<f64>,
    /// A pull with more than this share (0-1) of lines that are not indicators is held.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = 0.5))]
    max_invalid: Option<f64>,
    /// Downloads larger than this many bytes are refused.
    #[schemars(extend("default" = DEFAULT_MAX_BYTES))]
    max_bytes: Option<u64>,
    /// Whether the server's TLS certificate is verified.
    #[serde(default = "yes")]
    verify_tls: bool,
    /// A PEM file of CA certificates to trust for this feed, besides the system's.
    ca_file: Option<PathBuf>,
    /// `"system"` (the environment's proxy, the default), `"none"` or a proxy URL.
    proxy: Option<String>,
    /// With `format = "misp-api"`: which attributes `restSearch` returns.
    #[serde(default)]
    misp: MispFilters,
    /// Allow plain `http://` to hosts other than loopback (credentials then travel in clear
    /// text).
    #[serde(default)]
    allow_plain_http: bool,
}

/// Validates `feeds[i]`, pushing every error; the feed when there is none.
pub(crate) fn validate(i: usize, raw: RawFeed, errors: &mut Vec<ConfigError>) -> Option<Feed> {
    let path = format!("feeds[{i}]");
    let key = |name: &str| format!("{path}.{name}");
    let mut found = Vec::new();
    if raw.name.trim().is_empty() || raw.name.contains('/') {
        found.push(invalid(key("name"), "must not be empty or contain `/`"));
    }
    let location = location(&key("url"), &raw.url, raw.format)
        .map_err(|error| found.push(error))
        .ok();
    let format = match &location {
        Some(Location::Url(url)) if url.scheme().starts_with("taxii+") => FeedFormat::Taxii,
        _ => raw.format,
    };
    let mode = mode(&key("mode"), raw.mode.as_deref(), format)
        .map_err(|error| found.push(error))
        .ok();
    if raw.score.is_some_and(|s| s > 10) {
        found.push(invalid(key("score"), "must be between 0 and 10"));
    }
    for (name, value) in &raw.headers {
        if !is_reference(value) {
            found.push(invalid(format!("{path}.headers.{name}"), INLINE_SECRET));
        }
    }
    let auth = auth(&path, raw.bearer, raw.basic_user, raw.basic_password)
        .map_err(|error| found.push(error))
        .ok();
    let sends_secrets =
        !raw.headers.is_empty() || auth.as_ref().is_some_and(|a| *a != FeedAuth::None);
    if let Some(Location::Url(url)) = &location
        && sends_secrets
        && !raw.allow_plain_http
        && cleartext_remote(url)
    {
        found.push(invalid(
            key("url"),
            "plain http:// to a non-loopback host sends the feed's credentials in clear text; use https:// or set allow_plain_http = true",
        ));
    }
    let schedule = raw.schedule.and_then(|text| {
        parse_schedule(&text)
            .map_err(|reason| found.push(invalid(key("schedule"), reason)))
            .ok()
    });
    let expire_after = raw.expire_after.and_then(|text| {
        positive_duration(&key("expire_after"), &text)
            .map_err(|error| found.push(error))
            .ok()
    });
    // The library's defaults for when a pull is held.
    let held = store::Checks::default();
    let min_ratio = share(&key("min_ratio"), raw.min_ratio, held.min_ratio)
        .map_err(|error| found.push(error))
        .unwrap_or(held.min_ratio);
    let max_invalid = share(&key("max_invalid"), raw.max_invalid, held.max_invalid)
        .map_err(|error| found.push(error))
        .unwrap_or(held.max_invalid);
    let (Some(location), Some(mode), Some(auth)) = (location, mode, auth) else {
        errors.extend(found);
        return None;
    };
    if !found.is_empty() {
        errors.extend(found);
        return None;
    }
    Some(Feed {
        name: raw.name,
        location,
        format,
        schedule,
        mode,
        score: raw.score,
        tags: raw.tags,
        class: raw.class,
        headers: raw.headers,
        auth,
        expire_after,
        min_ratio,
        max_invalid,
        max_bytes: raw.max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
        verify_tls: raw.verify_tls,
        ca_file: raw.ca_file,
        proxy: raw.proxy,
        misp: raw.misp,
    })
}

fn location(key: &str, text: &str, format: FeedFormat) -> Result<Location, ConfigError> {
    if let Some(path) = text.strip_prefix("file:") {
        return Ok(Location::File(PathBuf::from(path)));
    }
    if !text.contains("://") {
        return Ok(Location::File(PathBuf::from(text)));
    }
    if text.contains("${") || is_reference(text) {
        return Err(invalid(
            key,
            "secret references are not expanded in URLs: give credentials in `headers`, `bearer` or `basic_password`",
        ));
    }
    let url = url::Url::parse(text).map_err(|error| invalid(key, error.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            key,
            "credentials in a URL are shown wherever the URL is: use `headers`, `bearer` or `basic_user`/`basic_password`",
        ));
    }
    let taxii = url.scheme().starts_with("taxii+");
    match (taxii, format) {
        (true, FeedFormat::Taxii | FeedFormat::Auto) => Ok(Location::Url(url)),
        (true, _) => Err(invalid(
            key,
            "a taxii+https:// URL is read with format = \"taxii\"",
        )),
        (false, FeedFormat::Taxii) => Err(invalid(
            key,
            "a TAXII feed's URL is taxii+https://HOST/API-ROOT/collections/ID/",
        )),
        (false, _) if matches!(url.scheme(), "http" | "https") => Ok(Location::Url(url)),
        (false, _) => Err(invalid(
            key,
            "expected https://, http://, taxii+https:// or a file path",
        )),
    }
}

/// Whether `url` is plain http (also under `taxii+`) to a host other than this machine. The
/// `url` crate reads a `taxii+http` URL's host as opaque text, so it is read again without the
/// prefix to see an address.
fn cleartext_remote(url: &url::Url) -> bool {
    let plain = url
        .as_str()
        .strip_prefix("taxii+")
        .and_then(|rest| url::Url::parse(rest).ok())
        .unwrap_or_else(|| url.clone());
    plain.scheme() == "http" && !crate::transport::is_loopback(&plain)
}

fn mode(key: &str, text: Option<&str>, format: FeedFormat) -> Result<FeedMode, ConfigError> {
    let incremental = format.is_incremental();
    match text.map(str::parse::<FeedMode>) {
        None if incremental => Ok(FeedMode::Incremental),
        None => Ok(FeedMode::Snapshot),
        Some(Ok(FeedMode::Snapshot)) if incremental => Err(invalid(
            key,
            "TAXII and MISP API feeds give additions and revocations, not whole lists: use mode = \"incremental\"",
        )),
        Some(Ok(mode)) => Ok(mode),
        Some(Err(error)) => Err(invalid(key, error.to_string())),
    }
}

fn auth(
    path: &str,
    bearer: Option<String>,
    user: Option<String>,
    password: Option<String>,
) -> Result<FeedAuth, ConfigError> {
    for (name, value) in [("bearer", &bearer), ("basic_password", &password)] {
        if value.as_deref().is_some_and(|v| !is_reference(v)) {
            return Err(invalid(format!("{path}.{name}"), INLINE_SECRET));
        }
    }
    match (bearer, user, password) {
        (None, None, None) => Ok(FeedAuth::None),
        (Some(token), None, None) => Ok(FeedAuth::Bearer(token)),
        (None, Some(user), Some(password)) => Ok(FeedAuth::Basic { user, password }),
        (Some(_), _, _) => Err(invalid(
            format!("{path}.bearer"),
            "give either bearer or basic_user/basic_password, not both",
        )),
        (None, Some(_), None) => Err(invalid(
            format!("{path}.basic_password"),
            "basic_user needs basic_password",
        )),
        (None, None, Some(_)) => Err(invalid(
            format!("{path}.basic_user"),
            "basic_password needs basic_user",
        )),
    }
}

fn share(key: &str, value: Option<f64>, default: f64) -> Result<f64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Some(_) => Err(invalid(key, "must be between 0 and 1 (0.5: half)")),
    }
}
