//! TLS verification and proxies, against small local servers that play Vision One: an HTTPS
//! server with a certificate from a throw-away CA, and a recording HTTP proxy.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use trendmicro::vision_one::{VisionOneClient, VisionOneConfig};
use trendmicro::{Error, ProxySetting};
use url::Url;

use crate::common::{KEY, fast_policy};

/// Request lines a fake server received (`GET /path HTTP/1.1`, or the absolute form through a
/// proxy).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Answers one HTTP/1.1 request as Vision One would (health check, or an empty list page).
async fn answer(mut stream: impl AsyncRead + AsyncWrite + Unpin, seen: Seen) {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default().to_owned();
    let agent = format!("user-agent: iocsync/{}", env!("CARGO_PKG_VERSION"));
    assert!(text.to_lowercase().contains(&agent), "{text}");
    let body = if line.contains("/healthcheck/") {
        r#"{"status":"available"}"#
    } else {
        r#"{"items":[]}"#
    };
    seen.0.lock().unwrap().push(line);
    let credentials = text
        .lines()
        .find(|header| header.to_lowercase().starts_with("proxy-authorization:"));
    if let Some(header) = credentials {
        seen.0.lock().unwrap().push(header.to_lowercase());
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A plain HTTP server (used as the proxy) recording what it is asked.
async fn recording_server() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, log.clone()));
        }
    });
    (addr, seen)
}

/// An HTTPS server whose certificate (for 127.0.0.1) a fresh CA signed; returns its address and
/// the CA in PEM.
async fn tls_server() -> (SocketAddr, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), CertificateDer::from(ca.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    answer(tls, Seen::default()).await;
                }
            });
        }
    });
    (addr, ca.pem())
}

fn config(base: &str) -> VisionOneConfig {
    let mut config = VisionOneConfig::with_base_url(Url::parse(base).unwrap(), KEY.into());
    config.http = fast_policy();
    config.http.retry.max_attempts = 1;
    config
}

/// Log lines written while building a client.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn build_logged(config: &VisionOneConfig) -> (VisionOneClient, String) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let client =
        tracing::subscriber::with_default(subscriber, || VisionOneClient::new(config)).unwrap();
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (client, logged)
}

#[tokio::test]
async fn tls_is_verified_unless_turned_off_loudly() {
    let (addr, ca_pem) = tls_server().await;
    let base = format!("https://{addr}");

    let (verified, logged) = build_logged(&config(&base));
    assert!(!logged.contains("DISABLED"), "{logged}");
    let error = verified.check().await.unwrap_err();
    match &error {
        Error::Unreachable { reason, .. } => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}")
        }
        other => panic!("expected a certificate failure, got {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, &ca_pem).unwrap();
    let mut with_ca = config(&base);
    with_ca.http.ca_bundle = Some(bundle);
    VisionOneClient::new(&with_ca)
        .unwrap()
        .check()
        .await
        .unwrap();

    let mut unverified = config(&base);
    unverified.http.verify_tls = false;
    let (client, logged) = build_logged(&unverified);
    assert!(logged.contains("WARN"), "{logged}");
    assert!(
        logged.contains("TLS certificate verification is DISABLED"),
        "{logged}"
    );
    assert!(logged.contains("Vision One"), "{logged}");
    client.check().await.unwrap();
    // Every build warns again.
    let (_, again) = build_logged(&unverified);
    assert!(again.contains("DISABLED"), "{again}");
}

#[test]
fn a_ca_bundle_without_certificates_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("empty.pem");
    std::fs::write(&bundle, "not a certificate\n").unwrap();
    let mut config = config("https://127.0.0.1:9");
    config.http.ca_bundle = Some(bundle);
    let error = VisionOneClient::new(&config).unwrap_err();
    assert!(error.to_string().contains("`http.ca_bundle`"), "{error}");
}

#[tokio::test]
async fn an_explicit_proxy_carries_every_request() {
    let (proxy, seen) = recording_server().await;
    let mut config = config("http://vision-one.invalid");
    config.http.proxy = ProxySetting::Url(Url::parse(&format!("http://{proxy}")).unwrap());
    VisionOneClient::new(&config)
        .unwrap()
        .check()
        .await
        .unwrap();
    assert_eq!(
        seen.lines(),
        vec![
            "GET http://vision-one.invalid/v3.0/healthcheck/connectivity HTTP/1.1".to_owned(),
            "GET http://vision-one.invalid/v3.0/threatintel/suspiciousObjects?top=50 HTTP/1.1"
                .to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_proxy_password_is_a_reference_sent_only_to_the_proxy() {
    let (proxy, seen) = recording_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proxy-password");
    std::fs::write(&file, "s3cret-proxy-pw\n").unwrap();
    let mut config = config("http://vision-one.invalid");
    config.http.proxy = format!("http://iocsync@{proxy}").parse().unwrap();
    config.http.proxy_password = Some(format!("file:{}", file.display()));
    let client = VisionOneClient::new(&config).unwrap();
    client.check().await.unwrap();
    // base64("iocsync:s3cret-proxy-pw")
    let expected = "proxy-authorization: basic aw9jc3luyzpzm2nyzxqtchjvehktchc=";
    let lines = seen.lines();
    assert_eq!(
        lines.iter().filter(|line| *line == expected).count(),
        2,
        "{lines:?}"
    );
    for shown in [format!("{config:?}"), format!("{client:?}")] {
        assert!(!shown.contains("s3cret-proxy-pw"), "{shown}");
        assert!(
            !shown.contains("aW9jc3luYzpzM2NyZXQtcHJveHktcHc="),
            "{shown}"
        );
    }
    // A reference that does not resolve is named, and nothing is sent.
    config.http.proxy_password = Some("env:IOCSYNC_TEST_NO_SUCH_PROXY_PASSWORD".into());
    let error = VisionOneClient::new(&config).unwrap_err().to_string();
    assert!(
        error.contains("env:IOCSYNC_TEST_NO_SUCH_PROXY_PASSWORD"),
        "{error}"
    );
}

/// The environment's proxy is used by `system` and ignored by `none`. Environment variables are
/// process-wide, so this runs [`proxy_env_child`] in a child process with `HTTP_PROXY` set.
#[tokio::test]
async fn proxy_none_ignores_the_environment_and_system_follows_it() {
    let (proxy, seen) = recording_server().await;
    let proxy_url = format!("http://{proxy}");
    let child = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "transport::proxy_env_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("HTTP_PROXY", &proxy_url)
            .env("http_proxy", &proxy_url);
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(name);
        }
        command.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let lines = seen.lines();
    assert_eq!(
        lines.len(),
        2,
        "only the `system` client used the proxy: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|line| line.contains("http://vision-one.invalid/v3.0/"))
    );
}

#[tokio::test]
#[ignore = "run in a child process by proxy_none_ignores_the_environment_and_system_follows_it"]
async fn proxy_env_child() {
    let mut system = config("http://vision-one.invalid");
    system.http.proxy = ProxySetting::System;
    VisionOneClient::new(&system)
        .unwrap()
        .check()
        .await
        .unwrap();

    let mut none = config("http://vision-one.invalid");
    none.http.proxy = ProxySetting::None;
    none.http.connect_timeout_secs = 5;
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        VisionOneClient::new(&none).unwrap().check(),
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, Err(Error::Unreachable { .. })),
        "without the proxy the .invalid host cannot be reached: {outcome:?}"
    );
}
