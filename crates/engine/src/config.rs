//! The config file model: one TOML file with `[library]`, `[[targets]]`, `[[collections]]`,
//! `[guard]`, `[[workflows]]` and `[[triggers]]` (webhooks a SIEM calls).
//!
//! Reading is two steps, as in vector's `validate()`/`build()`: [`Config::from_toml`] parses
//! (serde, `deny_unknown_fields`) and validates without I/O, naming the key path of every bad
//! value (`workflows[2].parameters.expiry: ...`); secrets are resolved only when a client is
//! built ([`Target::resolve_key`]), so `iocsync plan` needs no credentials. Secrets are never
//! written inline: `api_key` must be `env:NAME` or `file:PATH`. How targets are reached (URL
//! keys without secrets, plain http only to loopback, the proxy password) is [`transport`].

mod feeds;
mod listener;
mod transport;

pub use feeds::{Feed, FeedAuth, FeedFormat, Location, MispFilters};
pub use listener::ListenerLimits;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guard::GuardConfig;
use secrecy::SecretString;
use serde::Deserialize;
use store::{Class, Collection};
use trendmicro::deep_security::{AuthHeader, DeepSecurityConfig, Region as WorkloadRegion};
use trendmicro::http::{HttpPolicy, ProxySetting};
use trendmicro::http_template::HttpTemplateConfig;
use trendmicro::vision_one::config::Region;
use trendmicro::vision_one::{RiskLevel, ScanAction, VisionOneConfig};
use trendmicro::xdr_v2::XdrV2Config;
use url::Url;

/// Why a config file cannot be used. Every message names the file or the key path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file at {path}: give --config PATH or set IOCSYNC_CONFIG, or write one with `iocsync init`", path = .0.display())]
    Missing(PathBuf),
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("no workflow named `{name}` in the config file ({})", known_names(.known))]
    UnknownWorkflow { name: String, known: Vec<String> },
    #[error("no target named `{name}` in the config file ({})", known_names(.known))]
    UnknownTarget { name: String, known: Vec<String> },
    #[error("no feed named `{name}` in the config file ({})", known_names(.known))]
    UnknownFeed { name: String, known: Vec<String> },
}

/// "there are a, b" (or "there are none"), for errors about a name that is not there.
fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        "there are none".to_owned()
    } else {
        format!("there are: {}", known.join(", "))
    }
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The raw file, as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    library: LibrarySection,
    #[serde(default)]
    targets: Vec<RawTarget>,
    #[serde(default)]
    collections: Vec<Collection>,
    #[serde(default)]
    guard: GuardConfig,
    #[serde(default)]
    workflows: Vec<RawWorkflow>,
    #[serde(default)]
    triggers: Vec<RawTrigger>,
    #[serde(default)]
    feeds: Vec<feeds::RawFeed>,
    #[serde(default)]
    serve: RawServe,
}

/// `[serve]`: settings of the daemon's HTTP listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    token: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    max_connections: Option<usize>,
}

/// The daemon's settings, validated. Holds the token's *reference*, never the token.
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    token_ref: Option<String>,
    /// What one client may hold of the listener (see [`ListenerLimits`]).
    pub limits: ListenerLimits,
}

impl ServeSettings {
    /// The token the status page, `/api/` and `/metrics` require (`None`: open to whoever can
    /// reach the listener), read from the environment variable or file the config names.
    pub fn resolve_token(&self) -> Result<Option<SecretString>, ConfigError> {
        self.token_ref
            .as_deref()
            .map(|reference| non_empty_secret("serve.token".to_owned(), reference))
            .transpose()
    }
}

/// The secret `reference` names (`env:` / `file:`), refused when empty; errors name `key`.
fn non_empty_secret(key: String, reference: &str) -> Result<SecretString, ConfigError> {
    let secret = trendmicro::secret::expand(reference)
        .map_err(|error| invalid(key.clone(), error.to_string()))?;
    if secrecy::ExposeSecret::expose_secret(&secret).is_empty() {
        return Err(invalid(key, "the secret it names is empty"));
    }
    Ok(secret)
}

fn validate_serve(raw: RawServe) -> Result<ServeSettings, ConfigError> {
    let limits = listener::limits(
        raw.header_timeout.as_deref(),
        raw.body_timeout.as_deref(),
        raw.max_connections,
    )?;
    match raw.token {
        Some(token) if !is_reference(&token) => Err(invalid("serve.token", INLINE_SECRET)),
        token_ref => Ok(ServeSettings { token_ref, limits }),
    }
}

/// `[library]`: where the SQLite library lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySection {
    /// Path of the library file (relative paths are taken from the config file's folder).
    pub path: PathBuf,
}

/// The products a target can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    VisionOne,
    DeepSecurity,
    /// The legacy XDR v2.0 block / restore-block response API.
    XdrV2,
    /// A generic webhook with a JSON payload template, one call per value.
    Http,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    product: Product,
    /// A Vision One region for vision-one and xdr-v2, a Workload Security one for deep-security.
    region: Option<String>,
    base_url: Option<String>,
    api_key: Option<String>,
    auth_header: Option<AuthHeader>,
    method: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    payload: Option<String>,
    remove_url: Option<String>,
    remove_method: Option<String>,
    remove_payload: Option<String>,
    tls_verify: Option<bool>,
    ca_bundle: Option<PathBuf>,
    proxy: Option<String>,
    proxy_password: Option<String>,
    #[serde(default)]
    allow_plain_http: bool,
    requests_per_minute: Option<std::num::NonZeroU32>,
    max_concurrency: Option<usize>,
    batch_size: Option<usize>,
    capacity_per_type: Option<usize>,
    reserve_per_type: Option<usize>,
    when_full: Option<WhenFull>,
}

/// What a one-off or trigger block does when its type is at the target's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Remove iocsync's own lowest-ranked workflow object of that type to make room (reported;
    /// the workflow adds it back when room returns).
    #[default]
    Displace,
    /// Answer "not blocked: capacity reached".
    Refuse,
}

/// How many objects of one type a Vision One suspicious-object list holds (Trend's limit for
/// third-party objects).
pub const V1_CAPACITY_PER_TYPE: usize = 10_000;
/// How many of them workflows leave free for one-off and trigger blocks, by default.
pub const DEFAULT_RESERVE_PER_TYPE: usize = 100;
/// How many exceptions a Vision One exception list holds in all.
pub const V1_EXCEPTION_CAPACITY: usize = 5_000;

/// One target list's room: workflows together keep `capacity − reserve` objects per bucket
/// (a type, or the whole list), one-off and trigger blocks may fill it to `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub capacity: usize,
    pub reserve: usize,
    /// Whether the limit is per object type (suspicious objects) or for the whole list.
    pub per_type: bool,
    pub when_full: WhenFull,
}

/// One configured connection. Holds the secret's *reference*, never the secret.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub product: Product,
    region: Option<Region>,
    workload_region: Option<WorkloadRegion>,
    base_url: Option<String>,
    key_ref: String,
    auth_header: Option<AuthHeader>,
    webhook: Option<HttpTemplateConfig>,
    http: HttpPolicy,
    batch_size: Option<usize>,
    capacity_per_type: usize,
    reserve_per_type: usize,
    when_full: WhenFull,
}

impl Target {
    /// The room of this target's suspicious-object list (Vision One).
    pub fn suspicious_capacity(&self) -> Capacity {
        Capacity {
            capacity: self.capacity_per_type,
            reserve: self.reserve_per_type,
            per_type: true,
            when_full: self.when_full,
        }
    }

    /// The room of this target's exception list (Vision One): 5,000 in all, no reserve (only
    /// workflows write exceptions).
    pub fn exception_capacity(&self) -> Capacity {
        Capacity {
            capacity: V1_EXCEPTION_CAPACITY,
            reserve: 0,
            per_type: false,
            when_full: WhenFull::Refuse,
        }
    }

