//! `[serve]`: the daemon's HTTP listener — its token (a reference) and the bounds of
//! [`crate::listener`].

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ConfigError, count_up_to, invalid};
use crate::listener::{self, ListenerLimits};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};

/// `[serve]`: settings of the daemon's HTTP listener.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServe {
    /// The token the status page, `/api/` and `/metrics` require (without one they are open
    /// to whoever can reach the listener).
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    token: Option<String>,
    /// How long a client may take to send a request line and its headers (also how long an
    /// idle keep-alive connection stays open).
    #[schemars(with = "Option<crate::schema::Duration>", extend("default" = "10s"))]
    header_timeout: Option<String>,
    /// How long a client may take to send a request body, counted from its headers.
    #[schemars(with = "Option<crate::schema::Duration>", extend("default" = "30s"))]
    body_timeout: Option<String>,
    /// Most connections open at once; further clients wait until one closes.
    #[schemars(
        range(min = 1, max = crate::listener::MAX_CONNECTIONS_LIMIT),
        extend("default" = crate::listener::DEFAULT_MAX_CONNECTIONS)
    )]
    max_connections: Option<usize>,
    /// Most workflow runs in flight at once; a run that falls due while they are taken waits
    /// for one to finish. Each full run holds its plan in memory, so this bounds the daemon's
    /// peak memory when many workflows fall due together (at its start, say). Read when the
    /// daemon starts: a reload does not change it.
    #[schemars(
        range(min = 1, max = MAX_CONCURRENT_RUNS_LIMIT),
        extend("default" = DEFAULT_MAX_CONCURRENT_RUNS)
    )]
    max_concurrent_runs: Option<usize>,
}

/// Workflow runs in flight at once unless `serve.max_concurrent_runs` says otherwise.
pub const DEFAULT_MAX_CONCURRENT_RUNS: usize = 4;
/// The highest `serve.max_concurrent_runs` accepted.
pub const MAX_CONCURRENT_RUNS_LIMIT: usize = 64;

/// The daemon's settings, validated. Holds the token's *reference*, never the token.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    token_ref: Option<String>,
    /// What one client may hold of the listener (see [`ListenerLimits`]).
    pub limits: ListenerLimits,
    /// Most workflow runs in flight at once (`serve.max_concurrent_runs`).
    pub max_concurrent_runs: usize,
}

impl Default for ServeSettings {
    fn default() -> ServeSettings {
        ServeSettings {
            token_ref: None,
            limits: ListenerLimits::default(),
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
        }
    }
}

impl ServeSettings {
    /// The token the status page, `/api/` and `/metrics` require (`None`: open to whoever can
    /// reach the listener), read from the environment variable or file the config names.
    pub fn resolve_token(&self) -> Result<Option<SecretString>, ConfigError> {
        self.token_ref
            .as_deref()
            .map(|reference| non_empty_secret("serve.token".to_owned(), reference))
            .transpose()
    }
}

pub(crate) fn validate_serve(raw: RawServe) -> Result<ServeSettings, ConfigError> {
    let limits = listener::limits(
        raw.header_timeout.as_deref(),
        raw.body_timeout.as_deref(),
        raw.max_connections,
    )?;
    let max_concurrent_runs = count_up_to(
        "serve.max_concurrent_runs",
        raw.max_concurrent_runs,
        MAX_CONCURRENT_RUNS_LIMIT,
        DEFAULT_MAX_CONCURRENT_RUNS,
    )?;
    match raw.token {
        Some(token) if !is_reference(&token) => Err(invalid("serve.token", INLINE_SECRET)),
        token_ref => Ok(ServeSettings {
            token_ref,
            limits,
            max_concurrent_runs,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn runs(keys: &str) -> Result<usize, ConfigError> {
        Config::from_toml(&format!("[library]\npath = \"l.db\"\n[serve]\n{keys}\n"))
            .map(|config| config.serve.max_concurrent_runs)
    }

    #[test]
    fn concurrent_runs_default_to_four_and_name_their_key_when_wrong() {
        assert_eq!(runs("").unwrap(), 4);
        assert_eq!(runs("max_concurrent_runs = 1").unwrap(), 1);
        for keys in ["max_concurrent_runs = 0", "max_concurrent_runs = 65"] {
            let error = runs(keys).unwrap_err().to_string();
            assert!(
                error.starts_with("serve.max_concurrent_runs: expected an integer from 1 to 64"),
                "{error}"
            );
        }
        assert!(runs("max_concurrent_runs = -1").is_err());
    }
}
