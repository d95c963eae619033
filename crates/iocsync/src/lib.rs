//! The `iocsync` command line and daemon as a library: `main.rs` is the binary's entry point
//! over [`cli`], and the benches use the daemon's parts (the trigger router,
//! [`serve::triggers`]) from here rather than including their source files.

pub mod cli;
pub mod serve;