    /// Reads the API key from the environment variable or file the config names.
    pub fn resolve_key(&self) -> Result<SecretString, ConfigError> {
        trendmicro::secret::expand(&self.key_ref)
            .map_err(|error| invalid(format!("targets.{}.api_key", self.name), error.to_string()))
    }

    /// The Vision One client settings (resolving the key).
    pub fn vision_one(&self) -> Result<VisionOneConfig, ConfigError> {
        let key = self.resolve_key()?;
        let mut config = match (&self.base_url, self.region) {
            (Some(url), _) => {
                let url = Url::parse(url).map_err(|error| {
                    invalid(format!("targets.{}.base_url", self.name), error.to_string())
                })?;
                VisionOneConfig::with_base_url(url, key)
            }
            (None, Some(region)) => VisionOneConfig::with_region(region, key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.http = self.http.clone();
        if let Some(size) = self.batch_size {
            config.suspicious_batch_size = size;
            config.exception_batch_size = size;
        }
        Ok(config)
    }

    /// The XDR v2 client settings (resolving the key).
    pub fn xdr_v2(&self) -> Result<XdrV2Config, ConfigError> {
        let v1 = self.vision_one()?;
        let mut config = match (v1.base_url, v1.region) {
            (Some(url), _) => XdrV2Config::with_base_url(url, v1.api_key),
            (None, Some(region)) => XdrV2Config::with_region(region, v1.api_key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.http = self.http.clone();
        Ok(config)
    }

    /// The webhook settings of an `http` target (header secrets are resolved by the client).
    pub fn http_template(&self) -> Result<HttpTemplateConfig, ConfigError> {
        let mut config = self.webhook.clone().ok_or_else(|| {
            invalid(
                format!("targets.{}.product", self.name),
                "is not an http target",
            )
        })?;
        config.http = self.http.clone();
        Ok(config)
    }

    /// The Deep Security client settings (resolving the key).
    pub fn deep_security(&self) -> Result<DeepSecurityConfig, ConfigError> {
        let key = self.resolve_key()?;
        let mut config = match (&self.base_url, self.workload_region) {
            (Some(instance), _) => DeepSecurityConfig::new(instance.clone(), key),
            (None, Some(region)) => DeepSecurityConfig::with_region(region, key),
            (None, None) => {
                return Err(invalid(
                    format!("targets.{}", self.name),
                    "give `region` or `base_url`",
                ));
            }
        };
        config.auth_header = self.auth_header;
        config.http = self.http.clone();
        Ok(config)
    }
}

/// What a workflow does on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Vision One suspicious-object list ("Add to Blocklist").
    Blocklist,
    /// Vision One exception list.
    Exceptions,
    /// Deep Security / Workload Security IP lists ("Export Indicators").
    IpList,
    /// XDR v2 block (one value at a time; removal is restore-block).
    XdrBlock,
    /// One templated webhook call per new or changed value.
    Http,
}

impl Action {
    fn product(self) -> Product {
        match self {
            Action::Blocklist | Action::Exceptions => Product::VisionOne,
            Action::IpList => Product::DeepSecurity,
            Action::XdrBlock => Product::XdrV2,
            Action::Http => Product::Http,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    name: String,
    collection: String,
    target: String,
    action: Action,
    #[serde(default)]
    parameters: toml::Table,
    schedule: Option<String>,
    max_removals: Option<toml::Value>,
    #[serde(default)]
    adopt_existing: bool,
    verify_every: Option<String>,
    description: Option<String>,
    #[serde(default)]
    after: Vec<String>,
}

/// Which feed pulls make the daemon run a workflow at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum After {
    /// Only its schedule (or by hand).
    #[default]
    Nothing,
    /// Any feed pull that changed the library (`schedule = "after-feeds"`).
    AnyFeed,
    /// A pull of one of these feeds that changed the library (`after = ["feodo"]`).
    Feeds(Vec<String>),
}

impl After {
    /// Whether a pull of `feed` that changed the library makes the workflow run.
    pub fn follows(&self, feed: &str) -> bool {
        match self {
            After::Nothing => false,
            After::AnyFeed => true,
            After::Feeds(names) => names.iter().any(|name| name == feed),
        }
    }
}

/// One workflow, validated.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub collection: String,
    pub target: String,
    pub parameters: Parameters,
    pub schedule: Option<Schedule>,
    /// The bound on what one run may remove.
    pub max_removals: Brake,
    /// Take over objects already on the target that iocsync did not create.
    pub adopt_existing: bool,
    /// How often the daemon runs this workflow with `--verify` (`None`: never).
    pub verify_every: Option<Duration>,
    /// What the objects' descriptions say after iocsync's marker (`None`: the indicator's own
    /// description).
    pub description: Option<crate::trigger::ValueTemplate>,
    /// Feed pulls that make the daemon run it at once.
    pub after: After,
}

impl Workflow {
    /// The ledger key of this workflow's claims (one per target and workflow).
    pub fn ledger_key(&self) -> String {
        crate::keys::workflow_ledger(&self.target, &self.name)
    }

    /// The list on its target this workflow's objects live in.
    pub fn list(&self) -> crate::keys::List<'_> {
        use crate::keys::List;
        match &self.parameters {
            Parameters::Blocklist(_) => List::Suspicious,
            Parameters::Exceptions(_) => List::Exceptions,
            Parameters::XdrBlock(_) => List::XdrBlocks,
            Parameters::Http(_) => List::Http,
            Parameters::IpList(params) => List::IpList(&params.list_name),
        }
    }

    /// The space key of [`Workflow::list`].
    pub fn space(&self) -> String {
        crate::keys::space(&self.target, self.list())
    }
}

/// The removal brake: how many removals one run may send before the rest are held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Brake {
    /// At most this many.
    Count(usize),
    /// At most this share (0–100) of what the workflow holds, and never fewer than `floor`.
    Percent { percent: f64, floor: usize },
}

/// The default brake: 10% of what the workflow holds, at least 100.
pub const DEFAULT_BRAKE: Brake = Brake::Percent {
    percent: 10.0,
    floor: 100,
};

/// Default interval of the daemon's verifying pass.
pub const DEFAULT_VERIFY_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A workflow holding more than this many objects never loses all of them in one run without
/// a person releasing it.
pub const HANDFUL: usize = 10;

impl Brake {
    /// How many removals a run of a workflow that holds `held` objects may send.
    pub fn limit(self, held: usize) -> usize {
        match self {
            Brake::Count(n) => n,
            Brake::Percent { percent, floor } => {
                let share = (held as f64 * percent / 100.0).ceil() as usize;
                share.max(floor)
            }
        }
    }

    /// Why `removals` of `held` must wait for a person, or `None` when they may go.
    pub fn holds(self, removals: usize, held: usize) -> Option<String> {
        if removals == 0 {
            return None;
        }
        let limit = self.limit(held);
        if removals > limit {
            return Some(format!(
                "{removals} removals exceed max_removals ({}, {limit} for {held} held objects)",
                self.describe()
            ));
        }
        if removals >= held && held > HANDFUL {
            return Some(format!(
                "the run would remove every one of the {held} objects the workflow holds"
            ));
        }
        None
    }

