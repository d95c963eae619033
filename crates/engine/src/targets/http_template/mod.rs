//! HTTP template targets: mapping, apply (one call per value), one-offs.

pub mod apply;
pub mod mapping;
pub mod oneoff;
