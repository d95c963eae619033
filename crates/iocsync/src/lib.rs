//! The `iocsync` command line and daemon as a library: `main.rs` is the binary's entry point
//! over [`cli`], and the benches use the daemon's parts (the trigger router,
//! [`serve::triggers`]) from here rather than including their source files.
// A library for this binary and its benches only: its module notes link the private parts
// they describe, which is what a reader of this crate's source wants.
#![allow(rustdoc::private_intra_doc_links)]

pub mod cli;
pub mod serve;
