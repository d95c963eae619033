//! `Library`: the handle the rest of iocsync holds. It opens the SQLite backend by default and
//! dereferences to the `LibraryBackend` trait, so callers never name a backend.

use std::ops::{Deref, DerefMut};
use std::path::Path;

use crate::backend::LibraryBackend;
use crate::error::Result;
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

    /// Wraps any backend (a PostgreSQL one, later).
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
