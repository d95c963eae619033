//! The crate's error type. Messages name what failed (the file, the feed, the step); the
//! underlying error is kept as the source, so [`chain`] (or `anyhow`'s `{:#}`) reads
//! `what failed: why`. Credentials never appear: URLs are shown without their query and
//! secrets are `secrecy` values that are never formatted.

use std::path::PathBuf;

/// Why an import or a pull could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Library(Box<store::Error>),
    #[error("cannot write to the library")]
    Write(#[source] Box<store::Error>),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Fetch(#[from] feeds::fetch::FetchError),
    #[error(transparent)]
    Taxii(#[from] feeds::taxii::TaxiiError),
    #[error(transparent)]
    Misp(#[from] feeds::misp_api::MispApiError),
    /// The [`Problems`](crate::Problems) reporter could not record a problem.
    #[error(transparent)]
    Report(#[from] crate::ReportError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("the feed reader stopped unexpectedly")]
    ReaderStopped,

    // --- import ---
    #[error("standard input (`-`) can be read only once")]
    StdinTwice,
    #[error("cannot open")]
    Open(#[source] std::io::Error),
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    #[error("not a URL")]
    NotAUrl(#[source] url::ParseError),
    #[error("bad API root in the discovery answer")]
    BadApiRoot(#[source] url::ParseError),
    /// A TAXII URL without `/collections/ID/`: `listing` names the server's collections.
    #[error(
        "this names a TAXII server, not a collection; import one of its collections:\n{listing}"
    )]
    TaxiiServer { listing: String },
    #[error("cannot save the TAXII cursor for {key}")]
    SaveCursor {
        key: String,
        #[source]
        source: Box<store::Error>,
    },

    // --- pull ---
    #[error("cannot open {}", path.display())]
    OpenFeed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create a temporary file for the download")]
    SpoolCreate(#[source] std::io::Error),
    #[error("the download broke off")]
    BrokeOff(#[source] std::io::Error),
    #[error("the download is larger than max_bytes ({max_bytes} bytes)")]
    TooLarge { max_bytes: u64 },
    #[error("cannot write the temporary copy of the download")]
    SpoolWrite(#[source] std::io::Error),
    #[error("cannot read the temporary copy back")]
    SpoolRewind(#[source] std::io::Error),
    #[error("cannot reopen the temporary copy of the download")]
    SpoolReopen(#[source] std::io::Error),
    #[error("cannot create {} for the held download", dir.display())]
    HeldDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the held download in {}", dir.display())]
    HeldWrite {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot keep the held download at {}", path.display())]
    HeldKeep {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("a TAXII feed needs a taxii+https:// URL")]
    TaxiiFeedUrl,
    #[error("the URL names a TAXII server, not a collection (…/collections/ID/)")]
    TaxiiFeedServer,
    #[error("a MISP API feed's url is the MISP instance (https://misp.example/)")]
    MispFeedUrl,
    #[error(
        "feeds[{index}]: a MISP API feed needs its key: headers = {{ Authorization = \"env:MISP_KEY\" }}"
    )]
    MispKey { index: usize },
}

impl From<store::Error> for Error {
    fn from(error: store::Error) -> Self {
        Error::Library(Box::new(error))
    }
}

/// `error` and its sources, `what failed: why: ...` — as `anyhow` prints `{:#}`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_reads_like_anyhow() {
        let error = Error::Open(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(chain(&error), "cannot open: gone");
        let error = Error::from(crate::ReportError::new(
            "cannot write the errors file",
            std::io::Error::other("disk full"),
        ));
        assert_eq!(chain(&error), "cannot write the errors file: disk full");
    }
}
