//! Secret references, so configuration files never hold a secret themselves.
//!
//! A value that is exactly `env:NAME` is the environment variable `NAME`; exactly `file:PATH`
//! is the file's content without its trailing line break. Inside a longer value, `${env:NAME}`
//! and `${file:PATH}` are replaced the same way (`Bearer ${env:XDR_TOKEN}`). Anything else is
//! taken literally. Errors name the reference, never the secret.

use secrecy::SecretString;

use crate::Error;

/// Resolves `text` as described in the module documentation.
pub fn expand(text: &str) -> Result<SecretString, Error> {
    if let Some(name) = text.strip_prefix("env:") {
        return from_env(text, name).map(SecretString::from);
    }
    if let Some(path) = text.strip_prefix("file:") {
        return from_file(text, path).map(SecretString::from);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| Error::Secret {
            reference: rest[start..].to_owned(),
            reason: "`${` without a closing `}`".to_owned(),
        })?;
        let inner = &after[..end];
        let reference = &rest[start..start + end + 3];
        let value = if let Some(name) = inner.strip_prefix("env:") {
            from_env(reference, name)?
        } else if let Some(path) = inner.strip_prefix("file:") {
            from_file(reference, path)?
        } else {
            return Err(Error::Secret {
                reference: reference.to_owned(),
                reason: "expected ${env:NAME} or ${file:PATH}".to_owned(),
            });
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(SecretString::from(out))
}

fn from_env(reference: &str, name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|error| Error::Secret {
        reference: reference.to_owned(),
        reason: error.to_string(),
    })
}

fn from_file(reference: &str, path: &str) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::Secret {
        reference: reference.to_owned(),
        reason: error.to_string(),
    })?;
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn literal_values_pass_through() {
        assert_eq!(
            expand("application/json").unwrap().expose_secret(),
            "application/json"
        );
        assert_eq!(expand("price $5").unwrap().expose_secret(), "price $5");
    }

    #[test]
    fn file_references_drop_the_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t\r\n").unwrap();
        let whole = format!("file:{}", path.display());
        assert_eq!(expand(&whole).unwrap().expose_secret(), "s3cr3t");
        let embedded = format!("Bearer ${{file:{}}}!", path.display());
        assert_eq!(expand(&embedded).unwrap().expose_secret(), "Bearer s3cr3t!");
    }

    #[test]
    fn env_references_resolve_from_the_environment() {
        // PATH is set in every environment tests run in.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand("env:PATH").unwrap().expose_secret(), path);
        assert_eq!(
            expand("x ${env:PATH} y").unwrap().expose_secret(),
            format!("x {path} y")
        );
    }

    #[test]
    fn errors_name_the_reference_only() {
        let error = expand("env:IOCSYNC_SURELY_UNSET_VARIABLE")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("env:IOCSYNC_SURELY_UNSET_VARIABLE"),
            "{error}"
        );
        let error = expand("Bearer ${vault:x}").unwrap_err().to_string();
        assert!(error.contains("${vault:x}"), "{error}");
        assert!(expand("Bearer ${env:X").is_err());
        assert!(expand("file:/nonexistent/iocsync/token").is_err());
    }
}
