//! The one error type of the crate. Every variant names the product and, where it helps, the
//! endpoint; none ever carries a credential (keys travel only in headers, which no error quotes,
//! and transport errors are stripped of their URL before they are kept).

/// A region name a product does not have (`region = "..."` in a target); lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region `{name}`; known regions: {known}")]
pub struct UnknownRegion {
    pub name: String,
    pub known: String,
}

impl UnknownRegion {
    /// The region of `all` whose name (as `Display` writes it) is `name`.
    pub fn lookup<R: Copy + std::fmt::Display>(all: &[R], name: &str) -> Result<R, Self> {
        all.iter()
            .copied()
            .find(|region| region.to_string() == name)
            .ok_or_else(|| UnknownRegion {
                name: name.to_owned(),
                known: all
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Why a call to a Trend Micro product (or an `http` target) did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is unusable; `key` names it as the config file spells it.
    #[error("invalid configuration `{key}`: {reason}")]
    Config { key: String, reason: String },

    /// An argument passed to an operation is unusable (too long a filter, an empty list name...).
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: String, reason: String },

    /// No HTTP response at all after every attempt: DNS, refused or dropped connection,
    /// TLS failure, or timeout. `reason` is the full chain of causes.
    #[error("{product} is unreachable ({endpoint}) after {attempts} attempt(s): {reason}")]
    Unreachable {
        product: &'static str,
        endpoint: &'static str,
        attempts: u32,
        reason: String,
    },

    /// HTTP 401: the API key is wrong, expired or revoked.
    #[error("{product} rejected the API key (HTTP 401): {message}")]
    Unauthorized {
        product: &'static str,
        message: String,
    },

    /// HTTP 403: the key is valid but its role lacks a permission this endpoint needs.
    #[error("{product}: the API key lacks the permission for {endpoint} (HTTP 403): {message}")]
    Forbidden {
        product: &'static str,
        endpoint: &'static str,
        message: String,
    },

    /// HTTP 404 on a single-object endpoint (for example a Deep Security IP list ID that does
    /// not exist).
    #[error("{product}: not found ({endpoint}): {message}")]
    NotFound {
        product: &'static str,
        endpoint: &'static str,
        message: String,
    },

    /// Vision One refused the whole request because the list is full (error 4000018, "The number
    /// of objects exceeds the maximum limit"). Sending more will not help: the caller stops.
    #[error("{product}: the list is full, nothing more can be added: {message}")]
    CapReached {
        product: &'static str,
        message: String,
    },

    /// Any other 4xx for the whole request, with the product's own message.
    #[error("{product} rejected the request to {endpoint} (HTTP {status}): {message}")]
    Rejected {
        product: &'static str,
        endpoint: &'static str,
        status: u16,
        message: String,
        /// Vision One's numeric error code, when it sent one.
        number: Option<u64>,
    },

    /// Still HTTP 429 after every rate-limit pause the policy allows.
    #[error("{product} is still rate-limiting {endpoint} after {attempts} attempt(s)")]
    RateLimited {
        product: &'static str,
        endpoint: &'static str,
        attempts: u32,
    },

    /// Still a server error (5xx) after every attempt.
    #[error(
        "{product} failed on {endpoint} with HTTP {status} after {attempts} attempt(s): {message}"
    )]
    Server {
        product: &'static str,
        endpoint: &'static str,
        status: u16,
        attempts: u32,
        message: String,
    },

    /// The product answered something this client cannot read (wrong shape, wrong length,
    /// a `nextLink` pointing outside the API...). `excerpt` is the start of the body.
    #[error(
        "unexpected response from {product} ({endpoint}, HTTP {status}): {reason}; body starts: {excerpt}"
    )]
    UnexpectedResponse {
        product: &'static str,
        endpoint: &'static str,
        status: u16,
        reason: String,
        excerpt: String,
    },

    /// A Deep Security IP list would exceed the characters a list can hold.
    #[error("IP list `{name}` would hold {chars} characters; Deep Security takes at most {max}")]
    ListTooLarge {
        name: String,
        chars: usize,
        max: usize,
    },

    /// Several Deep Security IP lists carry the exact name asked for; managing one of them
    /// would be a guess.
    #[error(
        "{count} Deep Security IP lists are named `{name}` (IDs {ids:?}); refusing to guess which one to manage"
    )]
    DuplicateListName {
        name: String,
        count: usize,
        ids: Vec<u32>,
    },

    /// The target cannot take this kind of indicator at all.
    #[error("{product} cannot take a `{kind}` indicator: {reason}")]
    Unsupported {
        product: &'static str,
        kind: String,
        reason: &'static str,
    },

    /// An `http` target answered with a non-2xx status.
    #[error("{url} answered HTTP {status}: {excerpt}")]
    Webhook {
        url: String,
        status: u16,
        excerpt: String,
    },

    /// A payload template is not valid, or could not be filled.
    #[error(transparent)]
    Template(#[from] crate::http_template::TemplateError),

    /// A secret reference (`env:NAME`, `file:PATH`) could not be resolved. `reference` is the
    /// reference as written, never the secret.
    #[error("cannot resolve secret `{reference}`: {reason}")]
    Secret { reference: String, reason: String },
}

impl Error {
    /// True when no further request to this target can succeed in this run: the key is bad or
    /// lacks permission, the list is full, or the target cannot be reached at all. The sync
    /// engine stops the target on these instead of trying every remaining batch.
    pub fn stops_target(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized { .. }
                | Error::Forbidden { .. }
                | Error::CapReached { .. }
                | Error::Unreachable { .. }
        )
    }
}

/// The full chain of causes of an error, joined with `: ` (reqwest's own message alone is
/// often just "error sending request").
pub(crate) fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The first `max` characters of a response body, lossily decoded, for error messages.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_truncates_on_characters_not_bytes() {
        assert_eq!(excerpt("héllo".as_bytes(), 2), "hé…");
        assert_eq!(excerpt(b"ok", 5), "ok");
        assert_eq!(excerpt(&[0xff, b'a'], 5), "\u{fffd}a");
    }

    #[test]
    fn stops_target_only_for_fatal_errors() {
        let fatal = Error::CapReached {
            product: "Vision One",
            message: "full".into(),
        };
        let item = Error::Rejected {
            product: "Vision One",
            endpoint: "x",
            status: 400,
            message: "bad".into(),
            number: None,
        };
        assert!(fatal.stops_target());
        assert!(!item.stops_target());
    }
}
