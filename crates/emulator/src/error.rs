//! Errors of starting, configuring and persisting the emulator (HTTP error bodies live with
//! each API's module).

use std::path::PathBuf;

/// What can go wrong outside a request.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    ParseConfig { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("cannot read state file {path}: {source}")]
    ReadState {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not a valid emulator state: {source}")]
    ParseState {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write state file {path}: {source}")]
    WriteState {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}
