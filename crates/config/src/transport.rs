//! How a target is reached, checked when the config file is read (so `iocsync config check`
//! reports it with its key path, and no command runs with it):
//!
//! - the URL keys (`base_url`, `remove_url`, `proxy`) are written literally. Secret references
//!   (`${env:…}`, `${file:…}`, `env:…`, `file:…`) are not expanded in them — a URL is shown in
//!   logs, errors and `iocsync check` — so one rule holds for every URL key: a reference there
//!   is refused, with where the secret goes instead (`api_key`, `headers`, `proxy_password`);
//! - no password in a URL (`https://user:pw@host/`), for the same reason; a proxy's password is
//!   `proxy_password = "env:NAME"` (or `file:PATH`), with the user in the proxy URL;
//! - plain `http://` for `base_url` and `remove_url` only to this machine (127.0.0.0/8, `::1`,
//!   `localhost`, as the built-in emulator and the tests use): to any other host the API key,
//!   or an http target's credential headers, would cross the network in clear text.
//!   `allow_plain_http = true` lifts this for one target.

use secrecy::SecretString;
use url::{Host, Url};

use crate::error::{ConfigError, invalid};
use crate::reference::{INLINE_SECRET, is_reference, non_empty_secret};
use crate::targets::Target;
use crate::targets::reach::Endpoint;

/// Why a URL key may not hold a secret reference.
const URL_REFERENCE: &str = "secret references (`${env:…}`, `${file:…}`, `env:`, `file:`) are \
     not expanded in URLs, and a URL is shown in logs and errors: write the URL itself and give \
     secrets in `api_key`, `headers` (http targets) or `proxy_password`";

/// Why a URL may not hold a password.
const URL_PASSWORD: &str = "a password in a URL is a secret written in the config file and shown \
     wherever the URL is: give credentials in `api_key`, or in `headers` for an http target, as \
     references";

/// The transport keys of one `[[targets]]` entry, as written.
pub(crate) struct TransportKeys<'a> {
    pub(crate) endpoint: &'a Endpoint<'a>,
    pub(crate) proxy: Option<&'a str>,
    pub(crate) proxy_password: Option<&'a str>,
    pub(crate) allow_plain_http: bool,
}

/// Checks the rules in the module note; errors name `path.key`. A URL that does not parse is
/// left to the checks that parse it (which name it the same way).
pub(crate) fn check(path: &str, keys: &TransportKeys<'_>, errors: &mut Vec<ConfigError>) {
    let url_keys = [
        ("base_url", keys.endpoint.base_url),
        ("remove_url", keys.endpoint.remove_url),
        ("proxy", keys.proxy),
    ];
    let mut referenced = Vec::new();
    for (key, text) in url_keys {
        if text.is_some_and(|text| text.contains("${") || is_reference(text)) {
            errors.push(invalid(format!("{path}.{key}"), URL_REFERENCE));
            referenced.push(key);
        }
    }
    let endpoints = [
        (
            "base_url",
            keys.endpoint
                .base_url
                .and_then(|text| parse(keys.endpoint.bare_host, text)),
        ),
        (
            "remove_url",
            keys.endpoint
                .remove_url
                .and_then(|text| Url::parse(text).ok()),
        ),
    ];
    for (key, url) in endpoints {
        let Some(url) = url.filter(|_| !referenced.contains(&key)) else {
            continue;
        };
        if url.password().is_some() {
            errors.push(invalid(format!("{path}.{key}"), URL_PASSWORD));
        } else if url.scheme() == "http" && !keys.allow_plain_http && !is_loopback(&url) {
            errors.push(invalid(
                format!("{path}.{key}"),
                cleartext(keys.endpoint.credentials),
            ));
        }
    }
    if let Err(error) = check_proxy_password(path, keys.proxy, keys.proxy_password) {
        errors.push(error);
    }
}

