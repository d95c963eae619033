//! XDR v2 blocks: mapping, apply (one value per task), one-offs.

pub mod apply;
pub mod check;
pub mod mapping;
pub mod oneoff;
