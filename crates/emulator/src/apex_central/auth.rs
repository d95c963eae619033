//! Apex Central's request authentication (Automation API guide, "Authentication"): every request
//! carries `Authorization: Bearer <JWT>`, the JWT signed with the application's API key
//! (HS256, HS384 or HS512) and holding the claims `appid`, `iat` (Unix seconds; Trend's Python
//! sample sends `time.time()`, a float), `version` (`"V1"` only) and `checksum`: base64 of the
//! SHA-256 of `METHOD|raw url|canonical headers|body`, where the method is upper case, the raw
//! URL is the path and query string in lower case without `?` when there is no query, the
//! canonical headers are the request headers that start with `API` (an empty string when there
//! are none) and the body is the request body as sent ("Checksum Calculation"; the sample's
//! `create_checksum`, reproduced in XSOAR's `TrendMicroApex.py`). The raw URL is taken exactly as
//! received, percent-escapes included (as IIS's `RawUrl`; **\[open\]**: clients that hash an
//! unescaped query, as XSOAR does, only agree with it when the values need no escaping). How
//! several `API…` headers are joined is **\[open\]**: `name:value` lines, names in lower case,
//! sorted; every public client sends none.
//!
//! Apex Central "compares the Issued at (iat) attribute to the time Apex Central received the
//! request" and refuses it with a 401 when it is older than the application's Communication
//! time-out ("Using the Apex Central Automation APIs"). The time-out is chosen per application in
//! the console and has no documented default: here one setting,
//! `apex_central.communication_timeout_seconds`, 900 unless configured (**\[open\]**); an `iat`
//! as far in the future is refused too (**\[open\]**). Each failure has its own `ErrorCode`
//! ([`AuthFailure`]), checked in this order: token present, well formed, hash function, version,
//! application ID, signature, time, checksum (the signature before anything in the token is
//! trusted).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::error::{ApexError, AuthFailure};
use crate::Emulator;
use crate::auth::{Access, Caller, bearer_token};
use crate::body::{TooLarge, read_limited};
use crate::config::ApexApplication;
use crate::rate_limit::Api;

/// An authenticated Apex Central request: who sent it, its body and its query parameters.
#[derive(Debug, Clone)]
pub struct ApexCall {
    pub caller: Caller,
    pub body: Bytes,
    pub query: HashMap<String, String>,
}

impl FromRequest<Emulator> for ApexCall {
    type Rejection = ApexError;

    async fn from_request(request: Request, emulator: &Emulator) -> Result<Self, ApexError> {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let body = read_limited(request, emulator.config().limits.body_bytes)
            .await
            .map_err(|TooLarge| {
                ApexError::MaximumExceeded("the request body is too large".into())
            })?;
        let signed = Signed {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: &body,
        };
        let caller = authenticate(emulator, &signed).map_err(ApexError::Unauthorized)?;
        emulator
            .rate_check(Api::ApexCentral, caller)
            .map_err(|(retry_after, _)| ApexError::TooManyRequests { retry_after })?;
        let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&uri)
            .map_err(|error| ApexError::IncorrectParameter(error.body_text()))?;
        Ok(ApexCall {
            caller,
            body,
            query,
        })
    }
}

/// What the checksum covers.
struct Signed<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

/// The decoded parts of a compact JWT.
struct Token<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// The hash functions Apex Central takes ("Authorization Token Structure", `alg`).
#[derive(Debug, Clone, Copy)]
enum Alg {
    Hs256,
    Hs384,
    Hs512,
}

fn authenticate(emulator: &Emulator, request: &Signed<'_>) -> Result<Caller, AuthFailure> {
    let raw = bearer_token(request.headers)
        .filter(|token| !token.is_empty())
        .ok_or(AuthFailure::TokenNotProvided)?;
    let token = Token::decode(raw)?;
    let alg = token.alg()?;
    if claim_str(&token.claims, "version")? != "V1" {
        return Err(AuthFailure::UnsupportedVersion);
    }
    let app_id = claim_str(&token.claims, "appid")?;
    let settings = &emulator.config().apex_central;
    let (id, app) = settings
        .applications
        .iter()
        .enumerate()
        .find(|(_, app)| app.id == app_id)
        .ok_or(AuthFailure::InvalidApplicationId)?;
    verify_signature(alg, app, &token)?;
    let iat = token
        .claims
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or(AuthFailure::MalformedToken)?;
    let now = emulator.clock().now_ms() as f64 / 1000.0;
    if (now - iat).abs() > settings.communication_timeout_seconds as f64 {
        return Err(AuthFailure::TokenExpired);
    }
    if claim_str(&token.claims, "checksum")? != checksum(request) {
        return Err(AuthFailure::InvalidChecksum);
    }
    let access = if app.read_only {
        Access::ReadOnly
    } else {
        Access::Full
    };
    Ok(Caller { access, id })
}

