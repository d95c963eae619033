//! Vision One suspicious-object and exception lists: mapping, apply, read-back, one-offs.

pub mod mapping;
pub mod readback;
