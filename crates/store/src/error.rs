//! The library's error type. Messages name the file, the collection or the value at fault; the
//! underlying database error is kept as the source.

use std::path::PathBuf;

use crate::collection::InvalidCollection;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no library at {}{}: a run against a library that does not exist would forget what \
         iocsync pushed; check the path, restore the file, or create a new library with \
         --init-library",
        path.display(),
        if *.empty { " (the file is empty)" } else { "" }
    )]
    Missing { path: PathBuf, empty: bool },
    #[error("cannot open the library {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the library {} has schema version {found}, newer than this iocsync knows ({known}); use a newer iocsync",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("migration {name} failed on {}", path.display())]
    Migration {
        path: PathBuf,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("library database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL library could not be reached or logged into. `url_redacted` is the
    /// connection string with any password masked: no error of this crate shows a password.
    #[error("cannot connect to the PostgreSQL library {url_redacted}")]
    Connect {
        url_redacted: String,
        #[source]
        source: postgres::Error,
    },
    /// [`Library::connect_existing`](crate::Library::connect_existing) found a database
    /// without a library in it.
    #[error(
        "no library in the PostgreSQL database {url_redacted}: a run against a library that \
         does not exist would forget what iocsync pushed; check the URL, or create the library \
         with --init-library"
    )]
    NoLibrary { url_redacted: String },
    /// A connection string or TLS setting that cannot be used (bad syntax, unknown
    /// `sslmode`, an unreadable CA file).
    #[error("invalid PostgreSQL library settings for {url_redacted}: {reason}")]
    Settings {
        url_redacted: String,
        reason: String,
    },
    #[error(
        "the PostgreSQL library {url_redacted} has schema version {found}, newer than this \
         iocsync knows ({known}); use a newer iocsync"
    )]
    TooNewSchema {
        url_redacted: String,
        found: i64,
        known: i64,
    },
    #[error("PostgreSQL migration {name} failed on {url_redacted}")]
    PostgresMigration {
        url_redacted: String,
        name: &'static str,
        #[source]
        source: postgres::Error,
    },
    #[error("library database error (PostgreSQL)")]
    Postgres(#[from] postgres::Error),
    /// A call on a PostgreSQL handle made while that handle streams a scan to a visitor (the
    /// visitor called back into the library): its one connection is busy.
    #[error("the library handle is busy with a scan; use a second handle from inside a visitor")]
    Busy,
    #[error("invalid collection `{name}`")]
    InvalidCollection {
        name: String,
        #[source]
        source: InvalidCollection,
    },
    #[error("a collection named `{0}` already exists")]
    CollectionExists(String),
    #[error("the library holds an unreadable {what} `{value}`")]
    Corrupt {
        what: &'static str,
        value: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A copy's destination already holds a library's data.
    #[error(
        "the destination library is not empty (its `{table}` table has rows): copy into a new, empty library"
    )]
    NotEmpty { table: String },
    /// A copied value the destination's column cannot hold.
    #[error("cannot copy `{table}.{column}`: {reason}")]
    CopyCell {
        table: &'static str,
        column: &'static str,
        reason: String,
    },
    #[error("cannot write {what} as JSON")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// A value read back from the database that does not parse.
    pub(crate) fn corrupt(
        what: &'static str,
        value: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Corrupt {
            what,
            value: value.into(),
            source: source.into(),
        }
    }
}
