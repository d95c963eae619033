//! [`ConfigError`]: why a config file cannot be used, each message naming the file or the key
//! path (`workflows[2].parameters.expiry: ...`).

use std::path::PathBuf;

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

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}
