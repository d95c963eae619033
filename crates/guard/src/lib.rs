//! Guards: the rules that keep values out of every export, whatever a feed says.
//!
//! Built in: special-purpose addresses (`indicator::scope`, so `0.0.0.0/1` and `::/0` are
//! refused), networks broader than a configurable prefix, and public suffixes. Configured:
//! allowlisted networks (by containment), domains (with subdomains, and the URLs and e-mail
//! addresses on them), URLs and hashes, and MISP warninglists (`string`, `substring`,
//! `hostname`, `cidr`; `regex` lists are noted, not applied).
//!
//! Pure logic plus reading warninglist files; no database. A [`Guard`] is built once from a
//! [`GuardConfig`] and answers [`Guard::check`] with a [`Verdict`] in well under a microsecond:
//! address rules are a binary search over nested blocks, domain rules one hash lookup per
//! label, exact rules one hash lookup, substring rules an Aho-Corasick scan. The store records
//! every value stopped (`store::GuardDrop`); the order of the rules is in [`guard`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod error;
pub mod guard;
mod host;
mod nets;
mod rules;
mod warninglist;

pub use config::{DEFAULT_MAX_PREFIX_V4, DEFAULT_MAX_PREFIX_V6, GuardConfig, ListKind};
pub use error::GuardError;
pub use guard::{Guard, Verdict};
