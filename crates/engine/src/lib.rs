//! The sync engine: for each workflow of a config file (the `config` crate), guard → mapping →
//! plan → apply against the ledger, with every run recorded.
//!
//! - [`targets`]: one folder per product with what only it does (mapping, Deep Security part
//!   packing, apply, read-back, one-off sends, checks), reached through the exhaustive matches
//!   on [`targets::Connection`] and [`targets::Sender`]; [`mapping`] holds what every target's
//!   mapping shares (value keys, scheme, risk, expiry).
//! - [`plan`]: desired state vs ledger → a [`Plan`] value (adds, updates, removals, skips), with
//!   caps, the list's capacity budget, objects-per-run and the removal brake; `plan::model` is
//!   the value, `plan` computes it.
//! - [`recorder`]: the one run lifecycle (start, finish, one status rule) every kind of run uses.
//! - [`run`]: one run end to end ([`run_workflow`]) or a plan alone ([`plan_workflow`]).
//! - [`unchanged`]: a run whose inputs are as its last complete run left them is recorded as
//!   unchanged without reading the collection (library and ledger change counters, a digest).
//! - [`lease`]: the per-workflow lease a writing run holds, renewed while it runs.
//! - [`report`]: run reports and the progress callback.
//! - [`claims`]: why a value is on a target — one claim per claimant (workflow, `block`,
//!   trigger) — and what the strongest claim makes of the object; [`budget`] counts them
//!   against the list's capacity; [`space`] serialises decisions on one list; [`marker`] tells
//!   this library's objects from other iocsyncs' and foreign ones; [`keys`] names it all.
//! - [`adopt`]: rebuilds a lost ledger from the target.
//! - [`oneoff`]: `block`/`unblock` of values typed by a person, as claims of their own.
//! - [`schedule`]: when scheduled workflows are due (interval or cron, UTC) for the daemon.
//! - [`taxii`]: what the TAXII 2.1 server publishes of a collection (STIX indicators with
//!   stable ids, changes, revocations), brought up to date before each poll.
//! - [`trigger`]: triggers (inbound webhooks): an authenticated SIEM alert → values → guarded one-off
//!   actions, with TTL blocks lifted later.
//!
//! Stores are synchronous and clients async: the engine calls the store between requests
//! (a run is one sequential task, so nothing waits on it).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod adopt;
pub mod budget;
pub mod claims;
pub mod error;
pub mod keys;
pub mod lease;
pub mod mapping;
pub mod marker;
pub mod members;
pub mod occurrence;
pub mod oneoff;
pub mod plan;
pub mod recorder;
pub mod report;
pub mod run;
pub mod schedule;
pub mod space;
pub mod targets;
pub mod taxii;
pub mod trigger;
pub mod unchanged;
pub mod verify_pass;
pub mod why;

pub use error::EngineError;
pub use lease::LEASE_TTL;
pub use plan::Plan;
pub use report::{NoProgress, Progress, RunReport, STOPPED};
pub use run::{RunOptions, plan_workflow, run_workflow};