    fn describe(self) -> String {
        match self {
            Brake::Count(n) => n.to_string(),
            Brake::Percent { percent, floor } => format!("{percent}% with a floor of {floor}"),
        }
    }
}

/// A workflow's `description`: text with `$value`, `$kind`, `$score`, `$tags`, `$source`,
/// `$sources` and `$description` placeholders.
fn description_template(
    key: &str,
    text: &str,
) -> Result<crate::trigger::ValueTemplate, ConfigError> {
    let template = crate::trigger::ValueTemplate::parse(text);
    match template
        .fields()
        .into_iter()
        .find(|f| !crate::mapping::DESCRIPTION_FIELDS.contains(f))
    {
        Some(unknown) => Err(invalid(
            key,
            format!(
                "`${unknown}` is not a field; use {}",
                crate::mapping::DESCRIPTION_FIELDS
                    .iter()
                    .map(|f| format!("${f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => Ok(template),
    }
}

fn parse_brake(key: &str, value: Option<toml::Value>) -> Result<Brake, ConfigError> {
    const EXPECTED: &str =
        "expected a count (50) or a percentage of what the workflow holds (\"10%\")";
    match value {
        None => Ok(DEFAULT_BRAKE),
        Some(toml::Value::Integer(n)) if n >= 0 => Ok(Brake::Count(n as usize)),
        Some(toml::Value::String(text)) => {
            let percent = text
                .trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| invalid(key, EXPECTED))?;
            let floor = match DEFAULT_BRAKE {
                Brake::Percent { floor, .. } => floor,
                Brake::Count(n) => n,
            };
            Ok(Brake::Percent { percent, floor })
        }
        Some(_) => Err(invalid(key, EXPECTED)),
    }
}

/// When the daemon runs a workflow (parsed and checked here; the daemon acts on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Every(Duration),
    Cron(String),
}

/// `every 15m`, `cron 0 */6 * * * (UTC)`: as the status page, the API and `iocsync feeds`
/// show a schedule.
impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Every(every) => write!(f, "every {}", humantime::format_duration(*every)),
            Schedule::Cron(expression) => write!(f, "cron {expression} (UTC)"),
        }
    }
}

/// Per-action parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Parameters {
    Blocklist(BlocklistParams),
    Exceptions(ExceptionParams),
    IpList(IpListParams),
    XdrBlock(XdrParams),
    Http(HttpParams),
}

impl Parameters {
    pub fn action(&self) -> Action {
        match self {
            Parameters::Blocklist(_) => Action::Blocklist,
            Parameters::Exceptions(_) => Action::Exceptions,
            Parameters::IpList(_) => Action::IpList,
            Parameters::XdrBlock(_) => Action::XdrBlock,
            Parameters::Http(_) => Action::Http,
        }
    }
}

/// What to do with a URL written without a scheme (Vision One needs one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlScheme {
    Http,
    Https,
    Both,
    Skip,
}

/// Risk level sent to Vision One.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskSetting {
    /// From the indicator's score: ≥ `high` → high, ≥ `medium` → medium, else low.
    Score {
        high: u8,
        medium: u8,
    },
    Fixed(RiskLevel),
    Customer,
}

/// Expiry sent to Vision One.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpirySetting {
    Days(u16),
    Never,
    Customer,
    /// The indicator's own `valid_until`; without one, `fallback` days (`None`: never).
    ValidUntil {
        fallback: Option<u16>,
    },
}

/// "Add to Blocklist" parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BlocklistParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// `None`: customer settings.
    pub scan_action: Option<ScanAction>,
    pub risk_level: RiskSetting,
    pub expiry: ExpirySetting,
    /// Most objects of one type iocsync keeps on the list (Vision One holds 10,000 per type).
    pub cap_per_type: usize,
    /// Objects whose pushed expiry is this close are sent again.
    pub renew_within: chrono::Duration,
}

/// "Add to Exception List" parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// Most exceptions iocsync keeps (Vision One holds 5,000 in all).
    pub cap: usize,
}

/// "Export Indicators" (Deep Security IP lists) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct IpListParams {
    pub list_name: String,
    pub clear_on_manual_run: bool,
    pub objects_per_run: Option<usize>,
    pub aggregate: bool,
    pub include: Vec<Class>,
    /// Characters per part (Deep Security takes 32,000).
    pub max_chars: usize,
}

/// XDR v2 block parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct XdrParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// `productId` sent with each block (the seed's webhook sends its own name).
    pub product_id: String,
    /// How long to wait for each task to reach a final status.
    pub task_timeout: Duration,
}

/// HTTP template parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpParams {
    pub objects_per_run: Option<usize>,
}

/// A validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub library: PathBuf,
    pub targets: Vec<Target>,
    pub collections: Vec<Collection>,
    pub guard: GuardConfig,
    pub workflows: Vec<Workflow>,
    pub triggers: Vec<Trigger>,
    pub feeds: Vec<Feed>,
    pub serve: ServeSettings,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::Missing(path.to_owned())
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let mut config = Config::from_toml(&text).map_err(|error| match error {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        if config.library.is_relative()
            && let Some(dir) = path.parent()
        {
            config.library = dir.join(&config.library);
        }
        if let Some(dir) = path.parent() {
            for feed in &mut config.feeds {
                if let Location::File(file) = &mut feed.location
                    && file.is_relative()
                {
                    *file = dir.join(&*file);
                }
            }
        }
        Ok(config)
    }

    /// Parses and validates config text (no I/O).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            path: PathBuf::from("<text>"),
            message: error.to_string(),
        })?;
        let targets = raw
            .targets
            .into_iter()
            .enumerate()
            .map(|(i, target)| validate_target(i, target))
            .collect::<Result<Vec<_>, _>>()?;
        unique("targets", targets.iter().map(|t| t.name.as_str()))?;
        unique(
            "collections",
            raw.collections.iter().map(|c| c.name.as_str()),
        )?;
        let feeds = raw
            .feeds
            .into_iter()
            .enumerate()
            .map(|(i, feed)| feeds::validate(i, feed))
            .collect::<Result<Vec<_>, _>>()?;
        unique("feeds", feeds.iter().map(|f| f.name.as_str()))?;
        let mut workflows = Vec::new();
        for (i, workflow) in raw.workflows.into_iter().enumerate() {
            workflows.push(validate_workflow(i, workflow, &targets, &feeds)?);
        }
        unique("workflows", workflows.iter().map(|w| w.name.as_str()))?;
        one_workflow_per_ip_list(&workflows)?;
        let triggers = raw
            .triggers
            .into_iter()
            .enumerate()
            .map(|(i, trigger)| validate_trigger(i, trigger, &targets))
            .collect::<Result<Vec<_>, _>>()?;
        unique("triggers", triggers.iter().map(|t| t.name.as_str()))?;
        let serve = validate_serve(raw.serve)?;
        Ok(Config {
            library: raw.library.path,
            targets,
            collections: raw.collections,
            guard: raw.guard,
            workflows,
            triggers,
            feeds,
            serve,
        })
    }

    /// The feed called `name`.
    pub fn feed(&self, name: &str) -> Result<&Feed, ConfigError> {
        self.feeds
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| ConfigError::UnknownFeed {
                name: name.to_owned(),
                known: self.feeds.iter().map(|f| f.name.clone()).collect(),
            })
    }

    pub fn workflow(&self, name: &str) -> Result<&Workflow, ConfigError> {
        self.workflows
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| ConfigError::UnknownWorkflow {
                name: name.to_owned(),
                known: self.workflows.iter().map(|w| w.name.clone()).collect(),
            })
    }

    pub fn target(&self, name: &str) -> Result<&Target, ConfigError> {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ConfigError::UnknownTarget {
                name: name.to_owned(),
                known: self.targets.iter().map(|t| t.name.clone()).collect(),
            })
    }

    /// The trigger called `name` (`POST /hooks/<name>`).
    pub fn trigger(&self, name: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| t.name == name)
    }

    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }
}

