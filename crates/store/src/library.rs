//! `Library`: the handle the rest of iocsync holds. It opens the SQLite backend by default (or
//! the PostgreSQL one from a URL) and dereferences to the `LibraryBackend` trait, so callers
//! never name a backend.

use std::ops::{Deref, DerefMut};
use std::path::Path;

use crate::backend::LibraryBackend;
use crate::error::{Error, Result};
use crate::postgres::{PostgresLibrary, PostgresOptions};
use crate::sqlite::SqliteLibrary;

/// An open library. Every operation is a method of [`LibraryBackend`], reached through `Deref`.
pub struct Library {
    backend: Box<dyn LibraryBackend>,
}

impl Library {
    /// Opens (creating if missing) the SQLite library at `path`, migrating it if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Library::from_backend(SqliteLibrary::open(path)?))
    }

    /// Opens the SQLite library at `path`, which must exist and not be empty: commands that
    /// act on targets use this, so a mistyped path or a lost file is an error, never a new
    /// empty library that has forgotten what was pushed ([`Error::Missing`]).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => Library::open(path),
            Ok(_) => Err(Error::Missing {
                path: path.to_path_buf(),
                empty: true,
            }),
            Err(_) => Err(Error::Missing {
                path: path.to_path_buf(),
                empty: false,
            }),
        }
    }

    /// Connects to the PostgreSQL library at `url` (`postgres://...` or libpq key-value pairs,
    /// with an optional `sslmode` and `sslrootcert`), migrating it if needed.
    pub fn connect(url: &str) -> Result<Self> {
        Ok(Library::from_backend(PostgresLibrary::connect(url)?))
    }

    /// [`connect`](Self::connect) with a password, `sslmode` or CA file given apart.
    pub fn connect_with(options: &PostgresOptions) -> Result<Self> {
        Ok(Library::from_backend(PostgresLibrary::connect_with(
            options,
        )?))
    }

    /// [`connect_with`](Self::connect_with) to a database that must already hold a library,
    /// as [`open_existing`](Self::open_existing) for a file ([`Error::NoLibrary`]).
    pub fn connect_existing(options: &PostgresOptions) -> Result<Self> {
        Ok(Library::from_backend(PostgresLibrary::connect_existing(
            options,
        )?))
    }

    /// Wraps any backend.
    pub fn from_backend(backend: impl LibraryBackend + 'static) -> Self {
        Library {
            backend: Box::new(backend),
        }
    }
}

impl Deref for Library {
    type Target = dyn LibraryBackend;

    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl DerefMut for Library {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.backend.as_mut()
    }
}
