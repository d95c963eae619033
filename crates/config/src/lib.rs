//! The config file model: one TOML file with `[library]`, `[[targets]]`, `[[collections]]`,
//! `[guard]`, `[[workflows]]`, `[[triggers]]` (webhooks a SIEM calls), `[[feeds]]`, `[serve]`
//! and `[taxii]` (collections iocsync serves as a TAXII 2.1 server).
//!
//! Reading is two steps, as in vector's `validate()`/`build()`: [`Config::check`] (and
//! [`Config::from_toml`], [`Config::load`]) parses (serde, `deny_unknown_fields`) and validates
//! without I/O, returning every error with its key path (`workflows[2].parameters.expiry: ...`)
//! — each entry is read on its own, so one mistake hides nothing after it; secrets are
//! resolved only when a client is built (each product's `config`), so `iocsync plan` needs no
//! credentials. Secrets are never written inline: `api_key` must be `env:NAME` or `file:PATH`
//! ([`mod@reference`]). How targets are reached (URL keys without secrets, plain http only to
//! loopback, the proxy password) is [`transport`].
//!
//! - [`targets`], [`workflows`] (with their [`parameters`]), [`triggers`], [`feeds`] and
//!   [`serve`] (with its [`listener`] bounds): one module per section;
//! - [`schedule`]: intervals, cron expressions and durations;
//! - [`template`]: the `$Field` templates of trigger values and workflow descriptions;
//! - [`check`]: `iocsync config check` — the file's errors, then what needs the machine but no
//!   network (secrets resolve, collections exist, the guard builds);
//! - [`mod@schema`]: the file's JSON Schema (`iocsync config schema`), derived from the section
//!   types as written, and the reference page `docs/configuration.md` rendered from it;
//! - [`error`] holds [`ConfigError`] and [`ConfigErrors`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod check;
pub mod error;
pub mod feeds;
pub mod library;
pub mod listener;
pub mod parameters;
mod read;
pub mod reference;
pub mod schedule;
pub mod schema;
pub mod serve;
pub mod targets;
pub mod taxii;
pub mod template;
pub mod transport;
pub mod triggers;
pub mod workflows;

pub use error::{ConfigError, ConfigErrors};
pub use feeds::{Feed, FeedAuth, FeedFormat, Location, MispFilters};
pub use library::{LibraryError, LibraryLocation, LibrarySection, PostgresLocation};
pub use listener::ListenerLimits;
pub use parameters::UrlScheme;
pub use schedule::Schedule;
pub use schema::schema;
pub use serve::ServeSettings;
pub use targets::deep_security::{DeepSecurityTarget, IpListParams};
pub use targets::http::{HttpParams, HttpTarget};
pub use targets::vision_one::{
    BlocklistParams, Capacity, DEFAULT_RESERVE_PER_TYPE, ExceptionParams, ExpirySetting,
    ResponseParams, RiskSetting, V1_CAPACITY_PER_TYPE, V1_EXCEPTION_CAPACITY, VisionOneTarget,
    WhenFull,
};
pub use targets::xdr_v2::{XdrParams, XdrV2Target};
pub use targets::{Action, Parameters, Product, Settings, Target};
pub use taxii::{Reader, TaxiiCollection, TaxiiSettings};
pub use template::{ValueTemplate, is_field_name};
pub use triggers::{MAX_BODY, SIGNATURE_HEADER, TIMESTAMP_HEADER, Trigger, TriggerAuth};
pub use workflows::{
    After, Brake, DEFAULT_BRAKE, DEFAULT_VERIFY_EVERY, DESCRIPTION_FIELDS, HANDFUL,
    MANUAL_CLAIMANT, TRIGGER_CLAIMANT_PREFIX, Workflow, valid_workflow_name,
};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use guard::GuardConfig;
use schemars::JsonSchema;
use serde::Deserialize;
use store::Collection;

use crate::error::invalid;
use crate::serve::{RawServe, validate_serve};
use crate::targets::{read_target, validate_target};
use crate::triggers::validate_trigger;
use crate::workflows::{one_workflow_per_ip_list, validate_workflow};

