//! [`ConfigError`]: why a config file cannot be used, each message naming the file or the key
//! path (`workflows[2].parameters.expiry: ...`).

use std::path::{Path, PathBuf};

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
    /// Every error of a file that has more than one, one a line.
    #[error("{0}")]
    Several(ConfigErrors),
}

/// Every error of a config file, in the order of its sections, each naming its key path.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    pub(crate) fn new(errors: Vec<ConfigError>) -> Self {
        ConfigErrors(errors)
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }

    /// The errors of the file at `path` (a syntax error names the file).
    pub(crate) fn in_file(self, path: &Path) -> Self {
        let errors = self.0.into_iter().map(|error| match error {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_owned(),
                message,
            },
            other => other,
        });
        ConfigErrors(errors.collect())
    }
}

/// One error a line.
impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

/// One error as itself, several as [`ConfigError::Several`].
impl From<ConfigErrors> for ConfigError {
    fn from(errors: ConfigErrors) -> Self {
        let mut list = errors.0;
        if list.len() == 1
            && let Some(one) = list.pop()
        {
            return one;
        }
        ConfigError::Several(ConfigErrors(list))
    }
}

/// "there are a, b" (or "there are none"), for errors about a name that is not there.
fn known_names(known: &[String]) -> String {
    if known.is_empty() {
        "there are none".to_owned()
    } else {
        format!("there are: {}", known.join(", "))
    }
}

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A count `key` may set from 1 to `max`; `default` when unset.
pub(crate) fn count_up_to(
    key: &str,
    value: Option<usize>,
    max: usize,
    default: usize,
) -> Result<usize, ConfigError> {
    match value {
        Some(n) if !(1..=max).contains(&n) => {
            Err(invalid(key, format!("expected an integer from 1 to {max}")))
        }
        Some(n) => Ok(n),
        None => Ok(default),
    }
}
