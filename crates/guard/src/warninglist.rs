//! MISP warninglists (<https://github.com/MISP/misp-warninglists>): JSON files with a `name`, a
//! `type` and a `list`, optionally restricted to some MISP attribute types. Loaded from a file
//! or from every `*.json` file under a directory (the repository keeps `lists/<name>/list.json`).

use std::fs;
use std::path::{Path, PathBuf};

use indicator::Kind;
use serde::Deserialize;

use crate::error::GuardError;
use crate::rules::KindMask;

/// How a warninglist's entries are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ListType {
    /// The value (or a URL's host) equals an entry.
    String,
    /// An entry occurs anywhere in the value.
    Substring,
    /// The host is an entry or a subdomain of one.
    Hostname,
    /// The address or network lies in an entry (or, for a network, holds one).
    Cidr,
    /// PCRE patterns; not applied (see `Warninglist::ignored`).
    Regex,
}

impl ListType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ListType::String => "string",
            ListType::Substring => "substring",
            ListType::Hostname => "hostname",
            ListType::Cidr => "cidr",
            ListType::Regex => "regex",
        }
    }
}

/// One warninglist file as MISP writes it. Unknown fields (`description`, `version`, ...) are
/// ignored, as MISP adds fields over time.
#[derive(Debug, Deserialize)]
struct File {
    name: String,
    #[serde(rename = "type")]
    list_type: ListType,
    list: Vec<String>,
    #[serde(default)]
    matching_attributes: Vec<String>,
}

/// A loaded warninglist.
#[derive(Debug)]
pub(crate) struct Warninglist {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) list_type: ListType,
    pub(crate) entries: Vec<String>,
    /// The kinds the list applies to, from `matching_attributes` (all kinds when absent).
    pub(crate) kinds: KindMask,
}

/// The iocsync kinds a MISP attribute type denotes (composite types by their parts).
fn kinds_of_attribute(attribute: &str) -> &'static [Kind] {
    const NET: &[Kind] = &[Kind::Ipv4, Kind::Ipv6, Kind::Cidr];
    match attribute {
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => NET,
        "domain|ip" => &[Kind::Domain, Kind::Ipv4, Kind::Ipv6, Kind::Cidr],
        "domain" | "hostname" | "hostname|port" => &[Kind::Domain],
        "url" | "uri" | "link" => &[Kind::Url],
        "email"
        | "email-src"
        | "email-dst"
        | "target-email"
        | "whois-registrant-email"
        | "dns-soa-email" => &[Kind::Email],
        "md5" | "filename|md5" | "x509-fingerprint-md5" => &[Kind::Md5],
        "sha1" | "filename|sha1" | "x509-fingerprint-sha1" => &[Kind::Sha1],
        "sha256" | "filename|sha256" | "x509-fingerprint-sha256" => &[Kind::Sha256],
        _ => &[],
    }
}

fn kinds_of(attributes: &[String]) -> KindMask {
    if attributes.is_empty() {
        return KindMask::ALL;
    }
    attributes
        .iter()
        .flat_map(|a| kinds_of_attribute(a.trim()))
        .fold(KindMask::NONE, |mask, kind| mask.with(*kind))
}

/// Loads the warninglists at `path`: one file, or every `*.json` file below a directory, in
/// path order.
pub(crate) fn load(path: &Path) -> Result<Vec<Warninglist>, GuardError> {
    let meta = fs::metadata(path).map_err(|source| GuardError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![load_file(path)?]);
    }
    let mut files = Vec::new();
    collect_json(path, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(GuardError::EmptyDirectory(path.to_path_buf()));
    }
    files.iter().map(|f| load_file(f)).collect()
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), GuardError> {
    let read_err = |source| GuardError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn load_file(path: &Path) -> Result<Warninglist, GuardError> {
    let text = fs::read(path).map_err(|source| GuardError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: File = serde_json::from_slice(&text).map_err(|source| GuardError::Format {
        path: path.to_path_buf(),
        source,
    })?;
    if file.name.trim().is_empty() {
        return Err(GuardError::Unnamed(path.to_path_buf()));
    }
    Ok(Warninglist {
        kinds: kinds_of(&file.matching_attributes),
        name: file.name,
        path: path.to_path_buf(),
        list_type: file.list_type,
        entries: file.list,
    })
}

/// A hostname or string entry as the canonical values it is compared with: lower case,
/// without the leading dot MISP uses for "subdomains of" nor a trailing root dot.
/// Takes the entry by value to reuse its buffer: the full repository holds millions of them.
pub(crate) fn normalise_name(mut entry: String) -> String {
    let name = entry.trim().trim_start_matches("*.").trim_matches('.');
    if !name.is_ascii() {
        return name.to_lowercase();
    }
    if name.len() != entry.len() {
        entry = name.to_owned();
    }
    entry.make_ascii_lowercase();
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_types_map_to_kinds() {
        let mask = kinds_of(&["ip-src".into(), "domain".into()]);
        assert!(mask.contains(Kind::Ipv4) && mask.contains(Kind::Cidr));
        assert!(mask.contains(Kind::Domain));
        assert!(!mask.contains(Kind::Url) && !mask.contains(Kind::Md5));
        assert!(kinds_of(&[]).contains(Kind::Sha256));
        assert!(kinds_of(&["phone-number".into()]).is_empty());
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise_name(" .BMW.de. ".into()), "bmw.de");
        assert_eq!(normalise_name("*.example.com".into()), "example.com");
        assert_eq!(normalise_name("Straße.DE".into()), "straße.de");
    }
}
