//! Why a guard could not be built: each error names the setting and entry, or the file, at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// A list entry in the settings is not what its list holds.
    #[error("{key}[{index}] `{value}`: {reason}")]
    BadEntry {
        key: &'static str,
        index: usize,
        value: String,
        reason: String,
    },
    /// A setting is out of range.
    #[error("{key}: {reason}")]
    BadSetting { key: &'static str, reason: String },
    #[error("cannot read warninglist {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a MISP warninglist (needs `name`, `type` and `list`)", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("warninglist {} has an empty `name`", .0.display())]
    Unnamed(PathBuf),
    #[error("no warninglist (*.json) found under {}", .0.display())]
    EmptyDirectory(PathBuf),
    #[error("warninglist {} has substring entries that cannot be searched", path.display())]
    Substrings {
        path: PathBuf,
        #[source]
        source: aho_corasick::BuildError,
    },
}
