//! The engine's one error type: what stops a workflow before or while it runs (item failures
//! are not errors: they are counted in the run report).

use config::ConfigError;

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
        product: config::Product,
        what: String,
    },
    #[error("no trigger named `{0}` in the config file")]
    UnknownTrigger(String),
    /// Another process holds the workflow's lease: nothing was run or recorded.
    #[error(
        "workflow `{}` is already running: {} has held it since {} (lease until {})",
        crate::keys::lease_workflow(&.0.name),
        .0.holder,
        .0.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        .0.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    Busy(Box<store::Lease>),
    /// A target with no call that checks it without changing it (an http template).
    #[error(
        "target `{0}` has no side-effect-free call to check (an http target): use `iocsync run --dry-run`"
    )]
    NoCheck(String),
    /// Another process kept a target list busy for minutes: the batch was not sent.
    #[error(
        "{} is busy: {} has held it since {}",
        .0.name,
        .0.holder,
        .0.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    SpaceBusy(Box<store::Lease>),
    /// The space's lease lapsed while a window of tasks ran and another process took it: the
    /// window's unconfirmed values are left to the next run.
    #[error(
        "{} was taken over by {} while this run waited on its tasks",
        .0.name,
        .0.holder
    )]
    SpaceLost(Box<store::Lease>),
    /// A Deep Security list of the configured name exists and iocsync did not create it.
    #[error(
        "the IP list `{name}` (ID {id}) on target `{target}` was not created by this iocsync library ({maker}); it is left untouched. Rename the workflow's list_name, or set adopt_existing = true on the workflow to take it over"
    )]
    ForeignList {
        target: String,
        name: String,
        id: u32,
        maker: String,
    },
}
