//! Connecting to PostgreSQL: the connection string (a `postgres://` URL or libpq key-value
//! pairs), the `sslmode` and CA file iocsync understands on top of what tokio-postgres does,
//! a password given apart from the string, TLS through rustls on the tree's one crypto
//! provider (aws-lc-rs), and the redaction that keeps passwords out of every message.
//!
//! `sslmode` follows libpq: `disable` (no TLS), `prefer` (the default: TLS when the server
//! offers it, the certificate not checked), `require` (TLS or nothing, the certificate not
//! checked unless a CA file is given, as libpq does), `verify-ca` (the chain checked against
//! the CA file, or the system's roots), `verify-full` (the chain and the host name). Unix
//! socket connections never use TLS, like libpq.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::{Host, SslMode as PgSslMode};
use postgres::{Client, Config, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// How much TLS a connection insists on, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" | "allow" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Where and how to connect to a PostgreSQL library.
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// `postgres://user@host:port/db?sslmode=...` or `host=... dbname=...`. It may carry
    /// `sslmode` and `sslrootcert` like libpq's; the fields below override them.
    pub url: String,
    /// The password, when it is not in the URL (from a secret file or the environment).
    pub password: Option<SecretString>,
    pub ssl_mode: Option<SslMode>,
    /// PEM file of the CA certificates that sign the server's certificate.
    pub ca_file: Option<PathBuf>,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            ..PostgresOptions::default()
        }
    }
}

/// Everything needed to open another connection to the same library.
#[derive(Clone)]
pub(super) struct Connector {
    config: Config,
    tls: Option<MakeRustlsConnect>,
    pub(super) url_redacted: String,
}

impl Connector {
    pub(super) fn new(options: &PostgresOptions) -> Result<Connector> {
        let url_redacted = redact(&options.url);
        let settings = |reason: String| Error::Settings {
            url_redacted: url_redacted.clone(),
            reason,
        };
        let (rest, mode, root_cert) = take_tls_params(&options.url);
        let mode = match (options.ssl_mode, mode) {
            (Some(mode), _) => mode,
            (None, Some(text)) => SslMode::parse(&text)
                .ok_or_else(|| settings(format!("unknown sslmode `{text}`")))?,
            (None, None) => SslMode::Prefer,
        };
        let ca_file = options.ca_file.clone().or(root_cert.map(PathBuf::from));
        let mut config: Config = rest.parse().map_err(|e: postgres::Error| {
            // tokio-postgres's parse errors name the option, never its value.
            settings(format!("cannot parse the connection string: {e}"))
        })?;
        if let Some(password) = &options.password {
            config.password(password.expose_secret());
        }
        if config.get_application_name().is_none() {
            config.application_name("iocsync");
        }
        // iocsync's statements are short, and those of a merge are costed high on arrays of
        // unknown length: PostgreSQL's JIT compiled each merge statement for about 180 ms
        // (measured on a chunk of 10,000 sightings), longer than it ran. Given first, so an
        // `options` in the URL still decides.
        let options = match config.get_options() {
            Some(given) => format!("-c jit=off {given}"),
            None => "-c jit=off".to_owned(),
        };
        config.options(&options);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(30));
        }
        let unix_only = !config.get_hosts().is_empty()
            && config
                .get_hosts()
                .iter()
                .all(|h| !matches!(h, Host::Tcp(_)));
        let tls = if mode == SslMode::Disable || unix_only {
            config.ssl_mode(PgSslMode::Disable);
            None
        } else {
            config.ssl_mode(if mode == SslMode::Prefer {
                PgSslMode::Prefer
            } else {
                PgSslMode::Require
            });
            Some(MakeRustlsConnect::new(
                tls_config(mode, ca_file.as_deref()).map_err(settings)?,
            ))
        };
        Ok(Connector {
            config,
            tls,
            url_redacted,
        })
    }

    pub(super) fn connect(&self) -> Result<Client> {
        let connected = match &self.tls {
            None => self.config.connect(NoTls),
            Some(tls) => self.config.connect(tls.clone()),
        };
        connected.map_err(|source| Error::Connect {
            url_redacted: self.url_redacted.clone(),
            source,
        })
    }
}

fn tls_config(
    mode: SslMode,
    ca_file: Option<&Path>,
) -> std::result::Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    // libpq: `require` with a root certificate file checks the chain, as `verify-ca`.
    let mode = match (mode, ca_file) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (mode, _) => mode,
    };
    let config = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
        SslMode::VerifyCa => {
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots(ca_file)?), provider)
                    .build()
                    .map_err(|e| format!("TLS: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
                .with_no_client_auth()
        }
        SslMode::VerifyFull => builder
            .with_root_certificates(roots(ca_file)?)
            .with_no_client_auth(),
    };
    Ok(config)
}

/// The CA file's certificates, or the system's roots without one.
fn roots(ca_file: Option<&Path>) -> std::result::Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
                store
                    .add(cert)
                    .map_err(|e| format!("a certificate of {} is unusable: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!(
                    "the CA file {} holds no certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err("no system CA certificates found: give a CA file".into());
            }
        }
    }
    Ok(store)
}

