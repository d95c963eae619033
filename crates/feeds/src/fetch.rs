//! Downloading an `http(s)://` feed as a stream: the body is read as the reader consumes it,
//! never held whole. Credentials are refused in the URL itself (they would sit in shell
//! history and process lists).

use std::io::Read;
use std::time::Duration;

use url::Url;

/// Why a download could not start.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not a URL iocsync downloads (use http:// or https://)")]
    Scheme(String),
    #[error(
        "the URL carries a user name or password; credentials must not be given on the command line"
    )]
    Credentials,
    #[error("GET {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
}

/// An open download.
pub struct Download {
    /// The body, streamed.
    pub body: Box<dyn Read + Send>,
    /// The `Content-Type` the server gave, if any.
    pub content_type: Option<String>,
    /// The size the server announced, if any (for progress).
    pub length: Option<u64>,
}

/// Parses `spec` as a URL iocsync may download.
pub fn check_url(spec: &str) -> Result<Url, FetchError> {
    let url = Url::parse(spec).map_err(|_| FetchError::Scheme(redact(spec)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(redact(spec)));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Credentials);
    }
    Ok(url)
}

/// `spec` with any `user:password@` replaced by `***@`, for messages.
pub(crate) fn redact(spec: &str) -> String {
    let Some(start) = spec.find("://").map(|i| i + 3) else {
        return spec.to_owned();
    };
    let authority_end = spec[start..].find('/').map_or(spec.len(), |i| start + i);
    match spec[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &spec[..start], &spec[start + at..]),
        None => spec.to_owned(),
    }
}

/// Starts downloading `spec`. Must not be called from inside an async runtime (it blocks).
pub fn download(spec: &str) -> Result<Download, FetchError> {
    let url = check_url(spec)?;
    let url = &url;
    let request_error = |source| FetchError::Request {
        url: url.to_string(),
        source,
    };
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("iocsync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        // Per read, not for the whole body: a large feed may take minutes.
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(request_error)?;
    let response = client.get(url.clone()).send().map_err(request_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Download {
        length: response.content_length(),
        content_type,
        body: Box::new(response),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_credentials_and_other_schemes() {
        assert!(matches!(
            check_url("https://u:p@feeds.example/x"),
            Err(FetchError::Credentials)
        ));
        assert!(matches!(
            check_url("https://u@feeds.example/x"),
            Err(FetchError::Credentials)
        ));
        assert!(matches!(
            check_url("file:///etc/passwd"),
            Err(FetchError::Scheme(_))
        ));
        let err = check_url("https://u:secret@bad host/")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(check_url("https://feeds.example/list.txt?token=x").is_ok());
    }

    #[test]
    fn redaction_hides_user_info_only() {
        assert_eq!(
            redact("taxii+https://u:p@h.example/a@b"),
            "taxii+https://***@h.example/a@b"
        );
        assert_eq!(
            redact("taxii+https://h.example/a@b"),
            "taxii+https://h.example/a@b"
        );
        assert_eq!(redact("no scheme"), "no scheme");
    }
}
