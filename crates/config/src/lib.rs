//! The config file model: one TOML file with `[library]`, `[[targets]]`, `[[collections]]`,
//! `[guard]`, `[[workflows]]`, `[[triggers]]` (webhooks a SIEM calls), `[[feeds]]` and
//! `[serve]`.
//!
//! Reading is two steps, as in vector's `validate()`/`build()`: [`Config::from_toml`] parses
//! (serde, `deny_unknown_fields`) and validates without I/O, naming the key path of every bad
//! value (`workflows[2].parameters.expiry: ...`); secrets are resolved only when a client is
//! built ([`Target::resolve_key`]), so `iocsync plan` needs no credentials. Secrets are never
//! written inline: `api_key` must be `env:NAME` or `file:PATH` ([`reference`]). How targets are
//! reached (URL keys without secrets, plain http only to loopback, the proxy password) is
//! [`transport`].
//!
//! - [`targets`], [`workflows`] (with their [`parameters`]), [`triggers`], [`feeds`] and
//!   [`serve`] (with its [`listener`] bounds): one module per section;
//! - [`schedule`]: intervals, cron expressions and durations;
//! - [`template`]: the `$Field` templates of trigger values and workflow descriptions;
//! - [`error`] holds [`ConfigError`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod feeds;
pub mod listener;
pub mod parameters;
mod read;
pub mod reference;
pub mod schedule;
pub mod serve;
pub mod targets;
pub mod template;
pub mod transport;
pub mod triggers;
pub mod workflows;

pub use error::ConfigError;
pub use feeds::{Feed, FeedAuth, FeedFormat, Location, MispFilters};
pub use listener::ListenerLimits;
pub use parameters::{
    BlocklistParams, ExceptionParams, ExpirySetting, HttpParams, IpListParams, Parameters,
    RiskSetting, UrlScheme, XdrParams,
};
pub use schedule::Schedule;
pub use serve::ServeSettings;
pub use targets::{
    Capacity, DEFAULT_RESERVE_PER_TYPE, Product, Target, V1_CAPACITY_PER_TYPE,
    V1_EXCEPTION_CAPACITY, WhenFull,
};
pub use template::{ValueTemplate, is_field_name};
pub use triggers::{MAX_BODY, SIGNATURE_HEADER, TIMESTAMP_HEADER, Trigger, TriggerAuth};
pub use workflows::{
    Action, After, Brake, DEFAULT_BRAKE, DEFAULT_VERIFY_EVERY, DESCRIPTION_FIELDS, HANDFUL,
    MANUAL_CLAIMANT, TRIGGER_CLAIMANT_PREFIX, Workflow, valid_workflow_name,
};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use guard::GuardConfig;
use serde::Deserialize;
use store::Collection;

use crate::error::invalid;
use crate::serve::{RawServe, validate_serve};
use crate::targets::{read_target, validate_target};
use crate::triggers::{RawTrigger, validate_trigger};
use crate::workflows::{RawWorkflow, one_workflow_per_ip_list, validate_workflow};

/// The raw file, as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    library: LibrarySection,
    #[serde(default)]
    targets: Vec<toml::Value>,
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

/// `[library]`: where the SQLite library lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySection {
    /// Path of the library file (relative paths are taken from the config file's folder).
    pub path: PathBuf,
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
        let mut errors = Vec::new();
        let mut targets = Vec::new();
        for (i, entry) in raw.targets.into_iter().enumerate() {
            if let Some(target) = read_target(i, entry, &mut errors)
                .and_then(|section| validate_target(i, section, &mut errors))
            {
                targets.push(target);
            }
        }
        if let Some(first) = errors.into_iter().next() {
            return Err(first);
        }
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

#[cfg(test)]
mod tests;
