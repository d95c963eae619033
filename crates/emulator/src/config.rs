//! Emulator options: credentials, the Vision One "customer settings", limits, rate limits, faults,
//! task timing and the Apex Central applications and UDSO list. Every field has a default, so an empty TOML file is a valid configuration;
//! unknown keys are rejected so a typo names the key instead of being ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;
use crate::faults::FaultSettings;
use crate::vision_one::model::{RiskLevel, ScanAction};

/// Everything the emulator can be told at start-up.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Address to listen on (the CLI's `--listen` wins). `spawn` ignores it and uses 127.0.0.1:0.
    pub listen: Option<SocketAddr>,
    /// Keys valid for every API, reads and writes.
    pub api_keys: Vec<SecretString>,
    /// Keys that may read but get 403 on every write.
    pub read_only_keys: Vec<SecretString>,
    /// JSON file the state is loaded from at start and saved to on shutdown.
    pub state_file: Option<PathBuf>,
    /// Seed of the random generator behind probabilistic faults (same seed, same faults).
    pub seed: u64,
    /// Base URL used in `nextLink` and `Operation-Location` (default: `http://` + the Host header).
    pub public_url: Option<String>,
    /// Defaults applied to suspicious objects that omit a setting.
    pub customer_settings: CustomerSettings,
    /// Size and count limits.
    pub limits: Limits,
    /// Requests per 60-second sliding window per key; 0 means unlimited.
    pub rate_limits: RateLimits,
    /// Faults injected from the start (they can be changed at run time).
    pub faults: FaultSettings,
    /// Timing of asynchronous tasks (XDR v2 block and the v3 response tasks).
    pub tasks: TaskSettings,
    /// Deep Security specifics.
    pub deep_security: DeepSecuritySettings,
    /// Apex Central specifics: registered applications, the UDSO list's limits and choices.
    pub apex_central: ApexCentralSettings,
}

/// Vision One's "customer settings": what an omitted `scanAction`, `riskLevel` or
/// `daysToExpiration` means.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerSettings {
    pub scan_action: ScanAction,
    pub risk_level: RiskLevel,
    /// −1 (never expires) or 1…365.
    pub days_to_expiration: i64,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self {
            scan_action: ScanAction::Block,
            risk_level: RiskLevel::Medium,
            days_to_expiration: 30,
        }
    }
}

/// Size and count limits of the emulated services.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Suspicious objects per type (url, domain, ...).
    pub suspicious_objects_per_type: usize,
    /// Exceptions in all.
    pub exceptions: usize,
    /// Largest Vision One / XDR request body in bytes (larger gets 413).
    pub body_bytes: usize,
    /// Largest Deep Security request body in bytes.
    pub deep_security_body_bytes: usize,
    /// IP lists a manager holds.
    pub ip_lists: usize,
    /// Characters of one IP list's items joined by newlines.
    pub ip_list_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            suspicious_objects_per_type: 10_000,
            exceptions: 5_000,
            body_bytes: 1_000_000,
            deep_security_body_bytes: 16 * 1024 * 1024,
            ip_lists: 5_000,
            ip_list_chars: 32_000,
        }
    }
}

/// Requests allowed per key in any 60-second window, per API; 0 disables the limit.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub vision_one: u32,
    pub deep_security: u32,
    pub xdr: u32,
    /// **\[open\]**: Apex Central documents no rate limit; per application when set.
    pub apex_central: u32,
}

/// How long asynchronous tasks take, on the emulator's clock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskSettings {
    /// Seconds from a task's creation until its final status; it is "ongoing"/"running" for the
    /// second half of that time. 0 makes tasks end at once.
    pub delay_seconds: u64,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self { delay_seconds: 4 }
    }
}

/// Deep Security specifics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeepSecuritySettings {
    /// Value of the `X-DSM-Version` response header.
    pub dsm_version: String,
}

impl Default for DeepSecuritySettings {
    fn default() -> Self {
        Self {
            dsm_version: "20.0.877".to_owned(),
        }
    }
}

/// Apex Central specifics (see [`crate::apex_central`] for the sources of each choice).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApexCentralSettings {
    /// Applications registered on the Automation API Access Settings screen. With none, the
    /// emulator registers one with a generated ID and key (printed at start).
    pub applications: Vec<ApexApplication>,
    /// Seconds an `iat` may be from the emulator's clock (the console's "Communication
    /// time-out", chosen per application there; **\[open\]** default 900).
    pub communication_timeout_seconds: u64,
    /// Objects the UDSO list holds, all types together (**\[open\]** default 10,000).
    pub max_objects: usize,
    /// How `contentFilter` matches (**\[open\]**).
    pub content_filter: ContentFilterMatch,
    /// The `type` SHA-1 objects are listed with (**\[open\]**: `file_sha1` as added, or `file` as
    /// XSOAR's README example lists them).
    pub sha1_listed_as: Sha1ListedAs,
    /// The answer to deleting an absent object (**\[open\]**).
    pub missing_on_delete: MissingOnDelete,
}

