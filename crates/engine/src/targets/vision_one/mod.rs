//! Vision One suspicious-object and exception lists: mapping, apply, read-back, one-offs.

pub mod apply;
pub mod mapping;
pub mod oneoff;
pub mod readback;