/// The file's sections as read from the top level; each entry of a list stays a TOML value
/// until it is read on its own, so an error in one entry never hides the next. Its schema
/// (`schemars(with)`) is that of the entries as they are read.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "iocsync configuration",
    description = "The iocsync config file (TOML), as `iocsync config check` reads it."
)]
struct Sections {
    /// Where the library of indicators lives (required).
    #[schemars(with = "LibrarySection")]
    library: Option<LibrarySection>,
    /// The connections workflows and triggers write to; `product` picks the keys an entry
    /// takes.
    #[serde(default)]
    #[schemars(with = "Vec<targets::TargetSection>")]
    targets: Vec<toml::Value>,
    /// Named filters over the library that workflows keep on targets and TAXII serves.
    #[serde(default)]
    #[schemars(with = "Vec<Collection>")]
    collections: Vec<toml::Value>,
    /// What is never sent to a target, whatever a feed says: allowlists, warninglists and the
    /// broadest networks accepted.
    #[serde(default)]
    guard: GuardConfig,
    /// A collection kept on a target by one action, on a schedule.
    #[serde(default)]
    #[schemars(with = "Vec<workflows::RawWorkflow>")]
    workflows: Vec<toml::Value>,
    /// Webhooks a SIEM calls (`POST /hooks/<name>`) to block values from an alert at once.
    #[serde(default)]
    #[schemars(with = "Vec<triggers::RawTrigger>")]
    triggers: Vec<toml::Value>,
    /// Sources the daemon pulls on a schedule (and `iocsync pull` by hand).
    #[serde(default)]
    #[schemars(with = "Vec<feeds::RawFeed>")]
    feeds: Vec<toml::Value>,
    /// The daemon's HTTP listener (`iocsync serve`).
    #[serde(default)]
    serve: RawServe,
    /// Collections iocsync serves as a TAXII 2.1 server.
    #[serde(default)]
    taxii: taxii::RawTaxii,
}

/// A validated config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub library: LibraryLocation,
    pub targets: Vec<Target>,
    pub collections: Vec<Collection>,
    pub guard: GuardConfig,
    pub workflows: Vec<Workflow>,
    pub triggers: Vec<Trigger>,
    pub feeds: Vec<Feed>,
    pub serve: ServeSettings,
    pub taxii: TaxiiSettings,
}