/// The URL requests go to: Deep Security's `base_url` may be a bare host (https is implied).
fn parse(bare_host: bool, text: &str) -> Option<Url> {
    if bare_host {
        trendmicro::deep_security::config::normalize_instance(text).ok()
    } else {
        Url::parse(text).ok()
    }
}

fn cleartext(what: &str) -> String {
    format!(
        "plain http:// to a non-loopback host sends {what} in clear text; use https:// or set \
         allow_plain_http = true"
    )
}

/// True for 127.0.0.0/8, `::1` (also as `::ffff:127.x.x.x`) and `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(addr)) => addr.is_loopback(),
        Some(Host::Ipv6(addr)) => {
            addr.is_loopback() || addr.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Some(Host::Domain(name)) => name.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `proxy_password` is a reference, for a proxy URL that names its user.
fn check_proxy_password(
    path: &str,
    proxy: Option<&str>,
    password: Option<&str>,
) -> Result<(), ConfigError> {
    let Some(password) = password else {
        return Ok(());
    };
    let key = format!("{path}.proxy_password");
    if !is_reference(password) {
        return Err(invalid(key, INLINE_SECRET));
    }
    let names_user = proxy
        .and_then(|text| Url::parse(text).ok())
        .is_some_and(|url| !url.username().is_empty());
    if !names_user {
        return Err(invalid(
            key,
            "needs a proxy URL that names its user: proxy = \"http://USER@proxy.example:3128\"",
        ));
    }
    Ok(())
}

impl Target {
    /// The proxy password the config names (`None` when there is none), read from the
    /// environment variable or file; refused when empty. For `iocsync config check`: clients
    /// read it themselves when they are built.
    pub fn resolve_proxy_password(&self) -> Result<Option<SecretString>, ConfigError> {
        self.http
            .proxy_password
            .as_deref()
            .map(|reference| {
                non_empty_secret(format!("targets.{}.proxy_password", self.name), reference)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, ConfigError};

    fn target(keys: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&format!(
            "[library]\npath = \"l.db\"\n[[targets]]\nname = \"ok\"\nproduct = \"vision-one\"\n\
             base_url = \"http://127.0.0.1:1\"\napi_key = \"env:K\"\n[[targets]]\n{keys}\n"
        ))
    }

    fn error(keys: &str) -> String {
        target(keys).unwrap_err().to_string()
    }

    const V1: &str = "name = \"v1\"\nproduct = \"vision-one\"\napi_key = \"env:K\"";
    const DS: &str = "name = \"ds\"\nproduct = \"deep-security\"\napi_key = \"env:K\"";
    const HOOK: &str = "name = \"hook\"\nproduct = \"http\"\npayload = '{}'";

    #[test]
    fn plain_http_goes_only_to_loopback() {
        assert_eq!(
            error(&format!("{V1}\nbase_url = \"http://tm.example.com\"")),
            "targets[1].base_url: plain http:// to a non-loopback host sends the API key in \
             clear text; use https:// or set allow_plain_http = true"
        );
        for base in [
            "http://127.0.0.1:9",
            "http://127.8.9.10",
            "http://[::1]:9/gw",
            "http://localhost:9",
            "http://LOCALHOST./",
            "https://tm.example.com",
        ] {
            assert!(
                target(&format!("{V1}\nbase_url = \"{base}\"")).is_ok(),
                "{base}"
            );
        }
        let ds = error(&format!("{DS}\nbase_url = \"http://dsm.corp:4119\""));
        assert!(ds.starts_with("targets[1].base_url: plain http://"), "{ds}");
        // Deep Security's bare host means https.
        assert!(target(&format!("{DS}\nbase_url = \"dsm.corp:4119\"")).is_ok());
        let hook = |urls: &str| format!("{HOOK}\n{urls}\nremove_payload = '{{}}'");
        let headers = error(&hook("base_url = \"http://10.1.2.3/add\""));
        assert!(headers.contains("the target's headers"), "{headers}");
        let remove = error(&hook(
            "base_url = \"https://soar.example/add\"\nremove_url = \"http://soar.example/del\"",
        ));
        assert!(
            remove.starts_with("targets[1].remove_url: plain http://"),
            "{remove}"
        );
    }

    #[test]
    fn allow_plain_http_lifts_the_rule_for_one_target() {
        let config = target(&format!(
            "{V1}\nbase_url = \"http://tm-gateway.corp\"\nallow_plain_http = true"
        ))
        .unwrap();
        assert_eq!(config.targets.len(), 2);
        assert!(
            target(&format!(
                "{HOOK}\nbase_url = \"http://soar.corp/add\"\nremove_url = \"http://soar.corp/del\"\n\
                 remove_payload = '{{}}'\nallow_plain_http = true"
            ))
            .is_ok()
        );
        let typed = error(&format!("{V1}\nregion = \"us\"\nallow_plain_http = 1"));
        assert!(typed.contains("allow_plain_http"), "{typed}");
    }

    #[test]
    fn url_keys_never_hold_secret_references_or_passwords() {
        for (keys, key) in [
            (
                format!("{V1}\nbase_url = \"https://${{env:HOST}}/\""),
                "base_url",
            ),
            (
                format!("{V1}\nbase_url = \"https://tm.example/?k=${{file:/k}}\""),
                "base_url",
            ),
            (format!("{V1}\nbase_url = \"env:TM_URL\""), "base_url"),
            (
                format!("{V1}\nregion = \"us\"\nproxy = \"http://u:${{env:PW}}@proxy:3128\""),
                "proxy",
            ),
            (
                format!(
                    "{HOOK}\nbase_url = \"https://hooks.example/a\"\n\
                     remove_url = \"https://hooks.example/${{env:TOKEN}}\"\nremove_payload = '{{}}'"
                ),
                "remove_url",
            ),
        ] {
            let refused = error(&keys);
            assert!(
                refused.starts_with(&format!("targets[1].{key}: secret references")),
                "{refused}"
            );
            assert!(refused.contains("proxy_password"), "{refused}");
        }
        let password = error(&format!(
            "{V1}\nbase_url = \"https://admin:hunter2@tm.example/\""
        ));
        assert!(
            password.starts_with("targets[1].base_url: a password in a URL"),
            "{password}"
        );
        assert!(!password.contains("hunter2"), "{password}");
        let proxy = error(&format!(
            "{V1}\nregion = \"us\"\nproxy = \"http://u:hunter2@proxy:3128\""
        ));
        assert!(proxy.starts_with("targets[1].proxy:"), "{proxy}");
        assert!(proxy.contains("proxy_password"), "{proxy}");
        assert!(!proxy.contains("hunter2"), "{proxy}");
    }

    #[test]
    fn a_proxy_password_is_a_reference_for_a_named_user() {
        let with = |proxy: &str, password: &str| {
            target(&format!(
                "{V1}\nregion = \"us\"\nproxy = \"{proxy}\"\nproxy_password = \"{password}\""
            ))
        };
        let config = with("http://iocsync@proxy.corp:3128", "env:PROXY_PW").unwrap();
        let v1 = config.target("v1").unwrap();
        assert!(!format!("{v1:?}").contains("hunter2"));
        let error = with("http://iocsync@proxy.corp:3128", "hunter2")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("targets[1].proxy_password: secrets are never written"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
        for proxy in ["http://proxy.corp:3128", "system"] {
            let error = with(proxy, "env:PROXY_PW").unwrap_err().to_string();
            assert!(error.contains("names its user"), "{error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let config = with(
            "http://iocsync@proxy.corp:3128",
            &format!("file:{}", file.display()),
        )
        .unwrap();
        let password = config
            .target("v1")
            .unwrap()
            .resolve_proxy_password()
            .unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&password.unwrap()),
            "s3cret"
        );
        // The target (and the client settings made from it) carry the reference only.
        let shown = format!("{:?}", config.target("v1").unwrap());
        assert!(shown.contains("proxy_password: Some(\"file:"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
