//! `[library]`: where the library lives — a SQLite file (`path`, the embedded default) or a
//! PostgreSQL database (`url`, for several daemons sharing one library) — and opening it.
//! A PostgreSQL password is a secret reference read only when the library is opened, never
//! part of the URL: a URL is shown in messages, logs and the status page.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use secrecy::SecretString;
use serde::Deserialize;
use store::{Library, PostgresOptions, SslMode};

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};

/// `[library]` as written: `path` for a SQLite file, or `url` (with `password`, `sslmode`,
/// `ca_file`) for a PostgreSQL database.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LibrarySection {
    /// Path of the SQLite library file (relative paths are taken from the config file's
    /// folder).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A PostgreSQL library instead of a file: `postgres://user@host:5432/iocsync` (or libpq
    /// `host=… dbname=…` pairs). Never with a password in it: give `password`.
    #[serde(default)]
    pub url: Option<String>,
    /// The PostgreSQL password, as a secret reference (`env:NAME` or `file:PATH`).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::SecretRef>")]
    pub password: Option<String>,
    /// TLS to PostgreSQL, as libpq's `sslmode`: `disable`, `prefer` (the default), `require`,
    /// `verify-ca` or `verify-full`.
    #[serde(default)]
    pub sslmode: Option<String>,
    /// PEM file of the CA certificates that sign the PostgreSQL server's certificate
    /// (relative paths are taken from the config file's folder).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Where the library lives.
#[derive(Debug, Clone, PartialEq)]
pub enum LibraryLocation {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database.
    Postgres(PostgresLocation),
}

/// A PostgreSQL library, as configured (the password still a reference).
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresLocation {
    pub url: String,
    /// A secret reference, read when the library is opened.
    pub password: Option<String>,
    pub ssl_mode: Option<SslMode>,
    pub ca_file: Option<PathBuf>,
    /// Where files kept beside the library go (held feed downloads): the config file's folder.
    pub folder: PathBuf,
}

/// Why the library could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Password(ConfigError),
}

impl LibraryLocation {
    /// `text` as a `--library` flag gives it: a `postgres://` URL (or libpq `dbname=…` pairs),
    /// else a file path. The password comes from `PGPASSWORD`, as libpq's does.
    pub fn from_arg(text: &str) -> LibraryLocation {
        let pairs = text
            .split_whitespace()
            .any(|pair| pair.starts_with("dbname="));
        if is_postgres_url(text) || pairs {
            LibraryLocation::Postgres(PostgresLocation {
                url: text.to_owned(),
                password: std::env::var_os("PGPASSWORD").map(|_| "env:PGPASSWORD".to_owned()),
                ssl_mode: None,
                ca_file: None,
                folder: PathBuf::from("."),
            })
        } else {
            LibraryLocation::File(PathBuf::from(text))
        }
    }

    /// Opens the library, creating it (a new file, or the schema in an empty database) when
    /// it does not exist yet.
    pub fn open(&self) -> Result<Library, LibraryError> {
        match self {
            LibraryLocation::File(path) => Ok(Library::open(path)?),
            LibraryLocation::Postgres(pg) => Ok(Library::connect_with(&pg.options()?)?),
        }
    }

    /// Opens a library that must exist: a missing or empty SQLite file
    /// ([`store::Error::Missing`]) or a PostgreSQL database without a library
    /// ([`store::Error::NoLibrary`]) is an error, never a new empty library that has forgotten
    /// what was pushed.
    pub fn open_existing(&self) -> Result<Library, LibraryError> {
        match self {
            LibraryLocation::File(path) => Ok(Library::open_existing(path)?),
            LibraryLocation::Postgres(pg) => Ok(Library::connect_existing(&pg.options()?)?),
        }
    }

    /// Whether `error` says the library does not exist (rather than that it cannot be read).
    pub fn is_missing(error: &LibraryError) -> bool {
        matches!(
            error,
            LibraryError::Store(store::Error::Missing { .. } | store::Error::NoLibrary { .. })
        )
    }

