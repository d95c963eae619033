//! Downloading a feed over real HTTP and reading it as it arrives.

use std::io::BufReader;
use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use feeds::fetch::{FetchError, download};
use feeds::{Defaults, Format, Options};

/// Serves `/feed.txt` (a few thousand lines) and `/missing` (404) on a background runtime.
fn serve() -> SocketAddr {
    let body: String = (1..=3000)
        .map(|i| format!("198.51.{}.{}\n", 101 + i / 250, i % 250 + 1))
        .collect();
    let app = Router::new()
        .route("/feed.txt", get(move || async move { body }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }));
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
