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
}