    /// Reads the PostgreSQL password's reference (`Ok(None)` for a file, or no password), so
    /// `config check` can tell a missing secret before a run needs it.
    pub fn resolve_password(&self) -> Result<Option<SecretString>, ConfigError> {
        match self {
            LibraryLocation::Postgres(pg) => pg.password(),
            LibraryLocation::File(_) => Ok(None),
        }
    }

    /// The SQLite file, when the library is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            LibraryLocation::File(path) => Some(path),
            LibraryLocation::Postgres(_) => None,
        }
    }

    /// Where a held feed download is kept: `iocsync.db` → `iocsync.held/`; beside the config
    /// file (`iocsync.held/`) for a PostgreSQL library.
    pub fn held_dir(&self) -> PathBuf {
        match self {
            LibraryLocation::File(path) => path.with_extension("held"),
            LibraryLocation::Postgres(pg) => pg.folder.join("iocsync.held"),
        }
    }

    /// Relative paths taken from `dir` (the config file's folder).
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        match self {
            LibraryLocation::File(path) if path.is_relative() => *path = dir.join(&*path),
            LibraryLocation::File(_) => {}
            LibraryLocation::Postgres(pg) => {
                if let Some(ca) = pg.ca_file.as_mut().filter(|ca| ca.is_relative()) {
                    *ca = dir.join(&*ca);
                }
                pg.folder = dir.to_path_buf();
            }
        }
    }
}

impl fmt::Display for LibraryLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryLocation::File(path) => write!(f, "{}", path.display()),
            LibraryLocation::Postgres(pg) => f.write_str(&store::postgres::redact(&pg.url)),
        }
    }
}

impl PostgresLocation {
    fn password(&self) -> Result<Option<SecretString>, ConfigError> {
        self.password
            .as_deref()
            .map(|reference| non_empty_secret("library.password".to_owned(), reference))
            .transpose()
    }

    fn options(&self) -> Result<PostgresOptions, LibraryError> {
        let password = self.password().map_err(LibraryError::Password)?;
        Ok(PostgresOptions {
            url: self.url.clone(),
            password,
            ssl_mode: self.ssl_mode,
            ca_file: self.ca_file.clone(),
        })
    }
}

fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Whether a connection string carries a password (`user:pw@` or `password=`).
fn holds_password(url: &str) -> bool {
    if is_postgres_url(url) {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let userinfo_has_password = authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'));
        let query = rest.split_once('?').map_or("", |(_, query)| query);
        userinfo_has_password || query.split('&').any(|p| p.starts_with("password="))
    } else {
        url.split_whitespace()
            .any(|pair| pair.starts_with("password="))
    }
}

fn ssl_mode(text: &str) -> Option<SslMode> {
    Some(match text {
        "disable" => SslMode::Disable,
        "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        _ => return None,
    })
}

/// Validates `[library]`: exactly one of `path` and `url`; the PostgreSQL keys only with
/// `url`; no password written in the file.
pub(crate) fn validate(
    section: LibrarySection,
    errors: &mut Vec<ConfigError>,
) -> Option<LibraryLocation> {
    let LibrarySection {
        path,
        url,
        password,
        sslmode,
        ca_file,
    } = section;
    match (path, url) {
        (Some(path), None) => {
            for (key, given) in [
                ("password", password.is_some()),
                ("sslmode", sslmode.is_some()),
                ("ca_file", ca_file.is_some()),
            ] {
                if given {
                    errors.push(invalid(
                        format!("library.{key}"),
                        "is for a PostgreSQL library (`url`), not a file (`path`)",
                    ));
                }
            }
            Some(LibraryLocation::File(path))
        }
        (None, Some(url)) => postgres(url, password, sslmode, ca_file, errors),
        (Some(_), Some(_)) => {
            errors.push(invalid(
                "library",
                "give either `path` (a SQLite file) or `url` (a PostgreSQL database), not both",
            ));
            None
        }
        (None, None) => {
            errors.push(invalid(
                "library",
                "needs `path` (a SQLite file) or `url` (a PostgreSQL database)",
            ));
            None
        }
    }
}

