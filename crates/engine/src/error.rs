//! The engine's one error type: what stops a workflow before or while it runs (item failures
//! are not errors: they are counted in the run report).

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("library: {0}")]
    Store(#[from] store::Error),
    #[error("guard: {0}")]
    Guard(#[from] guard::GuardError),
    #[error(transparent)]
    Target(#[from] trendmicro::Error),
    #[error("no collection named `{0}` in the config file or the library")]
    UnknownCollection(String),
    #[error("target `{target}` is {product:?}: {what} needs another product")]
    WrongProduct {
        target: String,
        product: crate::config::Product,
        what: String,
    },
    #[error("no trigger named `{0}` in the config file")]
    UnknownTrigger(String),
    /// Another process holds the workflow's lease: nothing was run or recorded.
    #[error(
        "workflow `{}` is already running: {} has held it since {} (lease until {})",
        .0.name.strip_prefix(crate::lease::LEASE_PREFIX).unwrap_or(&.0.name),
        .0.holder,
        .0.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        .0.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    Busy(Box<store::Lease>),
}
