//! `iocsync config check`: every problem of a config file, each at its key path, without any
//! network access.
//!
//! Two layers: [`Config::load_all`] finds every error of the file itself (unknown keys, bad
//! values, wrong products ...); then, on a valid file, checks that need the local machine but
//! no network: the secrets the file names exist (their contents are never shown), `http`
//! payload templates are JSON, every workflow's collection is defined in the file or in the
//! library, the library's folder exists, and the guard builds (its allowlists parse and its
//! warninglists load).

use std::path::Path;

use guard::{Guard, GuardError};
use secrecy::ExposeSecret;
use serde::Serialize;
use store::Library;
use trendmicro::http_template::Template;

use crate::targets::Settings;
use crate::targets::http::HttpTarget;
use crate::targets::reach::resolve_key;
use crate::{Config, ConfigError};

/// One thing wrong with the file, at a key path (empty for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// An error at its key path; other errors (a syntax error, the file) are the file's.
impl From<ConfigError> for Problem {
    fn from(error: ConfigError) -> Self {
        match error {
            ConfigError::Invalid { key, reason } => Problem::new(key, reason),
            ConfigError::Syntax { message, .. } => Problem::new("", message),
            other => Problem::new("", other.to_string()),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// What a check found: the config when the file itself is valid (then `problems` are those of
/// the machine: secrets, collections, folders, the guard), and every problem.
#[derive(Debug)]
pub struct Checked {
    pub config: Option<Config>,
    pub problems: Vec<Problem>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the file at `path`.
pub fn file(path: &Path) -> Checked {
    if let Err(error) = std::fs::read(path) {
        return Checked {
            config: None,
            problems: vec![Problem::new(
                "",
                format!("cannot read {}: {error}", path.display()),
            )],
        };
    }
    match Config::load_all(path) {
        Ok(config) => Checked {
            problems: offline(&config),
            config: Some(config),
        },
        Err(errors) => Checked {
            config: None,
            problems: errors.into_vec().into_iter().map(Problem::from).collect(),
        },
    }
}

/// The checks that need the machine (environment, files, the library) but no network.
pub fn offline(config: &Config) -> Vec<Problem> {
    let mut problems = secret_problems(config);
    for (i, collection) in config.collections.iter().enumerate() {
        if let Err(error) = collection.validate() {
            let key = format!("collections[{i}].{}", error.field);
            problems.push(Problem::new(key, error.reason));
        }
    }
    problems.extend(collection_problems(config));
    if let Some(folder) = config.library.file().and_then(Path::parent)
        && !folder.as_os_str().is_empty()
        && !folder.is_dir()
    {
        problems.push(Problem::new(
            "library.path",
            format!("folder {} does not exist", folder.display()),
        ));
    }
    if let Err(error) = Guard::new(&config.guard) {
        problems.push(guard_problem(&error));
    }
    problems
}

/// Every secret reference (target keys, proxy passwords, trigger secrets, the status token)
/// must resolve to something non-empty; an `http` target's payload template must be JSON.
fn secret_problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        if let Err(error) = target.resolve_proxy_password() {
            problems.push(Problem::new(
                format!("targets[{i}].proxy_password"),
                reason_of(error),
            ));
        }
        if let Settings::Http(http) = &target.settings {
            problems.extend(template_problems(i, http));
        }
        let key = format!("targets[{i}].api_key");
        match target
            .key_ref()
            .map(|key_ref| resolve_key(&target.name, key_ref))
        {
            Some(Ok(secret)) if secret.expose_secret().is_empty() => {
                problems.push(Problem::new(key, "the secret it names is empty"));
            }
            Some(Err(error)) => problems.push(Problem::new(key, reason_of(error))),
            Some(Ok(_)) | None => {}
        }
    }
    let trigger_secrets = config.triggers.iter().map(|t| t.resolve_secret().map(drop));
    let taxii_passwords = config
        .taxii
        .collections
        .iter()
        .enumerate()
        .flat_map(|(i, served)| {
            served.readers.iter().enumerate().map(move |(j, reader)| {
                let key = format!("taxii.collections[{i}].readers[{j}].password");
                reader.resolve_password(key).map(drop)
            })
        });
    let status_token = std::iter::once(config.serve.resolve_token().map(drop));
    let library_password = std::iter::once(config.library.resolve_password().map(drop));
    let secrets = trigger_secrets
        .chain(taxii_passwords)
        .chain(status_token)
        .chain(library_password);
    for error in secrets.filter_map(Result::err) {
        let (key, message) = match error {
            ConfigError::Invalid { key, reason } => (key, reason),
            other => (String::new(), other.to_string()),
        };
        problems.push(Problem::new(key, message));
    }
    problems
}

/// An http target's credential headers must resolve and its templates parse.
fn template_problems(i: usize, http: &HttpTarget) -> Vec<Problem> {
    let mut problems = Vec::new();
    let template = &http.template;
    for (name, value) in &template.headers {
        let resolved = trendmicro::secret::expand(value).map_err(|e| e.to_string());
        if let Err(reason) = resolved {
            problems.push(Problem::new(format!("targets[{i}].headers.{name}"), reason));
        }
    }
    let templates = [
        ("payload", Some(&template.payload)),
        ("remove_payload", template.remove_payload.as_ref()),
    ];
    for (key, template) in templates {
        if let Some(Err(error)) = template.map(|t| Template::parse(t)) {
            problems.push(Problem::new(
                format!("targets[{i}].{key}"),
                error.to_string(),
            ));
        }
    }
    problems
}

/// What is wrong, without the key path the caller names its own way.
fn reason_of(error: ConfigError) -> String {
    match error {
        ConfigError::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A workflow's collection is defined in the file or saved in the library; the library is
/// opened only when it exists and a collection is not in the file (a check creates nothing).
fn collection_problems(config: &Config) -> Vec<Problem> {
    let mut library: Option<Result<Library, String>> = None;
    let mut problems = Vec::new();
    for (i, workflow) in config.workflows.iter().enumerate() {
        if config.collection(&workflow.collection).is_some() {
            continue;
        }
        let key = format!("workflows[{i}].collection");
        if config.library.file().is_some_and(|file| !file.exists()) {
            problems.push(Problem::new(
                key,
                format!(
                    "no collection `{}` in the config file (and no library at {} to look in)",
                    workflow.collection, config.library
                ),
            ));
            continue;
        }
        let opened =
            library.get_or_insert_with(|| config.library.open().map_err(|error| error.to_string()));
        let found = match opened {
            Ok(library) => library
                .collection(&workflow.collection)
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.clone()),
        };
        match found {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(Problem::new(
                key,
                format!(
                    "no collection `{}` in the config file or the library",
                    workflow.collection
                ),
            )),
            Err(error) => problems.push(Problem::new(
                key,
                format!("cannot look in the library {}: {error}", config.library),
            )),
        }
    }
    problems
}

/// A guard that cannot be built, at the `[guard]` key concerned.
fn guard_problem(error: &GuardError) -> Problem {
    match error {
        GuardError::BadEntry {
            key,
            index,
            value,
            reason,
        } => Problem::new(
            format!("guard.{key}[{index}]"),
            format!("`{value}`: {reason}"),
        ),
        GuardError::BadSetting { key, reason } => Problem::new(format!("guard.{key}"), reason),
        other => Problem::new("guard.warninglists", other.to_string()),
    }
}
