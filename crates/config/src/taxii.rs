//! `[taxii]`: iocsync as a TAXII 2.1 server that Trend products poll (Vision One's Third-Party
//! Intelligence → TAXII Feeds, Deep Discovery Director, TippingPoint SMS). Each
//! `[[taxii.collections]]` entry serves one iocsync collection to the HTTP Basic users named
//! in its `readers`, whose passwords are references.

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};

/// `[taxii]` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTaxii {
    /// The discovery and API root title.
    #[schemars(extend("default" = "iocsync"))]
    title: Option<String>,
    /// The collections served, each to its own readers.
    #[serde(default)]
    collections: Vec<RawCollection>,
}

/// One `[[taxii.collections]]` entry as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    /// Its title, and the name its publication is kept under.
    name: String,
    /// The iocsync collection it serves (a `[[collections]]` name).
    collection: String,
    /// What it holds, for its readers.
    description: Option<String>,
    /// Whether the guard keeps values out (a TAXII consumer blocks what it reads).
    #[schemars(extend("default" = true))]
    guard: Option<bool>,
    /// The HTTP Basic users who may read it.
    #[serde(default)]
    readers: Vec<RawReader>,
}

/// One reader of a served collection.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawReader {
    /// The HTTP Basic user name.
    user: String,
    /// The user's password.
    #[schemars(with = "crate::schema::SecretRef")]
    password: String,
}

/// The TAXII server's settings, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiSettings {
    /// The discovery and API root title.
    pub title: String,
    pub collections: Vec<TaxiiCollection>,
}

/// One served collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiCollection {
    /// Its title, and the name its publication is kept under.
    pub name: String,
    /// The iocsync collection it serves.
    pub collection: String,
    pub description: Option<String>,
    /// Whether the guard keeps values out (on unless `guard = false`: a TAXII consumer blocks
    /// what it reads).
    pub guard: bool,
    pub readers: Vec<Reader>,
}

/// A user who may read a collection. Holds the password's *reference*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub user: String,
    password_ref: String,
}

impl Reader {
    /// The password, read from the environment variable or file the config names.
    pub fn resolve_password(&self, key: String) -> Result<SecretString, ConfigError> {
        non_empty_secret(key, &self.password_ref)
    }
}

/// Validates `[taxii]`, pushing every error at its key path.
pub(crate) fn validate_taxii(raw: RawTaxii, errors: &mut Vec<ConfigError>) -> TaxiiSettings {
    let mut collections: Vec<TaxiiCollection> = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, entry) in raw.collections.into_iter().enumerate() {
        let key = |name: &str| format!("taxii.collections[{i}].{name}");
        let before = errors.len();
        if entry.name.trim().is_empty() {
            errors.push(invalid(key("name"), "must not be empty"));
        } else if !names.insert(entry.name.clone()) {
            errors.push(invalid(
                key("name"),
                format!("`{}` is served twice", entry.name),
            ));
        }
        if entry.collection.trim().is_empty() {
            errors.push(invalid(key("collection"), "must not be empty"));
        }
        if entry.readers.is_empty() {
            errors.push(invalid(
                key("readers"),
                "name at least one reader: readers = [{ user = \"...\", password = \"env:...\" }]",
            ));
        }
        let readers = entry
            .readers
            .into_iter()
            .enumerate()
            .map(|(j, reader)| read_reader(&key(&format!("readers[{j}]")), reader, errors))
            .collect();
        if errors.len() == before {
            collections.push(TaxiiCollection {
                name: entry.name,
                collection: entry.collection,
                description: entry.description,
                guard: entry.guard.unwrap_or(true),
                readers,
            });
        }
    }
    TaxiiSettings {
        title: raw.title.unwrap_or_else(|| "iocsync".to_owned()),
        collections,
    }
}

fn read_reader(path: &str, raw: RawReader, errors: &mut Vec<ConfigError>) -> Reader {
    if raw.user.is_empty() || raw.user.contains(':') || raw.user.chars().any(char::is_control) {
        errors.push(invalid(
            format!("{path}.user"),
            "must be a non-empty name without `:` (HTTP Basic)",
        ));
    }
    if !is_reference(&raw.password) {
        errors.push(invalid(format!("{path}.password"), INLINE_SECRET));
    }
    Reader {
        user: raw.user,
        password_ref: raw.password,
    }
}