/// `prefer` and `require`: encrypted, the certificate taken as it comes (libpq's behaviour),
/// the handshake signatures still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain checked, the name not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// One `key=value` of a key-value connection string, as written (quotes kept).
struct Pair<'a> {
    key: &'a str,
    /// The whole `key = value` text.
    text: &'a str,
    value: String,
}

/// Splits a key-value connection string into its pairs; values may be single-quoted with
/// `\'` and `\\` escapes, as libpq's.
fn pairs(s: &str) -> Vec<Pair<'_>> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = Vec::new();
        if i < bytes.len() && bytes[i] == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                value.push(bytes[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                value.push(bytes[i]);
                i += 1;
            }
        }
        let end = i.min(bytes.len());
        out.push(Pair {
            key,
            text: &s[start..end],
            value: String::from_utf8_lossy(&value).into_owned(),
        });
    }
    out
}

fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// The connection string without `sslmode` and `sslrootcert` (tokio-postgres knows neither
/// `verify-*` nor root certificate files), and their values.
fn take_tls_params(s: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    if is_url(s) {
        let Some((main, query)) = s.split_once('?') else {
            return (s.to_owned(), None, None);
        };
        let mut kept = Vec::new();
        for param in query.split('&') {
            match param.split_once('=') {
                Some(("sslmode", v)) => mode = Some(percent_decode(v)),
                Some(("sslrootcert", v)) => root = Some(percent_decode(v)),
                _ => kept.push(param),
            }
        }
        let rest = if kept.is_empty() {
            main.to_owned()
        } else {
            format!("{main}?{}", kept.join("&"))
        };
        return (rest, mode, root);
    }
    let mut kept = Vec::new();
    for pair in pairs(s) {
        match pair.key {
            "sslmode" => mode = Some(pair.value),
            "sslrootcert" => root = Some(pair.value),
            _ => kept.push(pair.text),
        }
    }
    (kept.join(" "), mode, root)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connection string with any password replaced by `***`, for messages and logs.
pub fn redact(s: &str) -> String {
    if is_url(s) {
        let (scheme, rest) = s.split_once("://").unwrap_or(("postgres", s));
        let (main, query) = match rest.split_once('?') {
            Some((main, query)) => (main, Some(query)),
            None => (rest, None),
        };
        // The userinfo ends at the last `@` before the path.
        let authority_end = main.find('/').unwrap_or(main.len());
        let (authority, path) = main.split_at(authority_end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{hosts}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let mut out = format!("{scheme}://{authority}{path}");
        if let Some(query) = query {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => p.to_owned(),
                })
                .collect();
            out.push('?');
            out.push_str(&params.join("&"));
        }
        return out;
    }
    pairs(s)
        .iter()
        .map(|p| {
            if p.key == "password" {
                "password=***".to_owned()
            } else {
                p.text.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_either_form() {
        assert_eq!(
            redact("postgres://ioc:s3cr%40t@db.example:5432/lib?sslmode=require&password=x"),
            "postgres://ioc:***@db.example:5432/lib?sslmode=require&password=***"
        );
        assert_eq!(redact("postgresql://ioc@db/lib"), "postgresql://ioc@db/lib");
        assert_eq!(
            redact("host=db password='a b\\' c' user=ioc"),
            "host=db password=*** user=ioc"
        );
        assert_eq!(redact("host=db password = hunter2"), "host=db password=***");
    }

    #[test]
    fn tls_params_are_taken_out() {
        let (rest, mode, root) =
            take_tls_params("postgres://h/db?sslmode=verify-full&sslrootcert=%2Fca.pem&x=1");
        assert_eq!(
            (rest.as_str(), mode.as_deref(), root.as_deref()),
            ("postgres://h/db?x=1", Some("verify-full"), Some("/ca.pem"))
        );
        let (rest, mode, root) = take_tls_params("host=h sslmode=verify-ca sslrootcert='/a b'");
        assert_eq!(
            (rest.as_str(), mode.as_deref(), root.as_deref()),
            ("host=h", Some("verify-ca"), Some("/a b"))
        );
    }

    #[test]
    fn settings_are_checked_before_connecting() {
        let bad = Connector::new(&PostgresOptions::new(
            "postgres://u:hunter2@h/db?sslmode=sometimes",
        ))
        .err()
        .unwrap();
        let text = bad.to_string();
        assert!(text.contains("unknown sslmode"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let missing = Connector::new(&PostgresOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ssl_mode: Some(SslMode::VerifyFull),
            ..PostgresOptions::new("host=db.example password=hunter2")
        })
        .err()
        .unwrap()
        .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        assert!(!missing.contains("hunter2"), "{missing}");
        // Every mode builds a TLS setup on the tree's provider.
        for mode in [SslMode::Prefer, SslMode::Require] {
            assert!(tls_config(mode, None).is_ok());
        }
    }
}
