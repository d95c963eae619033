//! The targets: one folder per product, each with what only that product does — how an
//! indicator maps onto it, how a plan is applied to it, how a one-off value is sent, what is
//! read back. Everything else (claims, plans, the brake, runs) is shared and reaches a target
//! through the exhaustive matches on [`Connection`] (a workflow's target with its parameters)
//! and [`Sender`] (a target acting on single values), so a new target is a new folder, a new
//! variant of each, and the compiler names every place that must learn of it.

pub mod deep_security;
pub mod http_template;
pub mod objects;
pub mod vision_one;
pub mod xdr_v2;