fn postgres(
    url: String,
    password: Option<String>,
    sslmode: Option<String>,
    ca_file: Option<PathBuf>,
    errors: &mut Vec<ConfigError>,
) -> Option<LibraryLocation> {
    let before = errors.len();
    if holds_password(&url) {
        errors.push(invalid(
            "library.url",
            "holds a password: give it as `password = \"env:NAME\"` or `\"file:PATH\"`",
        ));
    }
    if password.as_deref().is_some_and(|p| !is_reference(p)) {
        errors.push(invalid("library.password", INLINE_SECRET));
    }
    let ssl_mode = match sslmode.as_deref().map(|text| (text, ssl_mode(text))) {
        None => None,
        Some((_, Some(mode))) => Some(mode),
        Some((text, None)) => {
            errors.push(invalid(
                "library.sslmode",
                format!("`{text}` is not one of disable, prefer, require, verify-ca, verify-full"),
            ));
            None
        }
    };
    (errors.len() == before).then(|| {
        LibraryLocation::Postgres(PostgresLocation {
            url,
            password,
            ssl_mode,
            ca_file,
            folder: PathBuf::from("."),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str) -> Result<LibraryLocation, Vec<String>> {
        let section: LibrarySection = toml::from_str(toml).unwrap();
        let mut errors = Vec::new();
        let location = validate(section, &mut errors);
        if errors.is_empty() {
            Ok(location.unwrap())
        } else {
            Err(errors.iter().map(ToString::to_string).collect())
        }
    }

    #[test]
    fn a_library_is_a_file_or_a_postgres_database() {
        assert_eq!(
            check(r#"path = "lib.db""#).unwrap(),
            LibraryLocation::File("lib.db".into())
        );
        let LibraryLocation::Postgres(pg) = check(
            r#"url = "postgres://iocsync@db.example:5432/iocsync"
               password = "env:IOCSYNC_DB_PASSWORD"
               sslmode = "verify-full"
               ca_file = "ca.pem""#,
        )
        .unwrap() else {
            panic!("not PostgreSQL");
        };
        assert_eq!(pg.ssl_mode, Some(SslMode::VerifyFull));
        assert_eq!(pg.password.as_deref(), Some("env:IOCSYNC_DB_PASSWORD"));
    }

    #[test]
    fn mistakes_name_their_key_and_no_password_is_written_down() {
        let both = check(
            r#"path = "a.db"
               url = "postgres://u@h/db""#,
        );
        assert!(both.unwrap_err()[0].contains("not both"));
        assert!(check("").unwrap_err()[0].contains("needs `path`"));
        for url in [
            "postgres://iocsync:hunter2@db/iocsync",
            "postgresql://db/iocsync?user=u&password=hunter2",
            "host=db dbname=iocsync password=hunter2",
        ] {
            let errors = check(&format!("url = {url:?}")).unwrap_err();
            assert!(errors[0].contains("library.url"), "{errors:?}");
            assert!(errors.iter().all(|e| !e.contains("hunter2")), "{errors:?}");
        }
        let inline = check(
            r#"url = "postgres://u@db/iocsync"
               password = "hunter2""#,
        )
        .unwrap_err();
        assert!(inline[0].contains("library.password"), "{inline:?}");
        assert!(!inline[0].contains("hunter2"));
        let mode = check(
            r#"url = "postgres://u@db/iocsync"
               sslmode = "sometimes""#,
        )
        .unwrap_err();
        assert!(mode[0].contains("library.sslmode"), "{mode:?}");
        let misplaced = check(
            r#"path = "a.db"
               sslmode = "require""#,
        )
        .unwrap_err();
        assert!(misplaced[0].contains("library.sslmode"), "{misplaced:?}");
    }

    #[test]
    fn a_url_is_shown_without_its_password_and_a_flag_tells_url_from_path() {
        let shown = LibraryLocation::from_arg("postgres://u:secret@db/iocsync").to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(matches!(
            LibraryLocation::from_arg("postgresql://db/iocsync"),
            LibraryLocation::Postgres(_)
        ));
        assert_eq!(
            LibraryLocation::from_arg("iocsync.db"),
            LibraryLocation::File("iocsync.db".into())
        );
    }
}
