//! Clients for the Trend Micro products iocsync exports to, over one shared HTTP policy.
//!
//! - [`transport`]: the HTTP policy every target shares (timeouts, proxy, TLS, concurrency, rate limit,
//!   retries with backoff, 429 pauses of the whole target) and the call counts the sync engine
//!   reads ([`CallStats`]).
//! - [`vision_one`]: the Suspicious Object List and the Exception List (public API v3.0), with
//!   per-item results from the 207 multi-status answers.
//! - [`deep_security`]: IP lists on Deep Security Manager and Cloud One Workload Security.
//! - [`xdr_v2`]: the legacy XDR v2.0 block / restore-block response actions and their tasks.
//! - [`http_template`]: the `http` target: any HTTP API, one call per value, whose JSON payload
//!   is a template (`$value`, ...).
//! - [`tasks`]: one poller for many asynchronous tasks (v3 response and XDR v2 block tasks).
//! - [`apex_central`]: Apex Central's User-Defined Suspicious Object list, one value per
//!   request, each request signed with its own JWT and checksum.
//!
//! The crate holds no sync logic: it says exactly what happened to each request and each item,
//! and the engine decides what to do about it. Credentials live in [`secrecy::SecretString`]s,
//! are exposed only to build a (sensitive-marked) header, and appear in no `Debug` output, log
//! line or error.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod apex_central;
pub mod deep_security;
pub mod error;
pub mod http_template;
pub mod secret;
pub mod tasks;
pub mod transport;
pub mod vision_one;
pub mod xdr_v2;

pub use error::Error;
pub use transport::{CallCount, CallStats, HttpPolicy, ProxySetting, RetryPolicy};