/// Deep Security lists are written whole, so two workflows must never share one list family.
fn one_workflow_per_ip_list(workflows: &[Workflow]) -> Result<(), ConfigError> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, workflow) in workflows.iter().enumerate() {
        if let Parameters::IpList(params) = &workflow.parameters
            && let Some(first) = seen.insert(workflow.space(), &workflow.name)
        {
            return Err(invalid(
                format!("workflows[{i}].parameters.list_name"),
                format!(
                    "`{}` on target `{}` is already written by workflow `{first}`: IP lists are written whole, give each workflow its own list_name",
                    params.list_name, workflow.target
                ),
            ));
        }
    }
    Ok(())
}

fn unique<'a>(section: &str, names: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(invalid(
                format!("{section}[{i}].name"),
                format!("`{name}` is used twice"),
            ));
        }
    }
    Ok(())
}

fn validate_target(i: usize, raw: RawTarget) -> Result<Target, ConfigError> {
    let path = format!("targets[{i}]");
    if raw.name.trim().is_empty() {
        return Err(invalid(format!("{path}.name"), "must not be empty"));
    }
    let (capacity_per_type, reserve_per_type) = capacity_keys(&path, &raw)?;
    let key_ref = match (raw.product, raw.api_key) {
        (Product::Http, None) => String::new(),
        (Product::Http, Some(_)) => {
            return Err(invalid(
                format!("{path}.api_key"),
                "an http target carries its credentials in `headers` (as references)",
            ));
        }
        (_, None) => return Err(invalid(format!("{path}.api_key"), "is required")),
        (_, Some(key)) if is_reference(&key) => key,
        (_, Some(_)) => return Err(invalid(format!("{path}.api_key"), INLINE_SECRET)),
    };
    transport::check(
        &path,
        &transport::TransportKeys {
            product: raw.product,
            base_url: raw.base_url.as_deref(),
            remove_url: raw.remove_url.as_deref(),
            proxy: raw.proxy.as_deref(),
            proxy_password: raw.proxy_password.as_deref(),
            allow_plain_http: raw.allow_plain_http,
        },
    )?;
    let webhook = webhook(
        &path,
        raw.product,
        &raw.base_url,
        RawWebhook {
            method: raw.method,
            headers: raw.headers,
            payload: raw.payload,
            remove_url: raw.remove_url,
            remove_method: raw.remove_method,
            remove_payload: raw.remove_payload,
        },
    )?;
    match raw.product {
        Product::VisionOne | Product::XdrV2 => {
            if raw.region.is_some() == raw.base_url.is_some() {
                return Err(invalid(
                    &path,
                    "give exactly one of `region` and `base_url`",
                ));
            }
            if raw.auth_header.is_some() {
                return Err(invalid(
                    format!("{path}.auth_header"),
                    "applies to deep-security targets only",
                ));
            }
        }
        Product::DeepSecurity => {
            if raw.region.is_some() == raw.base_url.is_some() {
                return Err(invalid(
                    &path,
                    "give exactly one of `region` and `base_url`",
                ));
            }
        }
        Product::Http => {
            if raw.base_url.is_none() || raw.region.is_some() {
                return Err(invalid(
                    format!("{path}.base_url"),
                    "this product needs `base_url` and no `region`",
                ));
            }
        }
    }
    if let Some(url) = &raw.base_url
        && raw.product != Product::DeepSecurity
    {
        Url::parse(url).map_err(|error| invalid(format!("{path}.base_url"), error.to_string()))?;
    }
    if raw.batch_size == Some(0) {
        return Err(invalid(format!("{path}.batch_size"), "must be at least 1"));
    }
    let (region, workload_region) = regions(&path, raw.product, raw.region.as_deref())?;

    let mut http = HttpPolicy::default();
    if let Some(verify) = raw.tls_verify {
        http.verify_tls = verify;
    }
    http.ca_bundle = raw.ca_bundle;
    http.proxy_password = raw.proxy_password;
    if let Some(proxy) = raw.proxy {
        http.proxy = proxy
            .parse::<ProxySetting>()
            .map_err(|reason| invalid(format!("{path}.proxy"), reason))?;
    }
    http.requests_per_minute = raw.requests_per_minute;
    if let Some(n) = raw.max_concurrency {
        if n == 0 {
            return Err(invalid(
                format!("{path}.max_concurrency"),
                "must be at least 1",
            ));
        }
        http.max_concurrency = n;
    }
    Ok(Target {
        name: raw.name,
        product: raw.product,
        region,
        workload_region,
        base_url: raw.base_url,
        key_ref,
        auth_header: raw.auth_header,
        webhook,
        http,
        batch_size: raw.batch_size,
        capacity_per_type,
        reserve_per_type,
        when_full: raw.when_full.unwrap_or_default(),
    })
}

/// `region` as the product names its regions: Vision One's (`us`, `eu`, ...) for vision-one and
/// xdr-v2 targets, Workload Security's (`us-1`, ..., `ae-1`) for deep-security ones.
fn regions(
    path: &str,
    product: Product,
    name: Option<&str>,
) -> Result<(Option<Region>, Option<WorkloadRegion>), ConfigError> {
    let unknown = |error: trendmicro::error::UnknownRegion| {
        invalid(format!("{path}.region"), error.to_string())
    };
    match (product, name) {
        (_, None) => Ok((None, None)),
        (Product::DeepSecurity, Some(name)) => Ok((None, Some(name.parse().map_err(unknown)?))),
        (_, Some(name)) => Ok((Some(name.parse().map_err(unknown)?), None)),
    }
}

/// `capacity_per_type` and `reserve_per_type` (Vision One targets only): the list's limit and
/// the room workflows leave for one-off and trigger blocks.
fn capacity_keys(path: &str, raw: &RawTarget) -> Result<(usize, usize), ConfigError> {
    if raw.product != Product::VisionOne
        && (raw.capacity_per_type.is_some()
            || raw.reserve_per_type.is_some()
            || raw.when_full.is_some())
    {
        return Err(invalid(
            path,
            "`capacity_per_type`, `reserve_per_type` and `when_full` apply to vision-one targets only",
        ));
    }
    let capacity = raw.capacity_per_type.unwrap_or(V1_CAPACITY_PER_TYPE);
    if capacity == 0 {
        return Err(invalid(
            format!("{path}.capacity_per_type"),
            "must be at least 1",
        ));
    }
    let reserve = raw
        .reserve_per_type
        .unwrap_or(DEFAULT_RESERVE_PER_TYPE.min(capacity / 10));
    if reserve >= capacity {
        return Err(invalid(
            format!("{path}.reserve_per_type"),
            format!("must be below capacity_per_type ({capacity})"),
        ));
    }
    Ok((capacity, reserve))
}

const INLINE_SECRET: &str =
    "secrets are never written in the config file: use \"env:NAME\" or \"file:PATH\"";

fn is_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

/// The keys only an `http` target takes.
struct RawWebhook {
    method: Option<String>,
    headers: std::collections::BTreeMap<String, String>,
    payload: Option<String>,
    remove_url: Option<String>,
    remove_method: Option<String>,
    remove_payload: Option<String>,
}

impl RawWebhook {
    fn is_empty(&self) -> bool {
        self.method.is_none()
            && self.headers.is_empty()
            && self.payload.is_none()
            && self.remove_url.is_none()
            && self.remove_method.is_none()
            && self.remove_payload.is_none()
    }
}

