//! Apex Central user-defined suspicious objects: mapping, apply (one value per call), read
//! back (whole list for `--verify`, the values about to be added otherwise).

pub mod apply;
pub mod check;
pub mod mapping;
pub mod readback;
