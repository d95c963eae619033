//! The sync engine: the config file model and, for each workflow, guard → mapping → plan →
//! apply against the ledger, with every run recorded.
//!
//! - [`config`]: the TOML config file (targets, collections, guard, workflows), validated with
//!   key paths in every error; secrets stay references until a client is built.
//! - [`mapping`]: what an indicator becomes on a target (value key, scheme, risk, expiry).
//! - [`plan`]: desired state vs ledger → a [`Plan`] value (adds, updates, removals, skips), with
//!   caps and objects-per-run; [`packing`] does the Deep Security IP-list parts.
//! - [`apply`]: batches in priority order, ledger updated per confirmed batch.
//! - [`run`]: one run end to end ([`run_workflow`]) or a plan alone ([`plan_workflow`]).
//! - [`lease`]: the per-workflow lease a writing run holds, renewed while it runs.
//! - [`report`]: run reports and the progress hook.
//! - [`oneoff`]: `block`/`unblock` of values typed by a person, in their own ledger.
//! - [`schedule`]: when scheduled workflows are due (interval or cron, UTC) for the daemon.
//! - [`trigger`]: webhook triggers: an authenticated SIEM alert → values → guarded one-off
//!   actions, with TTL blocks lifted later.
//!
//! Stores are synchronous and clients async: the engine calls the store between requests
//! (a run is one sequential task, so nothing waits on it).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod apply;
pub mod config;
pub mod error;
pub mod lease;
pub mod mapping;
pub mod oneoff;
pub mod packing;
pub mod plan;
pub mod report;
pub mod run;
pub mod schedule;
pub mod trigger;

pub use config::{Config, ConfigError};
pub use error::EngineError;
pub use lease::LEASE_TTL;
pub use plan::Plan;
pub use report::{NoProgress, Progress, RunReport, STOPPED};
pub use run::{RunOptions, plan_workflow, run_workflow};
