//! Deep Security / Workload Security IP lists: mapping, part packing, apply.

pub mod adopt;
pub mod apply;
pub mod check;
pub mod mapping;
pub mod packing;