/// The webhook of an `http` target: `base_url` is where it goes, `payload` its template, and
/// `remove_payload` (to `remove_url`, default `base_url`) how a value is undone.
/// Headers that carry credentials must be secret references.
fn webhook(
    path: &str,
    product: Product,
    base_url: &Option<String>,
    raw: RawWebhook,
) -> Result<Option<HttpTemplateConfig>, ConfigError> {
    if product != Product::Http {
        if !raw.is_empty() {
            return Err(invalid(
                path,
                "`method`, `headers`, `payload` and `remove_*` apply to http targets only",
            ));
        }
        return Ok(None);
    }
    let parse_url = |key: &str, url: &str| {
        Url::parse(url).map_err(|e| invalid(format!("{path}.{key}"), e.to_string()))
    };
    let url = parse_url("base_url", base_url.as_deref().unwrap_or_default())?;
    let payload = raw
        .payload
        .ok_or_else(|| invalid(format!("{path}.payload"), "is required"))?;
    for (name, value) in &raw.headers {
        let lower = name.to_ascii_lowercase();
        let sensitive = ["authorization", "key", "token", "secret"]
            .iter()
            .any(|word| lower.contains(word));
        if sensitive && !(is_reference(value) || value.contains("${")) {
            return Err(invalid(format!("{path}.headers.{name}"), INLINE_SECRET));
        }
    }
    if raw.remove_payload.is_none() && (raw.remove_url.is_some() || raw.remove_method.is_some()) {
        return Err(invalid(
            format!("{path}.remove_payload"),
            "is required with `remove_url` or `remove_method`",
        ));
    }
    let mut config = HttpTemplateConfig::new(url, payload);
    config.headers = raw.headers;
    if let Some(method) = raw.method {
        config.method = method;
    }
    config.remove_url = raw
        .remove_url
        .map(|url| parse_url("remove_url", &url))
        .transpose()?;
    config.remove_method = raw.remove_method;
    config.remove_payload = raw.remove_payload;
    Ok(Some(config))
}

fn validate_workflow(
    i: usize,
    raw: RawWorkflow,
    targets: &[Target],
    feeds: &[Feed],
) -> Result<Workflow, ConfigError> {
    let path = format!("workflows[{i}]");
    if !crate::keys::valid_workflow_name(&raw.name) {
        return Err(invalid(
            format!("{path}.name"),
            "must not be empty, `manual`, start with `hook:` or contain `/` (those name other claimants in the ledger)",
        ));
    }
    let target = targets
        .iter()
        .find(|t| t.name == raw.target)
        .ok_or_else(|| {
            invalid(
                format!("{path}.target"),
                format!("no target `{}`", raw.target),
            )
        })?;
    // A collection may also live in the library (`iocsync collections add`): an unknown
    // name is reported when the workflow runs.
    if raw.collection.trim().is_empty() {
        return Err(invalid(format!("{path}.collection"), "must not be empty"));
    }
    if target.product != raw.action.product() {
        return Err(invalid(
            format!("{path}.action"),
            format!(
                "action {:?} does not apply to target `{}` ({:?})",
                raw.action, target.name, target.product
            ),
        ));
    }
    let mut reader = Reader::new(format!("{path}.parameters"), &raw.parameters);
    let parameters = match raw.action {
        Action::Blocklist => Parameters::Blocklist(blocklist_params(&mut reader)?),
        Action::Exceptions => Parameters::Exceptions(exception_params(&mut reader)?),
        Action::IpList => Parameters::IpList(ip_list_params(&mut reader, &raw.name)?),
        Action::XdrBlock => Parameters::XdrBlock(xdr_params(&mut reader)?),
        Action::Http => Parameters::Http(HttpParams {
            objects_per_run: objects_per_run(&mut reader)?,
        }),
    };
    reader.finish()?;
    let (schedule, after) = workflow_timing(&path, raw.schedule, raw.after, feeds)?;
    let max_removals = parse_brake(&format!("{path}.max_removals"), raw.max_removals)?;
    let verify_every = match raw.verify_every.as_deref() {
        None => Some(DEFAULT_VERIFY_EVERY),
        Some("never") => None,
        Some(text) => Some(positive_duration(&format!("{path}.verify_every"), text)?),
    };
    let description = raw
        .description
        .as_deref()
        .map(|text| description_template(&format!("{path}.description"), text))
        .transpose()?;
    Ok(Workflow {
        name: raw.name,
        collection: raw.collection,
        target: raw.target,
        parameters,
        schedule,
        max_removals,
        adopt_existing: raw.adopt_existing,
        verify_every,
        description,
        after,
    })
}

/// A workflow's `schedule` and `after`: `schedule = "after-feeds"` follows every feed, `after`
/// names feeds of this config.
fn workflow_timing(
    path: &str,
    schedule: Option<String>,
    after: Vec<String>,
    feeds: &[Feed],
) -> Result<(Option<Schedule>, After), ConfigError> {
    for (j, name) in after.iter().enumerate() {
        if !feeds.iter().any(|feed| &feed.name == name) {
            return Err(invalid(
                format!("{path}.after[{j}]"),
                format!("no feed `{name}` in [[feeds]]"),
            ));
        }
    }
    let after = if after.is_empty() {
        After::Nothing
    } else {
        After::Feeds(after)
    };
    match schedule.as_deref() {
        Some("after-feeds") if after != After::Nothing => Err(invalid(
            format!("{path}.after"),
            "schedule = \"after-feeds\" already follows every feed",
        )),
        Some("after-feeds") => Ok((None, After::AnyFeed)),
        Some(text) => parse_schedule(text)
            .map(|schedule| (Some(schedule), after))
            .map_err(|reason| invalid(format!("{path}.schedule"), reason)),
        None => Ok((None, after)),
    }
}

fn parse_schedule(text: &str) -> Result<Schedule, String> {
    if let Ok(every) = humantime::parse_duration(text) {
        return if every.is_zero() {
            Err("the interval must be longer than zero".to_owned())
        } else {
            Ok(Schedule::Every(every))
        };
    }
    text.parse::<croner::Cron>()
        .map(|_| Schedule::Cron(text.to_owned()))
        .map_err(|error| {
            format!("expected an interval (`15m`, `6h`) or a cron expression: {error}")
        })
}

fn blocklist_params(r: &mut Reader<'_>) -> Result<BlocklistParams, ConfigError> {
    let high = r.integer("high_score", 0, 10)?.unwrap_or(7) as u8;
    let medium = r.integer("medium_score", 0, 10)?.unwrap_or(4) as u8;
    if medium > high {
        return Err(invalid(
            r.key("medium_score"),
            "must not be above `high_score`",
        ));
    }
    let risk_level = match r.string(
        "risk_level",
        &["score", "high", "medium", "low", "customer"],
    )? {
        None | Some("score") => RiskSetting::Score { high, medium },
        Some("high") => RiskSetting::Fixed(RiskLevel::High),
        Some("medium") => RiskSetting::Fixed(RiskLevel::Medium),
        Some("low") => RiskSetting::Fixed(RiskLevel::Low),
        Some(_) => RiskSetting::Customer,
    };
    let scan_action = match r.string("scan_action", &["block", "log", "customer"])? {
        None | Some("block") => Some(ScanAction::Block),
        Some("log") => Some(ScanAction::Log),
        Some(_) => None,
    };
    Ok(BlocklistParams {
        url_scheme: url_scheme(r)?,
        objects_per_run: objects_per_run(r)?,
        scan_action,
        risk_level,
        expiry: expiry(r)?,
        cap_per_type: r.integer("cap_per_type", 1, 10_000)?.unwrap_or(9_900) as usize,
        renew_within: chrono::Duration::days(r.integer("renew_within_days", 0, 365)?.unwrap_or(3)),
    })
}

fn exception_params(r: &mut Reader<'_>) -> Result<ExceptionParams, ConfigError> {
    Ok(ExceptionParams {
        url_scheme: url_scheme(r)?,
        objects_per_run: objects_per_run(r)?,
        cap: r.integer("cap", 1, 5_000)?.unwrap_or(4_900) as usize,
    })
}