impl Config {
    /// Reads and validates the file at `path` (every error of the file in one
    /// [`ConfigError::Several`] when there are several).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_all(path).map_err(ConfigError::from)
    }

    /// Reads and validates the file at `path`, with every error.
    pub fn load_all(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            ConfigErrors::from(if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::Missing(path.to_owned())
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            })
        })?;
        let mut config = Config::check(&text).map_err(|errors| errors.in_file(path))?;
        if let Some(dir) = path.parent() {
            config.library.relative_to(dir);
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

    /// Parses and validates config text (no I/O); several errors come as one
    /// [`ConfigError::Several`] ([`Config::check`] gives them as a list).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::check(text).map_err(ConfigError::from)
    }

    /// Parses and validates config text (no I/O), returning every error, each with its key
    /// path. Each entry of a list is read on its own, and a bad key is reported and the entry
    /// read on, so one mistake hides nothing after it; a workflow or trigger that names a
    /// target with errors waits for that target's fix (its own errors would only repeat it).
    pub fn check(text: &str) -> Result<Config, ConfigErrors> {
        let doc: toml::Table = toml::from_str(text).map_err(|error| {
            ConfigErrors::from(ConfigError::Syntax {
                path: PathBuf::from("<text>"),
                message: syntax(&error, text),
            })
        })?;
        let mut errors = Vec::new();
        let sections: Sections =
            read::lenient("", toml::Value::Table(doc), &mut errors).unwrap_or_default();
        let library = match sections.library {
            Some(section) => library::validate(section, &mut errors),
            None => {
                errors.push(invalid(
                    "library",
                    "is required: `[library]` with its `path` (or a PostgreSQL `url`)",
                ));
                None
            }
        };

        let names = |entries: &[toml::Value]| -> Vec<Option<String>> {
            entries.iter().map(|entry| name_of(entry, "name")).collect()
        };
        let target_names = names(&sections.targets);
        let mut targets = Vec::new();
        let mut broken_targets = Vec::new();
        for (i, entry) in sections.targets.into_iter().enumerate() {
            match read_target(i, entry, &mut errors)
                .and_then(|section| validate_target(i, section, &mut errors))
            {
                Some(target) => targets.push(target),
                None => broken_targets.extend(target_names[i].clone()),
            }
        }
        unique("targets", &target_names, &mut errors);

        let feed_names = names(&sections.feeds);
        let mut feeds = Vec::new();
        for (i, entry) in sections.feeds.into_iter().enumerate() {
            let path = format!("feeds[{i}]");
            if let Some(feed) = read::entry(&path, entry, &mut errors)
                .and_then(|raw| feeds::validate(i, raw, &mut errors))
            {
                feeds.push(feed);
            }
        }
        unique("feeds", &feed_names, &mut errors);

        let collection_names = names(&sections.collections);
        let collections: Vec<Collection> = sections
            .collections
            .into_iter()
            .enumerate()
            .filter_map(|(i, entry)| read::entry(&format!("collections[{i}]"), entry, &mut errors))
            .collect();
        unique("collections", &collection_names, &mut errors);

        // Every named feed counts for `after`, also one with errors of its own.
        let followed: Vec<&str> = feed_names.iter().flatten().map(String::as_str).collect();
        let names_broken_target = |entry: &toml::Value| {
            name_of(entry, "target").is_some_and(|target| broken_targets.contains(&target))
        };
        let workflow_names = names(&sections.workflows);
        let mut workflows = Vec::new();
        for (i, entry) in sections.workflows.into_iter().enumerate() {
            if names_broken_target(&entry) {
                continue;
            }
            if let Some(workflow) = read::entry(&format!("workflows[{i}]"), entry, &mut errors)
                .and_then(|raw| validate_workflow(i, raw, &targets, &followed, &mut errors))
            {
                workflows.push((i, workflow));
            }
        }
        unique("workflows", &workflow_names, &mut errors);
        one_workflow_per_ip_list(&workflows, &mut errors);

        let trigger_names = names(&sections.triggers);
        let mut triggers = Vec::new();
        for (i, entry) in sections.triggers.into_iter().enumerate() {
            if names_broken_target(&entry) {
                continue;
            }
            if let Some(trigger) = read::entry(&format!("triggers[{i}]"), entry, &mut errors)
                .and_then(|raw| validate_trigger(i, raw, &targets, &mut errors))
            {
                triggers.push(trigger);
            }
        }
        unique("triggers", &trigger_names, &mut errors);

        let serve = validate_serve(sections.serve)
            .map_err(|error| errors.push(error))
            .unwrap_or_default();
        let taxii = taxii::validate_taxii(sections.taxii, &mut errors);
        match library {
            Some(library) if errors.is_empty() => Ok(Config {
                library,
                targets,
                collections,
                guard: sections.guard,
                workflows: workflows
                    .into_iter()
                    .map(|(_, workflow)| workflow)
                    .collect(),
                triggers,
                feeds,
                serve,
                taxii,
            }),
            _ => Err(ConfigErrors::new(errors)),
        }
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

/// The string at `key` of a list entry (its `name`, the `target` it names), if it has one.
fn name_of(entry: &toml::Value, key: &str) -> Option<String> {
    entry
        .get(key)
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
}

/// A name used twice in one section is an error at its second use.
fn unique(section: &str, names: &[Option<String>], errors: &mut Vec<ConfigError>) {
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(name) = name
            && !seen.insert(name)
        {
            errors.push(invalid(
                format!("{section}[{i}].name"),
                format!("`{name}` is used twice"),
            ));
        }
    }
}

/// A TOML syntax error, with its line and column: `line 3, column 1: unclosed table`.
fn syntax(error: &toml::de::Error, text: &str) -> String {
    let at = error.span().map(|span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("line {line}, column {column}: ")
    });
    format!("{}{}", at.unwrap_or_default(), error.message().trim())
}

#[cfg(test)]
mod tests;