impl<'a> Token<'a> {
    fn decode(raw: &'a str) -> Result<Self, AuthFailure> {
        let malformed = AuthFailure::MalformedToken;
        let (signing_input, signature) = raw.rsplit_once('.').ok_or(malformed)?;
        let (header, claims) = signing_input.split_once('.').ok_or(malformed)?;
        Ok(Token {
            header: json_part(header)?,
            claims: json_part(claims)?,
            signing_input,
            signature: base64url(signature)?,
        })
    }

    /// The hash function; a `typ` other than `JWT` makes the token malformed ("Apex Central only
    /// accepts JWTs").
    fn alg(&self) -> Result<Alg, AuthFailure> {
        match self.header.get("typ") {
            None => {}
            Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
            Some(_) => return Err(AuthFailure::MalformedToken),
        }
        match claim_str(&self.header, "alg")? {
            "HS256" => Ok(Alg::Hs256),
            "HS384" => Ok(Alg::Hs384),
            "HS512" => Ok(Alg::Hs512),
            _ => Err(AuthFailure::UnsupportedHashFunction),
        }
    }
}

fn base64url(part: &str) -> Result<Vec<u8>, AuthFailure> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthFailure::MalformedToken)
}

fn json_part(part: &str) -> Result<Map<String, Value>, AuthFailure> {
    serde_json::from_slice(&base64url(part)?).map_err(|_| AuthFailure::MalformedToken)
}

fn claim_str<'m>(map: &'m Map<String, Value>, key: &str) -> Result<&'m str, AuthFailure> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or(AuthFailure::MalformedToken)
}

/// Checks the HMAC in constant time.
fn verify_signature(alg: Alg, app: &ApexApplication, token: &Token<'_>) -> Result<(), AuthFailure> {
    fn verify<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8], signature: &[u8]) -> bool {
        <M as Mac>::new_from_slice(key)
            .map(|mac| mac.chain_update(input).verify_slice(signature).is_ok())
            .unwrap_or(false)
    }
    let key = app.api_key.expose_secret().as_bytes();
    let input = token.signing_input.as_bytes();
    let valid = match alg {
        Alg::Hs256 => verify::<Hmac<Sha256>>(key, input, &token.signature),
        Alg::Hs384 => verify::<Hmac<Sha384>>(key, input, &token.signature),
        Alg::Hs512 => verify::<Hmac<Sha512>>(key, input, &token.signature),
    };
    valid.then_some(()).ok_or(AuthFailure::InvalidSignature)
}

/// The checksum of the request as received.
fn checksum(request: &Signed<'_>) -> String {
    let raw_url = request
        .uri
        .path_and_query()
        .map_or_else(|| request.uri.path(), |pq| pq.as_str());
    let mut hash = Sha256::new();
    hash.update(request.method.as_str().to_ascii_uppercase());
    hash.update(b"|");
    hash.update(raw_url.to_lowercase());
    hash.update(b"|");
    hash.update(canonical_headers(request.headers));
    hash.update(b"|");
    hash.update(request.body);
    STANDARD.encode(hash.finalize())
}

/// The request headers that start with `API` (see the module note for the **\[open\]** format).
fn canonical_headers(headers: &HeaderMap) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("api"))
        .map(|(name, value)| {
            format!(
                "{}:{}",
                name.as_str(),
                String::from_utf8_lossy(value.as_bytes())
            )
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_trends_formula() {
        // Computed with Python as Trend's sample does:
        // base64.b64encode(hashlib.sha256(b"PUT|/webapp/api/suspiciousobjects/userdefinedso/||{}").digest())
        let uri: Uri = "/WebApp/api/SuspiciousObjects/UserDefinedSO/"
            .parse()
            .unwrap();
        let signed = Signed {
            method: &Method::PUT,
            uri: &uri,
            headers: &HeaderMap::new(),
            body: b"{}",
        };
        assert_eq!(
            checksum(&signed),
            "CzRiOiX8yoddK93R6/W2YFtaBqOWmnfw7+EjvXN+ubw="
        );
    }

    #[test]
    fn canonical_headers_keep_only_api_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(canonical_headers(&headers), "");
        headers.insert("api-version", "v1".parse().unwrap());
        headers.insert("api-a", "x".parse().unwrap());
        assert_eq!(canonical_headers(&headers), "api-a:x\napi-version:v1");
    }

    #[test]
    fn malformed_tokens_are_told_apart() {
        for raw in ["abc", "a.b", "!!.e30.sig", "e30.!!.c2ln", "e30.e30.***"] {
            assert!(
                matches!(Token::decode(raw), Err(AuthFailure::MalformedToken)),
                "{raw}"
            );
        }
        // {"alg":"none"} / {}
        let token = Token::decode("eyJhbGciOiJub25lIn0.e30.c2ln").unwrap();
        assert!(matches!(
            token.alg(),
            Err(AuthFailure::UnsupportedHashFunction)
        ));
    }
}