fn ip_list_params(r: &mut Reader<'_>, workflow: &str) -> Result<IpListParams, ConfigError> {
    let list_name = match r.raw("list_name") {
        None => workflow.to_owned(),
        Some(toml::Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(_) => return Err(invalid(r.key("list_name"), "expected a non-empty string")),
    };
    let include = match r.raw("include") {
        None => vec![Class::Indicator, Class::Asset],
        Some(toml::Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|s| s.parse::<Class>().ok())
                    .ok_or_else(|| {
                        invalid(r.key("include"), "expected \"indicator\" and/or \"asset\"")
                    })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                r.key("include"),
                "expected [\"indicator\", \"asset\"]",
            ));
        }
    };
    Ok(IpListParams {
        list_name,
        clear_on_manual_run: r.boolean("clear_on_manual_run")?.unwrap_or(false),
        objects_per_run: objects_per_run(r)?,
        aggregate: r.boolean("aggregate")?.unwrap_or(true),
        include,
        max_chars: r
            .integer(
                "max_chars",
                100,
                trendmicro::deep_security::IP_LIST_MAX_CHARS as i64,
            )?
            .unwrap_or(trendmicro::deep_security::IP_LIST_MAX_CHARS as i64)
            as usize,
    })
}

fn xdr_params(r: &mut Reader<'_>) -> Result<XdrParams, ConfigError> {
    let product_id = match r.raw("product_id") {
        None => "iocsync".to_owned(),
        Some(toml::Value::String(id)) if !id.trim().is_empty() => id.clone(),
        Some(_) => return Err(invalid(r.key("product_id"), "expected a non-empty string")),
    };
    Ok(XdrParams {
        url_scheme: url_scheme(r)?,
        objects_per_run: objects_per_run(r)?,
        product_id,
        task_timeout: Duration::from_secs(
            r.integer("task_timeout_secs", 1, 3600)?.unwrap_or(120) as u64
        ),
    })
}

fn url_scheme(r: &mut Reader<'_>) -> Result<UrlScheme, ConfigError> {
    Ok(
        match r.string("url_scheme", &["http", "https", "both", "skip"])? {
            None | Some("http") => UrlScheme::Http,
            Some("https") => UrlScheme::Https,
            Some("both") => UrlScheme::Both,
            Some(_) => UrlScheme::Skip,
        },
    )
}

fn objects_per_run(r: &mut Reader<'_>) -> Result<Option<usize>, ConfigError> {
    Ok(r.integer("objects_per_run", 1, i64::MAX)?
        .map(|n| n as usize))
}

const EXPIRY_CHOICES: &str =
    "expected one of 7, 15, 30, 45, 60, 75, 90, \"never\", \"customer\", \"valid-until\"";

fn expiry(r: &mut Reader<'_>) -> Result<ExpirySetting, ConfigError> {
    let key = r.key("expiry");
    Ok(match r.raw("expiry") {
        None => ExpirySetting::Days(30),
        Some(toml::Value::Integer(days @ (7 | 15 | 30 | 45 | 60 | 75 | 90))) => {
            ExpirySetting::Days(*days as u16)
        }
        Some(toml::Value::String(s)) if s == "never" => ExpirySetting::Never,
        Some(toml::Value::String(s)) if s == "customer" => ExpirySetting::Customer,
        Some(toml::Value::String(s)) if s == "valid-until" => ExpirySetting::ValidUntil {
            fallback: fallback_expiry(r)?,
        },
        Some(_) => return Err(invalid(key, EXPIRY_CHOICES)),
    })
}

/// `fallback_expiry` of `expiry = "valid-until"`: days (1-365) for an indicator without a
/// valid-until, or "never"; 30 days when not given.
fn fallback_expiry(r: &mut Reader<'_>) -> Result<Option<u16>, ConfigError> {
    let key = r.key("fallback_expiry");
    match r.raw("fallback_expiry") {
        None => Ok(Some(30)),
        Some(toml::Value::Integer(days @ 1..=365)) => Ok(Some(*days as u16)),
        Some(toml::Value::String(s)) if s == "never" => Ok(None),
        Some(_) => Err(invalid(key, "expected days (1 to 365) or \"never\"")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    name: String,
    target: String,
    action: Action,
    secret: Option<String>,
    token: Option<String>,
    signature_header: Option<String>,
    timestamp_header: Option<String>,
    tolerance: Option<String>,
    max_body: Option<usize>,
    ttl: Option<String>,
    description: Option<String>,
    product_id: Option<String>,
    values: Vec<String>,
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
}

/// Default signature header of an HMAC trigger.
pub const SIGNATURE_HEADER: &str = "X-Iocsync-Signature";
/// Default timestamp header of an HMAC trigger.
pub const TIMESTAMP_HEADER: &str = "X-Iocsync-Timestamp";
/// Default body size limit of a trigger: alerts are small.
pub const MAX_BODY: usize = 64 * 1024;
/// The largest body limit a trigger may set.
const MAX_BODY_CEILING: usize = 16 * 1024 * 1024;

/// How a trigger's caller proves who it is. Holds secret *references* only.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerAuth {
    /// `<signature_header>: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` plus
    /// `<timestamp_header>: <Unix seconds>`, within `tolerance` of now.
    Hmac {
        secret_ref: String,
        signature_header: String,
        timestamp_header: String,
        tolerance: Duration,
    },
    /// `Authorization: Bearer <token>`.
    Bearer { token_ref: String },
}

/// One webhook trigger (`POST /hooks/<name>`), validated.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub name: String,
    pub target: String,
    /// `Blocklist`, `XdrBlock` or `Http`.
    pub action: Action,
    pub auth: TriggerAuth,
    pub max_body: usize,
    /// How long a block lasts before iocsync lifts it.
    pub ttl: Option<Duration>,
    pub description: String,
    /// `productId` of XDR v2 blocks.
    pub product_id: String,
    /// Templates, each giving one indicator value per alert.
    pub values: Vec<crate::trigger::ValueTemplate>,
    /// Placeholder name → dotted path into the alert JSON.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Position in the file, for key paths in errors.
    index: usize,
}

impl Trigger {
    /// Reads the HMAC secret or bearer token from the environment variable or file named.
    pub fn resolve_secret(&self) -> Result<SecretString, ConfigError> {
        let (key, reference) = match &self.auth {
            TriggerAuth::Hmac { secret_ref, .. } => ("secret", secret_ref),
            TriggerAuth::Bearer { token_ref } => ("token", token_ref),
        };
        non_empty_secret(format!("triggers[{}].{key}", self.index), reference)
    }
}

