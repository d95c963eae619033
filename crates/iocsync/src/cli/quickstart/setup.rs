//! The quickstart's working directory: its secret files and its config, derived from the one
//! example config (`iocsync init` writes the same text) by pointing every Trend Micro target at
//! the local emulator. Everything is written inside the directory; every URL is loopback.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

/// The files of a quickstart directory.
pub struct Paths {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub library: PathBuf,
    pub key: PathBuf,
    /// The emulator's Apex Central application: its ID, and the key its tokens are signed with.
    pub apex_application: PathBuf,
    pub apex_key: PathBuf,
    pub hook_secret: PathBuf,
    pub emulator_state: PathBuf,
}

impl Paths {
    /// Creates the directory if needed; every path is absolute, so `file:` references in the
    /// config work from any working directory.
    pub fn create(dir: &Path) -> anyhow::Result<Paths> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        Ok(Paths {
            config: dir.join("iocsync.toml"),
            library: dir.join("iocsync.db"),
            key: dir.join("emulator.key"),
            apex_application: dir.join("apex-application.id"),
            apex_key: dir.join("apex.key"),
            hook_secret: dir.join("hook.secret"),
            emulator_state: dir.join("emulator-state.json"),
            dir,
        })
    }
}

/// Removes the directory's library (with SQLite's WAL files), if there is one.
pub fn remove_library(paths: &Paths) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = paths.library.clone().into_os_string();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot remove {}", PathBuf::from(name).display()));
            }
        }
    }
    Ok(())
}

