//! `iocsync config check`: validates the config file without any network access and names the
//! key path of every problem.
//!
//! Two layers: [`structure`] finds every error the engine's own validation reports (unknown
//! keys, bad values, wrong products ...), each with its key path; then, on a structurally valid
//! file, checks that need the local machine but no network: the secrets the file names exist
//! (their contents are never printed), webhook payload templates are JSON, every workflow's
//! collection is defined in the file or in the library, the library's folder exists, and the guard builds (its allowlists parse and
//! its warninglists load).

mod structure;

use crate::cli::out::{self, outln};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use config::{Config, ConfigError};
use guard::{Guard, GuardError};
use secrecy::ExposeSecret;
use serde::Serialize;
use store::Library;
use trendmicro::http_template::Template;

use super::{EXIT_FAILURE, GlobalArgs};

const AFTER_HELP: &str = "\
Checks, without network access:
  - the file's syntax and every key and value (unknown keys, bad values, wrong products),
    each problem named by its key path, e.g. `workflows[2].parameters.expiry`
  - the environment variables and files the secrets name (API keys, proxy passwords, trigger
    secrets, the status token) exist and are not empty (their contents are never printed);
    webhook payload templates are JSON
  - targets are reached safely: no secret reference or password in a URL, plain http:// only
    to loopback unless `allow_plain_http = true`
  - every workflow's collection is defined in the file or in the library
  - the library's folder exists; the guard's allowlists parse and its warninglists load

Exit status: 0 valid; 1 invalid (every problem is listed) or the file cannot be read.";

/// Subcommands of `iocsync config`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Validate the config file without network access, naming the key path of every error.
    #[command(after_help = AFTER_HELP)]
    Check(CheckArgs),
}

/// Arguments of `iocsync config check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Print the result as JSON: `{"file", "valid", "problems": [{"key", "message"}], ...}`.
    #[arg(long)]
    pub json: bool,
}

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

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// The outcome of a check, as printed and as `--json`.
#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    valid: bool,
    problems: Vec<Problem>,
    /// Entries per section, when the file is structurally valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    sections: Option<Sections>,
}

#[derive(Debug, Serialize)]
struct Sections {
    targets: usize,
    collections: usize,
    workflows: usize,
    triggers: usize,
}

/// Runs `iocsync config ...`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let Args::Check(check_args) = args;
    let path = global.config_path();
    let report = check(&path);
    if check_args.json {
        out::json(&report)?;
    } else {
        print(&report, global.quiet);
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

fn print(report: &Report, quiet: bool) {
    let file = report.file.display();
    match &report.sections {
        Some(s) if report.valid => {
            if !quiet {
                let counts = [
                    (s.targets, "target"),
                    (s.collections, "collection"),
                    (s.workflows, "workflow"),
                    (s.triggers, "trigger"),
                ]
                .map(|(n, noun)| format!("{n} {noun}{}", if n == 1 { "" } else { "s" }));
                outln!("{file}: valid ({})", counts.join(", "));
            }
        }
        _ => {
            let count = report.problems.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            outln!("{file}: {count} {noun}");
            for problem in &report.problems {
                outln!("  {problem}");
            }
            if report.sections.is_none() {
                outln!(
                    "(secrets, collections, the library and the guard are checked once these are fixed)"
                );
            }
        }
    }
}

/// Checks the file at `path`.
fn check(path: &Path) -> Report {
    let (problems, config) = match load(path) {
        Ok(config) => (offline_problems(&config), Some(config)),
        Err(problems) => (problems, None),
    };
    Report {
        file: path.to_owned(),
        valid: problems.is_empty(),
        sections: config.map(|c| Sections {
            targets: c.targets.len(),
            collections: c.collections.len(),
            workflows: c.workflows.len(),
            triggers: c.triggers.len(),
        }),
        problems,
    }
}

/// The validated config, or every structural problem.
fn load(path: &Path) -> Result<Config, Vec<Problem>> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        vec![Problem::new(
            "",
            format!("cannot read {}: {error}", path.display()),
        )]
    })?;
    let doc: toml::Table = toml::from_str(&text).map_err(|error| vec![syntax(&error, &text)])?;
    let problems = structure::problems(&doc);
    if !problems.is_empty() {
        return Err(problems);
    }
    // What only the whole file shows (a name used twice) is still the engine's to say.
    Config::load(path).map_err(|error| {
        let (key, message) = structure::locate(&error, &text);
        vec![Problem::new(key, message)]
    })
}

/// A TOML syntax error, with its line and column.
fn syntax(error: &toml::de::Error, text: &str) -> Problem {
    let at = error.span().map(|span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("line {line}, column {column}: ")
    });
    Problem::new("", format!("{}{}", at.unwrap_or_default(), error.message()))
}

/// The checks that need the machine (environment, files, the library) but no network.
fn offline_problems(config: &Config) -> Vec<Problem> {
    let mut problems = target_problems(config);
    for (i, collection) in config.collections.iter().enumerate() {
        if let Err(error) = collection.validate() {
            let key = format!("collections[{i}].{}", error.field);
            problems.push(Problem::new(key, error.reason));
        }
    }
    problems.extend(collection_problems(config));
    if let Some(folder) = config.library.parent()
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
/// must resolve to something non-empty; a webhook's payload template must be JSON.
fn target_problems(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, target) in config.targets.iter().enumerate() {
        if let Err(error) = target.resolve_proxy_password() {
            problems.push(Problem::new(
                format!("targets[{i}].proxy_password"),
                reason_of(error),
            ));
        }
        if target.product == config::Product::Http {
            let Ok(webhook) = target.http_template() else {
                continue;
            };
            for (name, value) in &webhook.headers {
                let resolved = trendmicro::secret::expand(value).map_err(|e| e.to_string());
                if let Err(reason) = resolved {
                    problems.push(Problem::new(format!("targets[{i}].headers.{name}"), reason));
                }
            }
            let templates = [
                ("payload", Some(&webhook.payload)),
                ("remove_payload", webhook.remove_payload.as_ref()),
            ];
            for (key, template) in templates {
                if let Some(Err(error)) = template.map(|t| Template::parse(t)) {
                    problems.push(Problem::new(
                        format!("targets[{i}].{key}"),
                        error.to_string(),
                    ));
                }
            }
            continue;
        }
        let key = format!("targets[{i}].api_key");
        match target.resolve_key() {
            Ok(secret) if secret.expose_secret().is_empty() => {
                problems.push(Problem::new(key, "the secret it names is empty"));
            }
            Ok(_) => {}
            Err(error) => problems.push(Problem::new(key, reason_of(error))),
        }
    }
    let trigger_secrets = config.triggers.iter().map(|t| t.resolve_secret().map(drop));
    let status_token = std::iter::once(config.serve.resolve_token().map(drop));
    for error in trigger_secrets.chain(status_token).filter_map(Result::err) {
        let (key, message) = match error {
            ConfigError::Invalid { key, reason } => (key, reason),
            other => (String::new(), other.to_string()),
        };
        problems.push(Problem::new(key, message));
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
        if !config.library.exists() {
            problems.push(Problem::new(
                key,
                format!(
                    "no collection `{}` in the config file (and no library at {} to look in)",
                    workflow.collection,
                    config.library.display()
                ),
            ));
            continue;
        }
        let opened = library.get_or_insert_with(|| {
            Library::open(&config.library).map_err(|error| error.to_string())
        });
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
                format!(
                    "cannot look in the library {}: {error}",
                    config.library.display()
                ),
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