fn validate_trigger(i: usize, raw: RawTrigger, targets: &[Target]) -> Result<Trigger, ConfigError> {
    let path = format!("triggers[{i}]");
    let key = |name: &str| format!("{path}.{name}");
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            key("name"),
            "use letters, digits, `-` and `_` only",
        ));
    }
    let target = targets
        .iter()
        .find(|t| t.name == raw.target)
        .ok_or_else(|| invalid(key("target"), format!("no target `{}`", raw.target)))?;
    if !matches!(
        raw.action,
        Action::Blocklist | Action::XdrBlock | Action::Http
    ) {
        return Err(invalid(
            key("action"),
            "expected \"blocklist\", \"xdr-block\" or \"http\"",
        ));
    }
    if target.product != raw.action.product() {
        return Err(invalid(
            key("action"),
            format!(
                "action {:?} does not apply to target `{}` ({:?})",
                raw.action, target.name, target.product
            ),
        ));
    }
    let auth = trigger_auth(&path, &raw)?;
    let max_body = raw.max_body.unwrap_or(MAX_BODY);
    if !(1..=MAX_BODY_CEILING).contains(&max_body) {
        return Err(invalid(
            key("max_body"),
            format!("expected 1 to {MAX_BODY_CEILING} bytes"),
        ));
    }
    let ttl = raw
        .ttl
        .as_deref()
        .map(|text| positive_duration(&key("ttl"), text))
        .transpose()?;
    let undoable = target
        .webhook
        .as_ref()
        .is_some_and(|webhook| webhook.remove_payload.is_some());
    if ttl.is_some() && raw.action == Action::Http && !undoable {
        return Err(invalid(
            key("ttl"),
            format!(
                "target `{}` has no `remove_payload`, so a block cannot be lifted",
                target.name
            ),
        ));
    }
    if raw.product_id.is_some() && raw.action != Action::XdrBlock {
        return Err(invalid(key("product_id"), "applies to xdr-block only"));
    }
    let product_id = raw.product_id.unwrap_or_else(|| "iocsync".to_owned());
    if product_id.trim().is_empty() {
        return Err(invalid(key("product_id"), "must not be empty"));
    }
    for (name, field_path) in &raw.fields {
        if !crate::trigger::is_field_name(name) {
            return Err(invalid(
                key(&format!("fields.{name}")),
                "a field name is a letter or `_` followed by letters, digits and `_`",
            ));
        }
        if field_path.split('.').any(str::is_empty) {
            return Err(invalid(
                key(&format!("fields.{name}")),
                "expected a dotted path such as \"alert.source.ip\"",
            ));
        }
    }
    let values = trigger_values(&path, &raw.values, &raw.fields)?;
    Ok(Trigger {
        description: raw
            .description
            .unwrap_or_else(|| format!("iocsync trigger {}", raw.name)),
        name: raw.name,
        target: raw.target,
        action: raw.action,
        auth,
        max_body,
        ttl,
        product_id,
        values,
        fields: raw.fields,
        index: i,
    })
}

fn trigger_auth(path: &str, raw: &RawTrigger) -> Result<TriggerAuth, ConfigError> {
    let key = |name: &str| format!("{path}.{name}");
    let reference = |name: &str, value: &str| {
        if is_reference(value) {
            Ok(value.to_owned())
        } else {
            Err(invalid(key(name), INLINE_SECRET))
        }
    };
    match (&raw.secret, &raw.token) {
        (Some(secret), None) => {
            let header = |name: &str, given: &Option<String>, default: &str| {
                let header = given.clone().unwrap_or_else(|| default.to_owned());
                if header.is_empty()
                    || !header
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(invalid(
                        key(name),
                        "expected a header name (letters, digits, `-`)",
                    ));
                }
                Ok(header)
            };
            Ok(TriggerAuth::Hmac {
                secret_ref: reference("secret", secret)?,
                signature_header: header(
                    "signature_header",
                    &raw.signature_header,
                    SIGNATURE_HEADER,
                )?,
                timestamp_header: header(
                    "timestamp_header",
                    &raw.timestamp_header,
                    TIMESTAMP_HEADER,
                )?,
                tolerance: positive_duration(
                    &key("tolerance"),
                    raw.tolerance.as_deref().unwrap_or("5m"),
                )?,
            })
        }
        (None, Some(token)) => {
            for (name, given) in [
                ("signature_header", &raw.signature_header),
                ("timestamp_header", &raw.timestamp_header),
                ("tolerance", &raw.tolerance),
            ] {
                if given.is_some() {
                    return Err(invalid(
                        key(name),
                        "applies to `secret` (HMAC) triggers only",
                    ));
                }
            }
            Ok(TriggerAuth::Bearer {
                token_ref: reference("token", token)?,
            })
        }
        _ => Err(invalid(
            path,
            "give exactly one of `secret` (HMAC signature) and `token` (bearer)",
        )),
    }
}

fn trigger_values(
    path: &str,
    values: &[String],
    fields: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<crate::trigger::ValueTemplate>, ConfigError> {
    if values.is_empty() {
        return Err(invalid(
            format!("{path}.values"),
            "give at least one template, such as [\"$SrcIP\"]",
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(j, text)| {
            let key = format!("{path}.values[{j}]");
            let template = crate::trigger::ValueTemplate::parse(text);
            let names = template.fields();
            if names.is_empty() {
                return Err(invalid(key, "uses no `$Field` placeholder"));
            }
            match names.iter().find(|name| !fields.contains_key(**name)) {
                Some(name) => Err(invalid(
                    key,
                    format!("uses `${name}`, but `fields` has no `{name}`"),
                )),
                None => Ok(template),
            }
        })
        .collect()
}

fn positive_duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(invalid(key, "must be longer than zero")),
        Err(error) => Err(invalid(
            key,
            format!("expected a duration such as \"5m\" or \"24h\": {error}"),
        )),
    }
}

/// Reads a `parameters` table key by key, so that each error names its key path, and refuses
/// keys nothing read.
struct Reader<'a> {
    path: String,
    table: &'a toml::Table,
    used: BTreeSet<String>,
}

