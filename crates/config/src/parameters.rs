//! Reading a workflow's `parameters` table key by key (`Reader`), so that every error names
//! its key path and a key nothing reads is refused; and the keys several actions share. Each
//! action's own parameters are in its product's file under [`crate::targets`].

use std::collections::BTreeSet;

use crate::error::{ConfigError, invalid};

/// What to do with a URL written without a scheme (Vision One needs one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[schemars(rename_all = "lowercase")]
pub enum UrlScheme {
    /// Send it as `http://...`.
    Http,
    /// Send it as `https://...`.
    Https,
    /// Send both.
    Both,
    /// Leave it out.
    Skip,
}

/// The `parameters` key every action takes, for the schema (read by [`objects_per_run`]).
#[derive(schemars::JsonSchema)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct RunKeys {
    /// Most new objects one run sends (no limit when not given).
    #[schemars(range(min = 1))]
    objects_per_run: Option<u64>,
}

/// The `parameters` keys of the actions that send URLs, for the schema.
#[derive(schemars::JsonSchema)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct SchemeKeys {
    /// What a URL written without a scheme becomes.
    #[schemars(extend("default" = "http"))]
    url_scheme: Option<UrlScheme>,
    #[schemars(flatten)]
    run: RunKeys,
}

pub(crate) fn url_scheme(r: &mut Reader<'_>) -> UrlScheme {
    match r.string("url_scheme", &["http", "https", "both", "skip"]) {
        None | Some("http") => UrlScheme::Http,
        Some("https") => UrlScheme::Https,
        Some("both") => UrlScheme::Both,
        Some(_) => UrlScheme::Skip,
    }
}

pub(crate) fn objects_per_run(r: &mut Reader<'_>) -> Option<usize> {
    r.integer("objects_per_run", 1, i64::MAX)
        .map(|n| n as usize)
}

/// Reads a `parameters` table key by key, so that each error names its key path, and refuses
/// keys nothing read. A bad value is noted and read as unset, so the keys after it are read too.
pub(crate) struct Reader<'a> {
    path: String,
    table: &'a toml::Table,
    used: BTreeSet<String>,
    errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(path: String, table: &'a toml::Table) -> Self {
        Reader {
            path,
            table,
            used: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Notes what is wrong with key `name`.
    pub(crate) fn fail(&mut self, name: &str, reason: impl Into<String>) {
        let key = self.key(name);
        self.errors.push(invalid(key, reason));
    }

    pub(crate) fn raw(&mut self, name: &str) -> Option<&'a toml::Value> {
        self.used.insert(name.to_owned());
        self.table.get(name)
    }

    pub(crate) fn string(&mut self, name: &str, choices: &[&'static str]) -> Option<&'static str> {
        let found = match self.raw(name)? {
            toml::Value::String(s) => choices.iter().find(|c| **c == s.as_str()).copied(),
            _ => None,
        };
        if found.is_none() {
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            self.fail(name, format!("expected one of {}", quoted.join(", ")));
        }
        found
    }

    pub(crate) fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        match self.raw(name)? {
            toml::Value::Integer(n) if (min..=max).contains(n) => Some(*n),
            _ => {
                self.fail(name, format!("expected an integer from {min} to {max}"));
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            toml::Value::Boolean(b) => Some(*b),
            _ => {
                self.fail(name, "expected true or false");
                None
            }
        }
    }

    /// Every error noted, then every key nothing read.
    pub(crate) fn finish(self) -> Vec<ConfigError> {
        let mut errors = self.errors;
        for unknown in self
            .table
            .keys()
            .filter(|k| !self.used.contains(k.as_str()))
        {
            errors.push(invalid(
                format!("{}.{unknown}", self.path),
                "unknown parameter for this action",
            ));
        }
        errors
    }
}
