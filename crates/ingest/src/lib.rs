//! Getting indicators into the library: the one pipeline behind `iocsync import`, `iocsync
//! pull`, the quickstart and the daemon's scheduled feed pulls.
//!
//! - [`import`]: inputs named on the command line (files, standard input, URLs, TAXII
//!   collections) read in parallel with their parsing, merged in chunks or held back until
//!   every input is read (`--strict`), TAXII cursors saved once the data is committed.
//! - [`pull`]: one `[[feeds]]` entry pulled into one library transaction (conditional GET,
//!   spooled copy with its SHA-256, held downloads, TAXII and MISP polls).
//! - [`problems`]: the [`Problems`] trait through which both report record problems and
//!   progress, so the command line keeps its progress bar and the daemon its logs.
//!
//! Reading records into sightings and batching them into the library is shared by both
//! (`read` and `batch`); errors are [`Error`], never `anyhow`.

mod batch;
pub mod error;
pub mod import;
pub mod problems;
pub mod pull;
mod read;

pub use error::{Error, chain};
pub use problems::{Problems, ReportError};
