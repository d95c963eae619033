//! Who may read the status page, `/api/` and `/metrics`. Without `[serve] token` anyone who can
//! reach the listener (which is why it defaults to loopback); with it, only a caller presenting
//! the token as `Authorization: Bearer <token>` (Prometheus, scripts) or as the password of
//! HTTP Basic authentication, which a browser prompts for. `/healthz` stays open for load
//! balancers and the webhooks have their own authentication.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Shared;

/// The token the status side requires, kept as a digest so comparing takes the same time
/// whatever the length of the guess.
#[derive(Clone)]
pub(crate) struct StatusToken(Arc<[u8; 32]>);

impl StatusToken {
    pub(crate) fn new(token: &SecretString) -> StatusToken {
        StatusToken(Arc::new(
            Sha256::digest(token.expose_secret().as_bytes()).into(),
        ))
    }

    fn admits(&self, given: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(given).into();
        bool::from(self.0.ct_eq(&digest))
    }
}

/// Middleware: passes requests that present the token in force (all of them when there is
/// none), answers 401 to the others.
pub(crate) async fn require_token(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let admitted = match shared.token() {
        None => true,
        Some(token) => presented(request.headers()).is_some_and(|given| token.admits(&given)),
    };
    if admitted {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "error": "this iocsync daemon requires its status token ([serve] token): \
                  send `Authorization: Bearer <token>`, or the token as the Basic password"
    });
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"iocsync\", charset=\"UTF-8\"",
        )],
        Json(body),
    )
        .into_response()
}

/// The credential in `Authorization`: a bearer token, or a Basic password (any user name).
fn presented(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().as_bytes().to_vec());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        return basic(credentials).map(|(_, password)| password);
    }
    None
}

/// The user and password of HTTP Basic credentials (the text after `Basic `).
fn basic(credentials: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// The HTTP Basic user and password in `Authorization`, if that is what it holds.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("basic")
        .then(|| basic(credentials))
        .flatten()
}

/// Whether `given` is `secret`, compared through digests so the time taken does not depend on
/// where they differ or on the length of the guess.
pub(crate) fn same_secret(secret: &SecretString, given: &[u8]) -> bool {
    StatusToken::new(secret).admits(given)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn bearer_and_basic_credentials_are_read() {
        assert_eq!(presented(&with("Bearer abc")).as_deref(), Some(&b"abc"[..]));
        assert_eq!(
            presented(&with("bearer  abc ")).as_deref(),
            Some(&b"abc"[..])
        );
        let basic = format!("Basic {}", STANDARD.encode("anyone:pa:ss"));
        assert_eq!(presented(&with(&basic)).as_deref(), Some(&b"pa:ss"[..]));
        assert_eq!(presented(&with("Basic !!!")), None);
        assert_eq!(presented(&with("Digest abc")), None);
        assert_eq!(presented(&HeaderMap::new()), None);
    }

    #[test]
    fn only_the_exact_token_is_admitted() {
        let token = StatusToken::new(&SecretString::from("s3cret"));
        assert!(token.admits(b"s3cret"));
        for wrong in [&b""[..], b"s3cre", b"s3cret ", b"S3CRET"] {
            assert!(!token.admits(wrong));
        }
    }
}
