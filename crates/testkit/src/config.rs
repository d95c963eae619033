//! [`ConfigBuilder`]: an `iocsync.toml` built in code.

use std::path::{Path, PathBuf};

use toml::Value;

/// An `iocsync.toml` built in code, section by section, in the order the calls come.
///
/// Each section call (`vision_one`, `workflow`, `trigger`, ...) starts a section with what
/// tests almost always want; [`set`](Self::set), [`param`](Self::param),
/// [`header`](Self::header) and [`field`](Self::field) change the section last started;
/// [`raw`](Self::raw) appends TOML as written.
///
/// ```ignore
/// let text = ConfigBuilder::new("library.db")
///     .vision_one("v1", &emulator.base_url(), &key)
///     .set("batch_size", 10)
///     .collection("all")
///     .workflow("block", "v1", "blocklist")
///     .schedule("1h")
///     .toml();
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    sections: Vec<Section>,
}

#[derive(Debug, Clone)]
enum Section {
    /// `[header]` or `[[header]]` and its keys, in the order they were set.
    Table {
        header: String,
        entries: Vec<(String, Value)>,
    },
    Raw(String),
}

impl ConfigBuilder {
    /// A config whose `[library]` is at `path` (relative paths are taken from the config's
    /// folder).
    pub fn new(library: impl AsRef<Path>) -> ConfigBuilder {
        let path = library.as_ref().display().to_string();
        ConfigBuilder {
            sections: vec![Section::Table {
                header: "[library]".to_owned(),
                entries: vec![("path".to_owned(), Value::from(path))],
            }],
        }
    }

    /// A config whose `[library]` is the PostgreSQL database at `url` (see [`crate::postgres`]).
    pub fn postgres(url: &str) -> ConfigBuilder {
        ConfigBuilder {
            sections: vec![Section::Table {
                header: "[library]".to_owned(),
                entries: vec![("url".to_owned(), Value::from(url))],
            }],
        }
    }

    /// Sections with no `[library]`, to append to a config made elsewhere (say, the engine
    /// tests' harness, which takes extra TOML).
    pub fn fragment() -> ConfigBuilder {
        ConfigBuilder {
            sections: Vec::new(),
        }
    }

    /// Starts a `[[name]]` section with `entries`.
    fn section(mut self, name: &str, entries: Vec<(&str, Value)>) -> ConfigBuilder {
        self.sections.push(Section::Table {
            header: format!("[[{name}]]"),
            entries: entries
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        });
        self
    }

    /// A `[[targets]]` entry `name` of `product` (`vision-one`, `deep-security`, `xdr-v2`,
    /// `http`) with `proxy = "none"`: the tests' targets are on loopback and never go through
    /// a proxy the environment names. Set `base_url`, `region`, `api_key`, ... with
    /// [`set`](Self::set).
    pub fn target(self, name: &str, product: &str) -> ConfigBuilder {
        self.section(
            "targets",
            vec![
                ("name", name.into()),
                ("product", product.into()),
                ("proxy", "none".into()),
            ],
        )
    }

    /// A product's target at `base_url` with `api_key` (a secret reference: `file:...`,
    /// `env:...`).
    fn keyed(self, name: &str, product: &str, base_url: &str, api_key: &str) -> ConfigBuilder {
        self.target(name, product)
            .set("base_url", base_url)
            .set("api_key", api_key)
    }

    /// A `vision-one` target at `base_url` (say, the emulator's) with `api_key`.
    pub fn vision_one(self, name: &str, base_url: &str, api_key: &str) -> ConfigBuilder {
        self.keyed(name, "vision-one", base_url, api_key)
    }

    /// A `deep-security` target at `base_url` (say, the emulator's `deep_security_url()`) with
    /// `api_key`, sent as `api-secret-key` (the emulator's Deep Security header).
    pub fn deep_security(self, name: &str, base_url: &str, api_key: &str) -> ConfigBuilder {
        self.keyed(name, "deep-security", base_url, api_key)
            .set("auth_header", "api-secret-key")
    }

    /// An `xdr-v2` target at `base_url` (the emulator's Vision One URL) with `api_key`.
    pub fn xdr_v2(self, name: &str, base_url: &str, api_key: &str) -> ConfigBuilder {
        self.keyed(name, "xdr-v2", base_url, api_key)
    }

    /// An `http` target posting `payload` (a JSON template: `$value`, `$kind`, ...) to
    /// `base_url`. Credentials go in [`header`](Self::header)s as `${file:...}` references.
    pub fn http(self, name: &str, base_url: &str, payload: &str) -> ConfigBuilder {
        self.target(name, "http")
            .set("base_url", base_url)
            .set("payload", payload)
    }

    /// A `[[collections]]` entry `name` (everything in the library, unless set otherwise).
    pub fn collection(self, name: &str) -> ConfigBuilder {
        self.section("collections", vec![("name", name.into())])
    }

    /// A `[[workflows]]` entry `name`: `action` (`blocklist`, `exceptions`, `ip-list`,
    /// `xdr-block`, `http`) on `target`, for collection `all` (set `collection` to change it).
    pub fn workflow(self, name: &str, target: &str, action: &str) -> ConfigBuilder {
        self.section(
            "workflows",
            vec![
                ("name", name.into()),
                ("collection", "all".into()),
                ("target", target.into()),
                ("action", action.into()),
            ],
        )
    }

