//! Secret references: a secret is never written in the config file, only `env:NAME` or
//! `file:PATH`, and it is read (`non_empty_secret`) only when a client or listener needs it.

use secrecy::SecretString;

use crate::error::{ConfigError, invalid};

/// The secret `reference` names (`env:` / `file:`), refused when empty; errors name `key`.
pub(crate) fn non_empty_secret(key: String, reference: &str) -> Result<SecretString, ConfigError> {
    let secret = trendmicro::secret::expand(reference)
        .map_err(|error| invalid(key.clone(), error.to_string()))?;
    if secrecy::ExposeSecret::expose_secret(&secret).is_empty() {
        return Err(invalid(key, "the secret it names is empty"));
    }
    Ok(secret)
}

pub(crate) const INLINE_SECRET: &str =
    "secrets are never written in the config file: use \"env:NAME\" or \"file:PATH\"";

pub(crate) fn is_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}