impl<'a> Reader<'a> {
    fn new(path: String, table: &'a toml::Table) -> Self {
        Reader {
            path,
            table,
            used: BTreeSet::new(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    fn raw(&mut self, name: &str) -> Option<&'a toml::Value> {
        self.used.insert(name.to_owned());
        self.table.get(name)
    }

    fn string(
        &mut self,
        name: &str,
        choices: &[&'static str],
    ) -> Result<Option<&'static str>, ConfigError> {
        let key = self.key(name);
        let expected = || {
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            invalid(&key, format!("expected one of {}", quoted.join(", ")))
        };
        match self.raw(name) {
            None => Ok(None),
            Some(toml::Value::String(s)) => choices
                .iter()
                .find(|c| **c == s.as_str())
                .copied()
                .map(Some)
                .ok_or_else(expected),
            Some(_) => Err(expected()),
        }
    }

    fn integer(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
        let key = self.key(name);
        match self.raw(name) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(_) => Err(invalid(
                key,
                format!("expected an integer from {min} to {max}"),
            )),
        }
    }

    fn boolean(&mut self, name: &str) -> Result<Option<bool>, ConfigError> {
        let key = self.key(name);
        match self.raw(name) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(key, "expected true or false")),
        }
    }

    fn finish(self) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(unknown) => Err(invalid(
                self.key(unknown),
                "unknown parameter for this action",
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[library]
path = "lib.db"

[[targets]]
name = "v1"
product = "vision-one"
base_url = "http://127.0.0.1:1"
api_key = "env:V1_KEY"

[[targets]]
name = "ds"
product = "deep-security"
base_url = "http://127.0.0.1:1/api"
api_key = "file:/run/secrets/ds"
auth_header = "api-secret-key"

[[collections]]
name = "all"
"#;

    fn with(extra: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&format!("{BASE}{extra}"))
    }

    #[test]
    fn reads_a_full_file() {
        let config = with(
            r#"
[[workflows]]
name = "block"
collection = "all"
target = "v1"
action = "blocklist"
schedule = "15m"
parameters = { expiry = "never", risk_level = "high", url_scheme = "both", objects_per_run = 500 }

[[workflows]]
name = "ips"
collection = "all"
target = "ds"
action = "ip-list"
schedule = "0 */6 * * *"
parameters = { list_name = "Blocked", include = ["asset"] }
"#,
        )
        .unwrap();
        let Parameters::Blocklist(p) = &config.workflow("block").unwrap().parameters else {
            panic!("not a blocklist");
        };
        assert_eq!(p.expiry, ExpirySetting::Never);
        assert_eq!(p.url_scheme, UrlScheme::Both);
        assert_eq!(p.objects_per_run, Some(500));
        let Parameters::IpList(p) = &config.workflow("ips").unwrap().parameters else {
            panic!("not an ip list");
        };
        assert_eq!(p.include, vec![Class::Asset]);
        assert!(p.aggregate);
        assert!(matches!(
            config.workflow("ips").unwrap().schedule,
            Some(Schedule::Cron(_))
        ));
    }

    #[test]
    fn feeds_are_read_with_their_modes_credentials_and_the_workflows_that_follow_them() {
        let config = with(
            r#"
[[feeds]]
name = "feodo"
url = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
schedule = "1h"
score = 8
tags = ["c2"]
expire_after = "14d"
headers = { "X-Key" = "env:FEODO_KEY" }

[[feeds]]
name = "intel"
url = "taxii+https://taxii.example/api1/collections/91a7b528/"
format = "taxii"
bearer = "env:TAXII_TOKEN"

[[feeds]]
name = "local"
url = "lists/blocked.txt"
min_ratio = 0.9

[[workflows]]
name = "follow"
collection = "all"
target = "v1"
action = "blocklist"
after = ["feodo"]

[[workflows]]
name = "every"
collection = "all"
target = "v1"
action = "exceptions"
schedule = "after-feeds"
"#,
        )
        .unwrap();
        let feodo = config.feed("feodo").unwrap();
        assert_eq!(feodo.mode, store::FeedMode::Snapshot);
        assert_eq!(feodo.expire_after, Some(Duration::from_secs(14 * 86_400)));
        assert!(matches!(feodo.location, Location::Url(_)));
        let intel = config.feed("intel").unwrap();
        assert_eq!(intel.mode, store::FeedMode::Incremental);
        assert_eq!(intel.auth, FeedAuth::Bearer("env:TAXII_TOKEN".into()));
        assert_eq!(config.feed("local").unwrap().min_ratio, 0.9);
        assert!(config.workflow("follow").unwrap().after.follows("feodo"));
        assert!(!config.workflow("follow").unwrap().after.follows("intel"));
        assert_eq!(config.workflow("every").unwrap().after, After::AnyFeed);
        assert!(config.workflow("every").unwrap().schedule.is_none());
        assert!(
            config
                .feed("nope")
                .unwrap_err()
                .to_string()
                .contains("feodo, intel, local")
        );
    }

    #[test]
    fn bad_feeds_name_their_key() {
        let feed = |extra: &str| {
            with(&format!(
                "[[feeds]]\nname = \"f\"\nurl = \"https://feeds.example/x\"\n{extra}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        assert!(
            feed("headers = { Authorization = \"abc123\" }")
                .starts_with("feeds[0].headers.Authorization: secrets are never written")
        );
        assert!(!feed("headers = { Authorization = \"abc123\" }").contains("abc123"));
        assert!(feed("min_ratio = 2.0").starts_with("feeds[0].min_ratio:"));
        assert!(feed("mode = \"sometimes\"").starts_with("feeds[0].mode:"));
        assert!(feed("colour = 1").contains("colour"));
        assert!(feed("basic_user = \"u\"").starts_with("feeds[0].basic_password:"));
        let url = with("[[feeds]]\nname = \"f\"\nurl = \"https://u:secret@feeds.example/x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            url.starts_with("feeds[0].url:") && !url.contains("secret@"),
            "{url}"
        );
        let taxii = with("[[feeds]]\nname = \"t\"\nurl = \"taxii+https://h.example/api/collections/1/\"\nmode = \"snapshot\"\n")
            .unwrap_err()
            .to_string();
        assert!(taxii.starts_with("feeds[0].mode:"), "{taxii}");
        let after = with("[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nafter = [\"ghost\"]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(after, "workflows[0].after[0]: no feed `ghost` in [[feeds]]");
        let clear =
            with("[[feeds]]\nname = \"f\"\nurl = \"http://feeds.example/x\"\nbearer = \"env:T\"\n")
                .unwrap_err()
                .to_string();
        assert!(clear.starts_with("feeds[0].url: plain http://"), "{clear}");
        assert!(
            with("[[feeds]]\nname = \"f\"\nurl = \"http://127.0.0.1:8/x\"\nbearer = \"env:T\"\n")
                .is_ok()
        );
        assert!(with("[[feeds]]\nname = \"f\"\nurl = \"http://feeds.example/x\"\n").is_ok());
        let taxii = |host: &str| {
            with(&format!(
                "[[feeds]]\nname = \"t\"\nurl = \"taxii+http://{host}/api/collections/1/\"\nbearer = \"env:T\"\n"
            ))
        };
        assert!(taxii("127.0.0.1:5000").is_ok());
        assert!(
            taxii("taxii.example")
                .unwrap_err()
                .to_string()
                .contains("clear text")
        );
    }

    #[test]
    fn bad_values_name_their_key_path() {
        let flow = |params: &str| {
            with(&format!(
                "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nparameters = {{ {params} }}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        let error = flow("expiry = 5");
        assert_eq!(
            error,
            "workflows[0].parameters.expiry: expected one of 7, 15, 30, 45, 60, 75, 90, \"never\", \"customer\", \"valid-until\""
        );
        assert!(flow("colour = 1").starts_with("workflows[0].parameters.colour:"));
        assert!(flow("scan_action = \"nuke\"").contains("\"block\", \"log\", \"customer\""));
    }

    #[test]
    fn inline_secrets_are_refused_without_echoing_them() {
        let text = BASE.replace("env:V1_KEY", "sk-live-abcdef");
        let error = Config::from_toml(&text).unwrap_err().to_string();
        assert!(error.starts_with("targets[0].api_key:"), "{error}");
        assert!(!error.contains("sk-live-abcdef"), "{error}");
    }

    #[test]
    fn removal_templates_belong_to_http_targets_and_need_a_payload() {
        let http = |keys: &str| {
            with(&format!(
                "[[targets]]\nname = \"hook\"\nproduct = \"http\"\nbase_url = \"http://127.0.0.1:9/add\"\npayload = '{{}}'\n{keys}\n"
            ))
        };
        let config =
            http("remove_url = \"http://127.0.0.1:9/del\"\nremove_payload = '[\"$value\"]'")
                .unwrap();
        let webhook = config.target("hook").unwrap().http_template().unwrap();
        assert_eq!(webhook.remove_url.unwrap().path(), "/del");
        assert_eq!(webhook.remove_payload.as_deref(), Some("[\"$value\"]"));
        let error = http("remove_method = \"DELETE\"").unwrap_err().to_string();
        assert!(error.contains(".remove_payload: is required"), "{error}");
        let error = http("remove_url = \"not a url\"\nremove_payload = '{}'")
            .unwrap_err()
            .to_string();
        assert!(error.contains(".remove_url:"), "{error}");
        let error = BASE.replacen(
            "api_key = \"env:V1_KEY\"",
            "api_key = \"env:V1_KEY\"\nremove_payload = '{}'",
            1,
        );
        let error = Config::from_toml(&error).unwrap_err().to_string();
        assert!(error.contains("apply to http targets only"), "{error}");
    }

    #[test]
    fn the_status_token_is_a_reference_that_must_resolve() {
        let open = with("").unwrap();
        assert!(open.serve.resolve_token().unwrap().is_none());
        let error = with("[serve]\ntoken = \"hunter2\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("serve.token:"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let missing = with("[serve]\ntoken = \"env:IOCSYNC_TEST_NO_SUCH_VARIABLE\"\n").unwrap();
        let error = missing.serve.resolve_token().unwrap_err().to_string();
        assert!(error.starts_with("serve.token:"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let text = format!("[serve]\ntoken = \"file:{}\"\n", file.display());
        let token = with(&text).unwrap().serve.resolve_token().unwrap().unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "s3cret");
        assert!(with("[serve]\nlisten = \"0.0.0.0:1\"\n").is_err());
    }

    #[test]
    fn unknown_fields_and_wrong_products_are_refused() {
        assert!(with("[oops]\n").is_err());
        let error = with(
            "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"ds\"\naction = \"blocklist\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("workflows[0].action:"), "{error}");
        let error = with(
            "[[workflows]]\nname = \"w\"\ncollection = \"all\"\ntarget = \"nope\"\naction = \"blocklist\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("workflows[0].target:"), "{error}");
    }
}