    /// A `[[triggers]]` entry `name`: `action` on `target`. Set its `secret` or `token`, its
    /// `values` and [`field`](Self::field)s.
    pub fn trigger(self, name: &str, target: &str, action: &str) -> ConfigBuilder {
        self.section(
            "triggers",
            vec![
                ("name", name.into()),
                ("target", target.into()),
                ("action", action.into()),
            ],
        )
    }

    /// A `[[feeds]]` entry `name` pulled from `url`.
    pub fn feed(self, name: &str, url: &str) -> ConfigBuilder {
        self.section("feeds", vec![("name", name.into()), ("url", url.into())])
    }

    /// The last section's `schedule`.
    pub fn schedule(self, schedule: &str) -> ConfigBuilder {
        self.set("schedule", schedule)
    }

    /// Sets `key` of the last section (in place if it is set already).
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> ConfigBuilder {
        let value = value.into();
        let entries = self.last();
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = value,
            None => entries.push((key.to_owned(), value)),
        }
        self
    }

    /// Removes `key` from the last section (say, the `proxy` a target gets by default).
    pub fn unset(mut self, key: &str) -> ConfigBuilder {
        self.last().retain(|(k, _)| k != key);
        self
    }

    /// Sets `name` in the last section's inline table `table` (made if missing).
    pub fn entry(mut self, table: &str, name: &str, value: impl Into<Value>) -> ConfigBuilder {
        let entries = self.last();
        let at = match entries.iter().position(|(k, _)| k == table) {
            Some(at) => at,
            None => {
                entries.push((table.to_owned(), Value::Table(toml::Table::new())));
                entries.len() - 1
            }
        };
        let Value::Table(inline) = &mut entries[at].1 else {
            panic!("`{table}` is set and is no table");
        };
        inline.insert(name.to_owned(), value.into());
        self
    }

    /// One of the last workflow's `parameters`.
    pub fn param(self, name: &str, value: impl Into<Value>) -> ConfigBuilder {
        self.entry("parameters", name, value)
    }

    /// One of the last `http` target's `headers`.
    pub fn header(self, name: &str, value: &str) -> ConfigBuilder {
        self.entry("headers", name, value)
    }

    /// One of the last trigger's `fields` (`$Name` in its `values` is the JSON at `path`).
    pub fn field(self, name: &str, path: &str) -> ConfigBuilder {
        self.entry("fields", name, path)
    }

    /// Appends `text` as written (sections the builder has no call for, like `[guard]`).
    pub fn raw(mut self, text: &str) -> ConfigBuilder {
        self.sections.push(Section::Raw(text.to_owned()));
        self
    }

    fn last(&mut self) -> &mut Vec<(String, Value)> {
        let last = self.sections.iter_mut().rev().find_map(|s| match s {
            Section::Table { entries, .. } => Some(entries),
            Section::Raw(_) => None,
        });
        last.expect("a section to change: start one first")
    }

    /// The config file's text.
    pub fn toml(&self) -> String {
        let mut text = String::new();
        for section in &self.sections {
            match section {
                Section::Table { header, entries } => {
                    text.push_str(header);
                    text.push('\n');
                    for (key, value) in entries {
                        text.push_str(&format!("{} = {value}\n", bare_or_quoted(key)));
                    }
                }
                Section::Raw(raw) => text.push_str(raw),
            }
            text.push('\n');
        }
        text
    }

    /// Writes the config to `dir/iocsync.toml` (where [`Test`](crate::Test) and the tests'
    /// commands look for it) and returns that path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("iocsync.toml");
        std::fs::write(&path, self.toml()).expect("write iocsync.toml");
        path
    }
}

fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        Value::from(key).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_come_in_order_with_their_keys() {
        let text = ConfigBuilder::new("library.db")
            .vision_one("v1", "http://127.0.0.1:1", "file:key")
            .set("batch_size", 10)
            .http("hook", "http://127.0.0.1:1/hook", r#"{"v": "$value"}"#)
            .header("Authorization", "Bearer ${file:key}")
            .collection("all")
            .workflow("block", "v1", "blocklist")
            .schedule("1h")
            .param("list_name", "L")
            .raw("[guard]\nallow_cidrs = []\n")
            .toml();
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["library"]["path"].as_str(), Some("library.db"));
        let targets = parsed["targets"].as_array().unwrap();
        assert_eq!(targets[0]["product"].as_str(), Some("vision-one"));
        assert_eq!(targets[0]["proxy"].as_str(), Some("none"));
        assert_eq!(targets[0]["batch_size"].as_integer(), Some(10));
        assert_eq!(targets[1]["payload"].as_str(), Some(r#"{"v": "$value"}"#));
        assert_eq!(
            targets[1]["headers"]["Authorization"].as_str(),
            Some("Bearer ${file:key}")
        );
        let workflow = &parsed["workflows"][0];
        assert_eq!(workflow["collection"].as_str(), Some("all"));
        assert_eq!(workflow["schedule"].as_str(), Some("1h"));
        assert_eq!(workflow["parameters"]["list_name"].as_str(), Some("L"));
        assert!(
            parsed["guard"]["allow_cidrs"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn set_replaces_and_unset_removes() {
        let text = ConfigBuilder::new("l.db")
            .target("v1", "vision-one")
            .set("region", "us")
            .set("region", "eu")
            .unset("proxy")
            .toml();
        let parsed: toml::Table = text.parse().unwrap();
        let target = parsed["targets"][0].as_table().unwrap();
        assert_eq!(target["region"].as_str(), Some("eu"));
        assert!(!target.contains_key("proxy"));
    }
}
