//! Credentials: full keys valid for every API, read-only keys refused on writes, compared in
//! constant time. Each API family has an extractor that authenticates the caller and counts
//! the request against that caller's rate window, answering in the family's error format.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::Emulator;
use crate::deep_security::error::DsError;
use crate::rate_limit::Api;
use crate::vision_one::error::V1Error;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    ReadOnly,
}

/// An authenticated caller: its access and a stable identity for rate limiting (the key's
/// position in the configuration, never the key itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub access: Access,
    pub id: usize,
}

/// The configured keys.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    full: Vec<SecretString>,
    read_only: Vec<SecretString>,
}

impl Keys {
    pub fn new(full: Vec<SecretString>, read_only: Vec<SecretString>) -> Self {
        Self { full, read_only }
    }

    /// The caller presenting `presented`, if it is a known key.
    pub fn check(&self, presented: &str) -> Option<Caller> {
        let matches = |key: &SecretString| {
            bool::from(key.expose_secret().as_bytes().ct_eq(presented.as_bytes()))
        };
        if let Some(id) = self.full.iter().position(matches) {
            return Some(Caller {
                access: Access::Full,
                id,
            });
        }
        self.read_only.iter().position(matches).map(|i| Caller {
            access: Access::ReadOnly,
            id: self.full.len() + i,
        })
    }
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The key of `api-secret-key: <key>` or `Authorization: ApiKey <key>`.
pub fn deep_security_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("api-secret-key") {
        return value.to_str().ok().map(str::trim);
    }
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("apikey").then(|| key.trim())
}

/// A Vision One (v3) caller, authenticated and within its rate limit.
#[derive(Debug, Clone, Copy)]
pub struct V1Caller(pub Caller);

/// An XDR v2 caller, authenticated and within its rate limit.
#[derive(Debug, Clone, Copy)]
pub struct XdrCaller(pub Caller);

/// A Deep Security caller: authenticated, `api-version: v1`, within its rate limit.
#[derive(Debug, Clone, Copy)]
pub struct DsCaller(pub Caller);

fn bearer_caller(parts: &Parts, emulator: &Emulator, api: Api) -> Result<Caller, V1Error> {
    let caller = bearer_token(&parts.headers)
        .and_then(|token| emulator.keys().check(token))
        .ok_or(V1Error::InvalidToken)?;
    emulator
        .rate_check(api, caller)
        .map_err(|(retry_after, limit)| V1Error::TooManyRequests { retry_after, limit })?;
    Ok(caller)
}

impl FromRequestParts<Emulator> for V1Caller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &Emulator) -> Result<Self, V1Error> {
        bearer_caller(parts, state, Api::VisionOne).map(V1Caller)
    }
}

impl FromRequestParts<Emulator> for XdrCaller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &Emulator) -> Result<Self, V1Error> {
        bearer_caller(parts, state, Api::Xdr).map(XdrCaller)
    }
}

impl FromRequestParts<Emulator> for DsCaller {
    type Rejection = DsError;

    async fn from_request_parts(parts: &mut Parts, state: &Emulator) -> Result<Self, DsError> {
        let caller = deep_security_key(&parts.headers)
            .and_then(|key| state.keys().check(key))
            .ok_or(DsError::Unauthorized)?;
        let version = parts
            .headers
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        match version {
            Some("v1") => {}
            Some(other) => {
                return Err(DsError::BadRequest(format!(
                    "Unsupported API version '{other}'. Supported versions: v1."
                )));
            }
            None => {
                return Err(DsError::BadRequest(
                    "The api-version header is required. Supported versions: v1.".to_owned(),
                ));
            }
        }
        state
            .rate_check(Api::DeepSecurity, caller)
            .map_err(|_| DsError::TooManyRequests)?;
        Ok(DsCaller(caller))
    }
}

impl Caller {
    /// Refuses read-only keys with the given error.
    pub fn require_write<E>(self, denied: E) -> Result<(), E> {
        match self.access {
            Access::Full => Ok(()),
            Access::ReadOnly => Err(denied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_are_told_apart() {
        let keys = Keys::new(
            vec![SecretString::from("full-1"), SecretString::from("full-2")],
            vec![SecretString::from("ro")],
        );
        assert_eq!(
            keys.check("full-2"),
            Some(Caller {
                access: Access::Full,
                id: 1
            })
        );
        assert_eq!(
            keys.check("ro"),
            Some(Caller {
                access: Access::ReadOnly,
                id: 2
            })
        );
        assert_eq!(keys.check("full"), None);
        assert_eq!(keys.check(""), None);
    }

    #[test]
    fn header_forms() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        assert_eq!(deep_security_key(&headers), None);
        headers.insert("authorization", HeaderValue::from_static("ApiKey k1"));
        assert_eq!(deep_security_key(&headers), Some("k1"));
        headers.insert("api-secret-key", HeaderValue::from_static("k2"));
        assert_eq!(deep_security_key(&headers), Some("k2"));
    }
}
