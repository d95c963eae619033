//! Downloading a feed over real HTTP and reading it as it arrives.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use feeds::fetch::{Auth, BodyTooLarge, FetchError, Fetched, Request, download, fetch};
use feeds::{Defaults, Format, Options};

const ETAG: &str = "\"v7\"";
const LAST_MODIFIED: &str = "Mon, 23 Nov 2026 10:00:00 GMT";
const API_KEY: &str = "k-3f9a1c-secret";

/// `/list.txt` with validators, answering 304 to either matching condition.
async fn conditional(headers: HeaderMap) -> Response {
    let matches = |name, value: &str| headers.get(name).is_some_and(|v| v == value);
    if matches(header::IF_NONE_MATCH, ETAG) || matches(header::IF_MODIFIED_SINCE, LAST_MODIFIED) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let validators = [(header::ETAG, ETAG), (header::LAST_MODIFIED, LAST_MODIFIED)];
    (validators, "198.51.100.1\n198.51.100.2\n").into_response()
}

/// `/keyed.txt`: 200 only with the API key header and the bearer token.
async fn keyed(headers: HeaderMap) -> Response {
    let key = headers.get("x-api-key").is_some_and(|v| v == API_KEY);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == "Bearer tok-77-secret");
    if key && bearer {
        "203.0.113.9\n".into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// Serves `/feed.txt` (a few thousand lines) and `/missing` (404) on a background runtime.
fn serve() -> SocketAddr {
    let body: String = (1..=3000)
        .map(|i| format!("198.51.{}.{}\n", 101 + i / 250, i % 250 + 1))
        .collect();
    let app = Router::new()
        .route("/feed.txt", get(move || async move { body }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/list.txt", get(conditional))
        .route("/keyed.txt", get(keyed))
        .route("/big.txt", get(|| async { "198.51.100.1\n".repeat(1000) }));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        runtime.block_on(async { axum::serve(listener, app).await.unwrap() })
    });
    address
}

#[test]
fn a_downloaded_feed_reads_like_a_file() {
    let address = serve();
    let download = download(&format!("http://{address}/feed.txt")).unwrap();
    assert!(download.content_type.unwrap().starts_with("text/plain"));
    let reader = feeds::open(
        Format::Text,
        "feed.txt",
        BufReader::new(download.body),
        Options::new(Defaults::new("http")),
    );
    let values: Vec<String> = reader.map(|r| r.unwrap().value).collect();
    assert_eq!(values.len(), 3000);
    assert_eq!(values[0], "198.51.101.2");
}

#[test]
fn http_errors_and_refused_urls_are_reported() {
    let address = serve();
    let Err(err) = download(&format!("http://{address}/missing")) else {
        panic!("a 404 must fail");
    };
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().ends_with("answered HTTP 404"), "{err}");
    assert!(matches!(
        download("https://user:pw@feeds.example/x"),
        Err(FetchError::Credentials)
    ));
    let Err(err) = download("http://127.0.0.1:9/feed.txt") else {
        panic!("nothing listens on port 9");
    };
    assert!(
        err.to_string()
            .starts_with("GET http://127.0.0.1:9/feed.txt failed"),
        "{err}"
    );
}

/// A server that answers every connection with `size` bytes and no `Content-Length` (the
/// body ends when the connection closes), so only reading can find out its size.
fn serve_unannounced(size: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(&vec![b'x'; size]);
        }
    });
    address
}

fn body_of(fetched: Fetched) -> String {
    let Fetched::Body(download) = fetched else {
        panic!("expected a body");
    };
    let mut body = String::new();
    download
        .body
        .take(1 << 20)
        .read_to_string(&mut body)
        .unwrap();
    body
}

