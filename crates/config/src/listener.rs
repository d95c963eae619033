//! `[serve]` bounds on what one HTTP client can hold of the daemon: how long it may take to
//! send a request's headers and its body, and how many connections may be open at once. A
//! client that sends half a request line and then nothing, or a thousand idle connections,
//! would otherwise keep sockets (and file descriptors the scheduler needs) forever.

use std::time::Duration;

use crate::error::{ConfigError, count_up_to};
use crate::schedule::positive_duration;

/// Default time a client has to send a request line and headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a request body, once its headers are in.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default most connections open at once: half the usual soft limit of 1,024 descriptors a
/// process may hold (`ulimit -n`, systemd's default), so the library, the targets' connections
/// and the logs always keep the other half. Raise both together.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The most `max_connections` may be (far more than any open-file limit allows).
pub(crate) const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// The listener's bounds, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// How long a client may take to send a request line and its headers. The same clock
    /// closes a keep-alive connection that stays idle this long between requests.
    pub header_timeout: Duration,
    /// How long a client may take to send a request body, counted from its headers.
    pub body_timeout: Duration,
    /// Most connections open at once; further clients wait in the kernel's queue of pending
    /// connections until one closes.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The limits from the `[serve]` keys as written (unset keys take their defaults).
pub(crate) fn limits(
    header_timeout: Option<&str>,
    body_timeout: Option<&str>,
    max_connections: Option<usize>,
) -> Result<ListenerLimits, ConfigError> {
    let defaults = ListenerLimits::default();
    let duration = |key: &str, text: Option<&str>, default: Duration| {
        text.map_or(Ok(default), |text| positive_duration(key, text))
    };
    let max_connections = count_up_to(
        "serve.max_connections",
        max_connections,
        MAX_CONNECTIONS_LIMIT,
        defaults.max_connections,
    )?;
    Ok(ListenerLimits {
        header_timeout: duration(
            "serve.header_timeout",
            header_timeout,
            defaults.header_timeout,
        )?,
        body_timeout: duration("serve.body_timeout", body_timeout, defaults.body_timeout)?,
        max_connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn serve(keys: &str) -> Result<ListenerLimits, ConfigError> {
        Config::from_toml(&format!("[library]\npath = \"l.db\"\n[serve]\n{keys}\n"))
            .map(|config| config.serve.limits)
    }

    #[test]
    fn limits_default_and_read_from_serve() {
        assert_eq!(serve("").unwrap(), ListenerLimits::default());
        assert_eq!(
            ListenerLimits::default(),
            ListenerLimits {
                header_timeout: Duration::from_secs(10),
                body_timeout: Duration::from_secs(30),
                max_connections: 512,
            }
        );
        let set =
            serve("header_timeout = \"2s\"\nbody_timeout = \"1m\"\nmax_connections = 64").unwrap();
        assert_eq!(set.header_timeout, Duration::from_secs(2));
        assert_eq!(set.body_timeout, Duration::from_secs(60));
        assert_eq!(set.max_connections, 64);
    }

    #[test]
    fn bad_limits_name_their_key() {
        for (keys, key) in [
            ("max_connections = 0", "serve.max_connections:"),
            (
                "max_connections = 4611686018427387904",
                "serve.max_connections:",
            ),
            ("header_timeout = \"0s\"", "serve.header_timeout:"),
            ("body_timeout = \"soon\"", "serve.body_timeout:"),
        ] {
            let error = serve(keys).unwrap_err().to_string();
            assert!(error.starts_with(key), "{error}");
        }
        assert!(serve("max_connections = -1").is_err());
    }
}
