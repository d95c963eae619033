//! The daemon behind `iocsync serve`: scheduler, webhook triggers, status page, JSON API and
//! Prometheus metrics on one HTTP listener.

pub mod hooks;