impl Default for ApexCentralSettings {
    fn default() -> Self {
        Self {
            applications: Vec::new(),
            communication_timeout_seconds: 900,
            max_objects: 10_000,
            content_filter: ContentFilterMatch::Substring,
            sha1_listed_as: Sha1ListedAs::FileSha1,
            missing_on_delete: MissingOnDelete::DataNotFound,
        }
    }
}

impl ApexCentralSettings {
    /// Application IDs are non-empty and unique; the time-out is at least a second.
    fn validate(&self) -> Result<(), EmulatorError> {
        let invalid = |message: String| Err(EmulatorError::InvalidConfig(message));
        if self.communication_timeout_seconds == 0 {
            return invalid("apex_central.communication_timeout_seconds must be at least 1".into());
        }
        for (index, app) in self.applications.iter().enumerate() {
            if app.id.trim().is_empty() {
                return invalid(format!("apex_central.applications[{index}].id is empty"));
            }
            if self.applications[..index]
                .iter()
                .any(|other| other.id == app.id)
            {
                return invalid(format!(
                    "apex_central.applications[{index}].id `{}` is registered twice",
                    app.id
                ));
            }
        }
        Ok(())
    }
}

/// One application allowed to use the Automation API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApexApplication {
    /// The application ID (the `appid` claim).
    pub id: String,
    /// The API key tokens are signed with.
    pub api_key: SecretString,
    /// The account behind it may read but not write (`PermissionCtrl.permission` "1").
    #[serde(default)]
    pub read_only: bool,
}

/// How `contentFilter` selects objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentFilterMatch {
    /// The content contains the filter, without regard to case.
    Substring,
    /// The content is the filter (hashes and domains without regard to case).
    Exact,
}

/// The `type` SHA-1 objects carry in list answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sha1ListedAs {
    FileSha1,
    File,
}

impl Sha1ListedAs {
    pub fn as_str(self) -> &'static str {
        match self {
            Sha1ListedAs::FileSha1 => "file_sha1",
            Sha1ListedAs::File => "file",
        }
    }
}

/// What deleting an object that is not on the list answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingOnDelete {
    /// HTTP 500, ErrorCode 8 "Data not found".
    DataNotFound,
    /// HTTP 200, as if it had been removed.
    Ok,
}

impl EmulatorConfig {
    /// Registers an Apex Central application (builder style, for tests).
    pub fn with_apex_application(mut self, id: impl Into<String>, key: impl Into<String>) -> Self {
        self.apex_central.applications.push(ApexApplication {
            id: id.into(),
            api_key: SecretString::from(key.into()),
            read_only: false,
        });
        self
    }

    /// Registers a read-only Apex Central application (builder style, for tests).
    pub fn with_read_only_apex_application(
        mut self,
        id: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        self = self.with_apex_application(id, key);
        if let Some(app) = self.apex_central.applications.last_mut() {
            app.read_only = true;
        }
        self
    }

    /// Adds a key valid for every API (builder style, for tests).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_keys.push(SecretString::from(key.into()));
        self
    }

    /// Adds a read-only key (builder style, for tests).
    pub fn with_read_only_key(mut self, key: impl Into<String>) -> Self {
        self.read_only_keys.push(SecretString::from(key.into()));
        self
    }

    /// Reads a TOML configuration file; errors name the file and the offending key.
    pub fn from_toml_file(path: &Path) -> Result<Self, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|err| match err {
            EmulatorError::ParseConfig { message, .. } => EmulatorError::ParseConfig {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text and checks the values.
    pub fn from_toml_str(text: &str) -> Result<Self, EmulatorError> {
        let config: Self = toml::from_str(text).map_err(|err| EmulatorError::ParseConfig {
            path: PathBuf::new(),
            message: err.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values serde cannot: ranges and probabilities.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        let days = self.customer_settings.days_to_expiration;
        if days != -1 && !(1..=365).contains(&days) {
            return Err(EmulatorError::InvalidConfig(format!(
                "customer_settings.days_to_expiration must be -1 or 1..=365, got {days}"
            )));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(EmulatorError::InvalidConfig(format!(
                "public_url must start with http:// or https://, got {url:?}"
            )));
        }
        if axum::http::HeaderValue::from_str(&self.deep_security.dsm_version).is_err() {
            return Err(EmulatorError::InvalidConfig(format!(
                "deep_security.dsm_version must be printable ASCII, got {:?}",
                self.deep_security.dsm_version
            )));
        }
        self.apex_central.validate()?;
        self.faults
            .validate()
            .map_err(|msg| EmulatorError::InvalidConfig(format!("faults.{msg}")))
    }
}
