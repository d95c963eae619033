//! What a guard is built from. Plain data (serde), so the config file can carry it; checked and
//! turned into lookup tables by `Guard::new`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default shortest IPv4 prefix a blocklist accepts: a /16 (65,536 addresses) at most.
pub const DEFAULT_MAX_PREFIX_V4: u8 = 16;
/// Default shortest IPv6 prefix a blocklist accepts: a /48 (one site) at most. A /32 is a
/// whole provider's allocation, and a /33../47 still holds thousands of customers' sites.
pub const DEFAULT_MAX_PREFIX_V6: u8 = 48;

/// What the target's list does with the values sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    /// Values are blocked (suspicious-object list, IP list used in a deny rule, XDR block).
    /// Every rule applies.
    #[default]
    Blocklist,
    /// Values are let through (Vision One exception list). Allowlists, warninglists and
    /// special ranges say what must never be *blocked*, so they do not apply; only the
    /// broad-CIDR rule does, since a huge exception is as dangerous as a huge block.
    ExceptionList,
}

/// The guard settings. Every list entry is parsed like an indicator (refanged, canonical), so
/// `10.0.0.0/8`, `10.0.0.1`, `Example.COM.` and `hxxp://x[.]com/a` are all fine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Whether the target blocks or allows what it is sent.
    pub list: ListKind,
    /// Networks and addresses never to block: any address or narrower network inside one is
    /// stopped, and a wider network that overlaps one is refused whole.
    pub allow_cidrs: Vec<String>,
    /// Domains never to block, with all their subdomains, and the URLs and e-mail addresses on
    /// them.
    pub allow_domains: Vec<String>,
    /// URLs never to block (exact canonical match).
    pub allow_urls: Vec<String>,
    /// File hashes never to block (MD5, SHA-1 or SHA-256).
    pub allow_hashes: Vec<String>,
    /// MISP warninglist files, or directories searched for `*.json` files.
    pub warninglists: Vec<PathBuf>,
    /// Refuse IPv4 networks broader than this prefix length.
    pub max_prefix_v4: u8,
    /// Refuse IPv6 networks broader than this prefix length.
    pub max_prefix_v6: u8,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            list: ListKind::default(),
            allow_cidrs: Vec::new(),
            allow_domains: Vec::new(),
            allow_urls: Vec::new(),
            allow_hashes: Vec::new(),
            warninglists: Vec::new(),
            max_prefix_v4: DEFAULT_MAX_PREFIX_V4,
            max_prefix_v6: DEFAULT_MAX_PREFIX_V6,
        }
    }
}