/// The key file's content, if an earlier quickstart wrote one.
pub fn read_secret(path: &Path) -> anyhow::Result<Option<SecretString>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => bail!("{} is empty", path.display()),
        Ok(text) => Ok(Some(SecretString::from(text.trim().to_owned()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes a secret to a file only its owner can read.
pub fn write_secret(path: &Path, secret: &SecretString) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{}", secret.expose_secret())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The webhook secret: a hash of the emulator's random key, so one random source serves both
/// and a second quickstart finds the same pair.
pub fn hook_secret(key: &SecretString) -> SecretString {
    let mut hasher = Sha256::new();
    hasher.update(b"iocsync quickstart webhook secret:");
    hasher.update(key.expose_secret().as_bytes());
    let digest = hasher.finalize();
    SecretString::from(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

/// Where the emulator answers.
pub struct Endpoints {
    /// Vision One and XDR v2.
    pub base_url: String,
    /// Deep Security.
    pub deep_security_url: String,
    /// The Apex Central application ID (Apex Central answers on `base_url` too).
    pub apex_application: String,
    /// The loopback server publishing the bundled sample feeds (`{feeds_url}/blocklist.txt`).
    pub feeds_url: String,
}

/// The quickstart config: the example with its Trend Micro targets on the emulator, their
/// keys and the triggers' secrets in the directory's files, no proxy, and the `http` targets
/// (with the workflows and triggers using them) left out, since they need a real receiver.
/// Returns the text and the names of the targets left out.
pub fn derive_config(
    example: &str,
    endpoints: &Endpoints,
    paths: &Paths,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut doc: Table = toml::from_str(example).context("the example config is not TOML")?;
    let key_ref = format!("file:{}", paths.key.display());
    let hook_ref = format!("file:{}", paths.hook_secret.display());
    let mut left_out = Vec::new();
    if let Some(Value::Table(library)) = doc.get_mut("library") {
        let path = paths.library.display().to_string();
        library.insert("path".into(), Value::String(path));
    }
    if let Some(Value::Array(targets)) = doc.get_mut("targets") {
        targets.retain_mut(|target| {
            let Some(table) = target.as_table_mut() else {
                return false;
            };
            let mut key = key_ref.clone();
            let url = match table.get("product").and_then(Value::as_str) {
                Some("vision-one" | "xdr-v2") => &endpoints.base_url,
                Some("deep-security") => &endpoints.deep_security_url,
                Some("apex-central") => {
                    let id = Value::String(endpoints.apex_application.clone());
                    table.insert("application_id".into(), id);
                    key = format!("file:{}", paths.apex_key.display());
                    &endpoints.base_url
                }
                _ => {
                    left_out.push(name_of(table));
                    return false;
                }
            };
            table.remove("region");
            table.remove("ca_bundle");
            table.insert("base_url".into(), Value::String(url.clone()));
            table.insert("api_key".into(), Value::String(key));
            table.insert("proxy".into(), Value::String("none".into()));
            true
        });
    }
    for list in ["workflows", "triggers"] {
        if let Some(Value::Array(entries)) = doc.get_mut(list) {
            entries.retain(|entry| {
                let target = entry.get("target").and_then(Value::as_str);
                !target.is_some_and(|t| left_out.iter().any(|gone| gone == t))
            });
        }
    }
    // The example's feeds are on the internet: the quickstart pulls the bundled samples, from
    // loopback, through [[feeds]] entries of its own.
    doc.insert(
        "feeds".into(),
        Value::Array(sample_feeds(&endpoints.feeds_url)),
    );
    if let Some(Value::Array(triggers)) = doc.get_mut("triggers") {
        for trigger in triggers.iter_mut().filter_map(Value::as_table_mut) {
            trigger.remove("token");
            trigger.insert("secret".into(), Value::String(hook_ref.clone()));
        }
    }
    let body = toml::to_string(&doc).context("cannot write the quickstart config")?;
    let header = "# Written by `iocsync quickstart` from the example config (`iocsync init` writes it\n\
                  # with its comments), every Trend Micro target pointed at the local emulator.\n\
                  # Rewritten on every quickstart, since the emulator's port changes.\n\n";
    Ok((format!("{header}{body}"), left_out))
}

/// One `[[feeds]]` entry per bundled sample, published at `feeds_url`.
fn sample_feeds(feeds_url: &str) -> Vec<Value> {
    super::samples::SAMPLES
        .iter()
        .map(|sample| {
            let mut feed = Table::new();
            feed.insert("name".into(), Value::String(sample.source.into()));
            feed.insert(
                "url".into(),
                Value::String(format!("{feeds_url}/{}", sample.name)),
            );
            if let Some(score) = sample.score {
                feed.insert("score".into(), Value::Integer(i64::from(score)));
            }
            feed.insert("class".into(), Value::String(sample.class.to_string()));
            Value::Table(feed)
        })
        .collect()
}

fn name_of(table: &Table) -> String {
    table
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_pointed_at_the_emulator_only() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::create(dir.path()).unwrap();
        let endpoints = Endpoints {
            base_url: "http://127.0.0.1:9".into(),
            deep_security_url: "http://127.0.0.1:9/api".into(),
            apex_application: "APP".into(),
            feeds_url: "http://127.0.0.1:8/feeds".into(),
        };
        let (text, left_out) =
            derive_config(crate::cli::init::EXAMPLE_CONFIG, &endpoints, &paths).unwrap();
        let config = config::Config::from_toml(&text).unwrap();
        assert!(
            !left_out.is_empty(),
            "the http target needs a real receiver"
        );
        assert!(!config.targets.is_empty());
        assert_eq!(config.feeds.len(), super::super::samples::SAMPLES.len());
        for feed in &config.feeds {
            let config::Location::Url(url) = &feed.location else {
                panic!("{} is not pulled from a URL", feed.name);
            };
            assert!(
                url.as_str().starts_with("http://127.0.0.1:8/feeds/"),
                "{url}"
            );
        }
        for target in &config.targets {
            assert!(!left_out.contains(&target.name));
        }
        let doc: Table = toml::from_str(&text).unwrap();
        for target in doc["targets"].as_array().unwrap() {
            let url = target["base_url"].as_str().unwrap();
            assert!(url.starts_with("http://127.0.0.1:9"), "{url}");
            assert_eq!(target["proxy"].as_str(), Some("none"));
        }
        assert!(text.contains(&format!("file:{}", paths.hook_secret.display())));
        assert!(
            !text.contains("env:"),
            "every secret is a file in the directory"
        );
    }

    #[test]
    fn the_hook_secret_follows_the_key() {
        let a = hook_secret(&SecretString::from("a"));
        let b = hook_secret(&SecretString::from("b"));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 64);
    }
}