#[test]
fn conditional_requests_get_304_and_new_bodies_carry_their_validators() {
    let address = serve();
    let mut request = Request::new(format!("http://{address}/list.txt"));
    let Fetched::Body(first) = fetch(&request).unwrap() else {
        panic!("an unconditional request gets the body");
    };
    assert_eq!(first.etag.as_deref(), Some(ETAG));
    assert_eq!(first.last_modified.as_deref(), Some(LAST_MODIFIED));

    request.etag = first.etag.clone();
    assert!(matches!(fetch(&request).unwrap(), Fetched::NotModified));

    request.etag = None;
    request.last_modified = first.last_modified.clone();
    assert!(matches!(fetch(&request).unwrap(), Fetched::NotModified));

    request.etag = Some("\"v6\"".into());
    request.last_modified = Some("Sun, 01 Nov 2026 00:00:00 GMT".into());
    assert_eq!(
        body_of(fetch(&request).unwrap()),
        "198.51.100.1\n198.51.100.2\n"
    );
}

#[test]
fn a_body_past_max_bytes_is_refused_announced_or_not() {
    let address = serve();
    let mut request = Request::new(format!("http://{address}/big.txt"));
    request.max_bytes = 13_000;
    assert_eq!(
        body_of(fetch(&request).unwrap()).len(),
        13_000,
        "exactly the limit"
    );
    request.max_bytes = 12_999;
    let Err(err) = fetch(&request) else {
        panic!("a Content-Length over the limit must be refused");
    };
    assert!(
        matches!(
            err,
            FetchError::TooLarge {
                length: 13_000,
                limit: 12_999,
                ..
            }
        ),
        "{err}"
    );

    let unannounced = serve_unannounced(100_000);
    let mut request = Request::new(format!("http://{unannounced}/feed"));
    request.max_bytes = 50_000;
    let Fetched::Body(download) = fetch(&request).unwrap() else {
        panic!("expected a body");
    };
    assert_eq!(download.length, None);
    let mut sink = Vec::new();
    let err = BufReader::new(download.body)
        .read_to_end(&mut sink)
        .unwrap_err();
    assert!(sink.len() <= 50_000, "read {} bytes", sink.len());
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<BodyTooLarge>());
    assert_eq!(inner, Some(&BodyTooLarge { limit: 50_000 }), "{err}");
    assert_eq!(
        err.to_string(),
        "the download is larger than the 50000 bytes allowed"
    );
}

#[test]
fn custom_headers_and_tokens_arrive_and_never_show_in_errors() {
    let address = serve();
    let mut request = Request::new(format!("http://{address}/keyed.txt"));
    request.headers.push(("X-Api-Key".into(), API_KEY.into()));
    request.auth = Auth::Bearer("tok-77-secret".into());
    assert_eq!(body_of(fetch(&request).unwrap()), "203.0.113.9\n");

    request.headers[0].1 = "k-wrong-secret".into();
    let Err(err) = fetch(&request) else {
        panic!("a wrong key must fail");
    };
    assert!(
        matches!(err, FetchError::Status { status: 401, .. }),
        "{err}"
    );
    let shown = format!("{err} {err:?} {request:?}");
    assert!(!shown.contains("secret"), "{shown}");

    request.headers[0].1 = "k-secret\r\nX-Injected: 1".into();
    let Err(err) = fetch(&request) else {
        panic!("a line break cannot go in a header");
    };
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("X-Api-Key") && !shown.contains("secret"),
        "{shown}"
    );
}

#[test]
fn transport_settings_are_checked_before_any_request() {
    let mut request = Request::new("http://127.0.0.1:9/x");
    request.transport.ca_file = Some("/nonexistent/ca.pem".into());
    let err = fetch(&request).err().expect("a missing CA file must fail");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    request.transport.ca_file = Some(empty);
    let err = fetch(&request)
        .err()
        .expect("a CA file without certificates must fail");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");

    request.transport.ca_file = None;
    request.transport.proxy = Some("http://user:pw-secret@[bad".into());
    let err = fetch(&request).err().expect("a bad proxy must fail");
    assert!(!err.to_string().contains("pw-secret"), "{err}");
}
