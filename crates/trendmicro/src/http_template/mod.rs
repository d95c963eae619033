//! The `http` target: any HTTP API, one request per value, whose JSON payload is a template, as the DNIF
//! webhook in the seeds does for XDR (`{"valueType":"ip","targetValue":"$SrcIP",...}`).
//!
//! - [`config`]: URL, method, headers (secrets by reference), payload template, HTTP policy.
//! - [`request`]: the [`Template`]: parsing, placeholders, rendering with JSON escaping.
//! - [`client`]: [`HttpTemplateClient`], which renders and sends.

pub mod client;
pub mod config;
pub mod request;

pub use client::{HttpTemplateClient, WebhookResponse};
pub use config::HttpTemplateConfig;
pub use request::{Fields, Template, TemplateError};

/// The product name used in errors, logs and metrics.
pub const PRODUCT: &str = "HTTP template";
