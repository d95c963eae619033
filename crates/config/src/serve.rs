//! `[serve]`: the daemon's HTTP listener — its token (a reference) and the bounds of
//! [`crate::listener`].

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ConfigError, invalid};
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
}

/// The daemon's settings, validated. Holds the token's *reference*, never the token.
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    token_ref: Option<String>,
    /// What one client may hold of the listener (see [`ListenerLimits`]).
    pub limits: ListenerLimits,
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
    match raw.token {
        Some(token) if !is_reference(&token) => Err(invalid("serve.token", INLINE_SECRET)),
        token_ref => Ok(ServeSettings { token_ref, limits }),
    }
}
