//! `Guard`: the rules built from a `GuardConfig`, and `check`, which says whether one indicator
//! may be exported and, if not, which rule stops it and why.
//!
//! Order of the rules (the first that matches names the verdict):
//! 1. `builtin:special-range` (blocklists): an address or network in, or holding part of, an
//!    IANA special-purpose block (`indicator::scope`), so `0.0.0.0/1` and `::/0` never pass;
//!    also IPv6 that leads to such IPv4 space (6to4 `2002:a00:1::1` is `10.0.0.1`), and URL
//!    and e-mail hosts that are such addresses;
//! 2. `builtin:broad-cidr` (every list): a network broader than `max_prefix_v4`/`_v6`;
//! 3. `builtin:public-suffix` (blocklists): a domain that is itself a public suffix (`co.uk`);
//! 4. `allowlist:cidr:<net>` and `warninglist:<name>` by address: inside a listed block, or
//!    wider and holding one; IPv6 that embeds IPv4 (6to4, NAT64, Teredo, mapped) is also judged
//!    by the IPv4 network it leads to. A wider network is refused whole rather than split, so nothing is
//!    ever exported that a person did not see in a feed;
//! 5. `allowlist:domain:<d>` and hostname warninglists: the host is the domain or below it (a
//!    URL's host is the one a browser connects to, by the WHATWG URL Standard:
//!    `indicator::url_host`);
//! 6. `allowlist:url:<u>`, `allowlist:hash:<h>` and string warninglists: exact value (and, for
//!    string lists, a URL's host);
//! 7. substring warninglists: an entry occurs in the value.
//!
//! Exception lists let values through rather than block them, so only rule 2 applies to them.

use aho_corasick::AhoCorasick;
use indicator::{Flag, Indicator, Kind, scope};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::config::{GuardConfig, ListKind};
use crate::error::GuardError;
use crate::host::email_host;
use crate::nets::{Meet, NetTable, NetTableBuilder};
use crate::rules::{KindMask, NameTable, Rule, RuleId, Rules};
use crate::warninglist::{self, ListType, Warninglist, normalise_name};

/// Whether a value may be exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    /// Keep it out; `rule` names the rule (`builtin:special-range`, `allowlist:cidr:10.0.0.0/8`,
    /// `warninglist:<name>`, ...) and `reason` says why in a sentence.
    Stop {
        rule: String,
        reason: String,
    },
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }

    fn stop(rule: impl Into<String>, reason: String) -> Verdict {
        Verdict::Stop {
            rule: rule.into(),
            reason,
        }
    }
}

/// Built-in rule names.
pub const SPECIAL_RANGE: &str = "builtin:special-range";
pub const BROAD_CIDR: &str = "builtin:broad-cidr";
pub const PUBLIC_SUFFIX: &str = "builtin:public-suffix";
/// A network indicator whose value does not parse (it did not come from the `indicator` crate).
pub const NOT_CANONICAL: &str = "builtin:not-canonical";

/// The guard rules for one target, ready to check values. Immutable and `Sync`: build once,
/// share between threads.
#[derive(Debug)]
pub struct Guard {
    list: ListKind,
    max_prefix_v4: u8,
    max_prefix_v6: u8,
    rules: Rules,
    nets: NetTable,
    /// Allowlisted domains and hostname warninglists, matched with their subdomains.
    domains: NameTable,
    /// Allowlisted URLs and hashes and string warninglists, matched exactly.
    exact: NameTable,
    /// Substring warninglists.
    substrings: Vec<(AhoCorasick, RuleId)>,
    notes: Vec<String>,
}

impl Default for Guard {
    /// The built-in rules for a blocklist, with the default prefix limits and no lists.
    fn default() -> Self {
        Guard::bare(
            &GuardConfig::default(),
            Rules::default(),
            NetTable::default(),
        )
    }
}

impl Guard {
    /// Builds the guard: checks the settings, parses every allowlist entry like an indicator
    /// and loads the warninglists. Errors name the setting and entry, or the file.
    pub fn new(config: &GuardConfig) -> Result<Guard, GuardError> {
        check_prefix("max_prefix_v4", config.max_prefix_v4, 32)?;
        check_prefix("max_prefix_v6", config.max_prefix_v6, 128)?;
        let mut builder = Builder::default();
        builder.allow_cidrs(&config.allow_cidrs)?;
        builder.allow_domains(&config.allow_domains)?;
        builder.allow_exact("allow_urls", &config.allow_urls, |k| k == Kind::Url)?;
        builder.allow_exact("allow_hashes", &config.allow_hashes, Kind::is_hash)?;
        for path in &config.warninglists {
            for list in warninglist::load(path)? {
                builder.warninglist(list)?;
            }
        }
        Ok(builder.finish(config))
    }

    fn bare(config: &GuardConfig, rules: Rules, nets: NetTable) -> Guard {
        Guard {
            list: config.list,
            max_prefix_v4: config.max_prefix_v4,
            max_prefix_v6: config.max_prefix_v6,
            rules,
            nets,
            domains: NameTable::default(),
            exact: NameTable::default(),
            substrings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// What loading noticed but did not refuse: regex warninglists not applied, entries
    /// skipped, lists that apply to no indicator kind.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn list_kind(&self) -> ListKind {
        self.list
    }

    /// Whether `indicator` may be exported to this guard's target.
    pub fn check(&self, indicator: &Indicator) -> Verdict {
        let kind = indicator.kind;
        if kind.is_network() {
            return self.check_network(indicator);
        }
        if self.list == ListKind::ExceptionList {
            return Verdict::Allow;
        }
        let value = indicator.value.as_str();
        // A URL's host is the one a browser connects to (`https://evil.com\@corp.example/`
        // goes to evil.com), whatever the text after it says.
        let url_host = (kind == Kind::Url).then(|| indicator::url_host(value));
        let host = match kind {
            Kind::Domain => Some(value),
            Kind::Url => url_host.as_deref(),
            Kind::Email => Some(email_host(value)),
            _ => None,
        };
        if kind == Kind::Domain && indicator.has_flag(Flag::PublicSuffix) {
            return Verdict::stop(
                PUBLIC_SUFFIX,
                format!("{value} is a public suffix: blocking it blocks every domain under it"),
            );
        }
        host.and_then(|h| self.check_host(kind, h))
            .or_else(|| self.check_exact(kind, value, host))
            .or_else(|| self.check_substrings(kind, value))
            .unwrap_or(Verdict::Allow)
    }

    fn check_network(&self, indicator: &Indicator) -> Verdict {
        let Some(net) = indicator.net() else {
            return Verdict::stop(
                NOT_CANONICAL,
                format!(
                    "`{}` is not a canonical {} value",
                    indicator.value, indicator.kind
                ),
            );
        };
        let blocklist = self.list == ListKind::Blocklist;
        let public = indicator
            .scope
            .map_or_else(|| scope::classify(&net).is_public(), |s| s.is_public());
        if blocklist && !public {
            return special_range(&indicator.value, &net);
        }
        if let Some(verdict) = self.check_breadth(&indicator.value, &net) {
            return verdict;
        }
        if !blocklist {
            return Verdict::Allow;
        }
        self.check_net_lists(indicator.kind, &indicator.value, &net)
            .unwrap_or(Verdict::Allow)
    }

    fn check_breadth(&self, value: &str, net: &IpNet) -> Option<Verdict> {
        let (max, family, key) = match net {
            IpNet::V4(_) => (self.max_prefix_v4, "IPv4", "max_prefix_v4"),
            IpNet::V6(_) => (self.max_prefix_v6, "IPv6", "max_prefix_v6"),
        };
        (net.prefix_len() < max).then(|| {
            Verdict::stop(
                BROAD_CIDR,
                format!(
                    "{value} is a /{}, broader than the /{max} allowed for {family} networks ({key})",
                    net.prefix_len()
                ),
            )
        })
    }

    /// Allowlisted and warninglisted networks that `net` meets, itself or through the IPv4
    /// network it leads to (6to4, NAT64, Teredo, ...: see `indicator::scope::embedded_ipv4`).
    fn check_net_lists(&self, kind: Kind, subject: &str, net: &IpNet) -> Option<Verdict> {
        self.check_listed(kind, subject, net).or_else(|| {
            let IpNet::V6(v6) = net else {
                return None;
            };
            scope::embedded_ipv4(v6).find_map(|embedded| {
                let v4 = IpNet::V4(embedded.net);
                let subject = format!(
                    "{subject} (which leads to {} by {})",
                    shown(&v4),
                    embedded.via
                );
                self.check_listed(kind, &subject, &v4)
            })
        })
    }

    fn check_listed(&self, kind: Kind, subject: &str, net: &IpNet) -> Option<Verdict> {
        let (meet, block, rule) = self.nets.find(&self.rules, net, kind)?;
        let rule = self.rules.get(rule);
        let reason = match meet {
            Meet::Inside => format!("{subject} is inside {block}, on {}", rule.origin),
            Meet::Covers => format!(
                "{subject} covers {block}, on {}; a network holding a listed block is refused whole",
                rule.origin
            ),
        };
        Some(Verdict::stop(rule.name.clone(), reason))
    }

    /// Host rules for domains, URLs and e-mail addresses. A host that is an address literal
    /// is checked like an address.
    fn check_host(&self, kind: Kind, host: &str) -> Option<Verdict> {
        if let Ok(addr) = host.parse::<std::net::IpAddr>() {
            let net = IpNet::from(addr);
            if !scope::classify(&net).is_public() {
                return Some(special_range(host, &net));
            }
            return self.check_net_lists(kind, host, &net);
        }
        let (listed, rule) = self.domains.find_suffix(&self.rules, host, kind)?;
        let rule = self.rules.get(rule);
        let reason = if listed == host {
            format!("{host} is on {}", rule.origin)
        } else {
            format!("{host} is a subdomain of {listed}, on {}", rule.origin)
        };
        Some(Verdict::stop(rule.name.clone(), reason))
    }

    fn check_exact(&self, kind: Kind, value: &str, host: Option<&str>) -> Option<Verdict> {
        if self.exact.is_empty() {
            return None;
        }
        // String warninglists hold host names for URLs; allowlisted URLs are whole URLs.
        let url_host = host.filter(|_| kind == Kind::Url);
        [Some(value), url_host]
            .into_iter()
            .flatten()
            .find_map(|name| {
                let rule = self.rules.first_for(self.exact.get(name)?, kind)?;
                let rule = self.rules.get(rule);
                Some(Verdict::stop(
                    rule.name.clone(),
                    format!("{name} is on {}", rule.origin),
                ))
            })
    }

    fn check_substrings(&self, kind: Kind, value: &str) -> Option<Verdict> {
        self.substrings.iter().find_map(|(automaton, rule)| {
            let rule = self.rules.get(*rule);
            if !rule.kinds.contains(kind) {
                return None;
            }
            let found = automaton.find(value)?;
            Some(Verdict::stop(
                rule.name.clone(),
                format!(
                    "{value} contains `{}`, on {}",
                    &value[found.range()],
                    rule.origin
                ),
            ))
        })
    }
}

fn special_range(subject: &str, net: &IpNet) -> Verdict {
    let own = scope::lookup(net).filter(|range| !range.scope.is_public());
    let embedded = match net {
        IpNet::V6(v6) if own.is_none() => scope::embedded_special(v6),
        _ => None,
    };
    let reason = match (own, embedded) {
        (Some(range), _) => range_reason(subject, net, range),
        (None, Some((embedded, range))) => {
            let v4 = shown(&IpNet::V4(embedded.net));
            format!(
                "{subject} leads to {v4} by {}, and {}",
                embedded.via,
                range_reason(&v4, &IpNet::V4(embedded.net), range)
            )
        }
        (None, None) => format!("{subject} is not a public address"),
    };
    Verdict::stop(SPECIAL_RANGE, reason)
}

/// Why `subject` (the network `net`) is special, by the table entry that decides it.
fn range_reason(subject: &str, net: &IpNet, range: &scope::SpecialRange) -> String {
    if range.net.contains(net) {
        format!(
            "{subject} is in {} ({}, {}): {} addresses are never blocked",
            range.net,
            range.name,
            range.rfc,
            range.scope.as_str()
        )
    } else {
        format!(
            "{subject} holds {} ({}, {}): a network holding special-purpose addresses is never blocked",
            range.net, range.name, range.rfc
        )
    }
}

/// A network as a person writes it: a single address without its `/32` or `/128`.
fn shown(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

fn check_prefix(key: &'static str, value: u8, max: u8) -> Result<(), GuardError> {
    if value > max {
        return Err(GuardError::BadSetting {
            key,
            reason: format!("{value} is longer than a {max}-bit address"),
        });
    }
    Ok(())
}

/// Collects rules and entries, then freezes them into a `Guard`.
#[derive(Default)]
struct Builder {
    rules: Rules,
    nets: NetTableBuilder,
    domains: NameTable,
    exact: NameTable,
    substrings: Vec<(AhoCorasick, RuleId)>,
    notes: Vec<String>,
}

const ALLOWLIST: &str = "the allowlist";

/// Parses an allowlist entry like an indicator, naming the entry and what the list holds when
/// it fails.
fn parse_entry(
    key: &'static str,
    index: usize,
    entry: &str,
    kind: Option<Kind>,
) -> Result<Vec<Indicator>, GuardError> {
    let parsed = match kind {
        Some(kind) => indicator::parse_as(kind, entry),
        None => indicator::parse(entry),
    };
    parsed.map_err(|e| GuardError::BadEntry {
        key,
        index,
        value: entry.to_owned(),
        reason: format!("not {} ({e})", holds(key)),
    })
}

/// What each allowlist setting holds, for error messages.
fn holds(key: &str) -> &'static str {
    match key {
        "allow_cidrs" => "an address or network",
        "allow_domains" => "a domain",
        "allow_urls" => "a URL",
        _ => "a file hash",
    }
}

impl Builder {
    fn allow_rule(&mut self, kind_name: &str, value: &str, kinds: KindMask) -> RuleId {
        self.rules.add(Rule {
            name: format!("allowlist:{kind_name}:{value}"),
            kinds,
            origin: ALLOWLIST.to_owned(),
        })
    }

    fn allow_cidrs(&mut self, entries: &[String]) -> Result<(), GuardError> {
        // Addresses also guard the URLs and e-mail addresses written with them.
        let kinds = KindMask::of(&[Kind::Ipv4, Kind::Ipv6, Kind::Cidr, Kind::Url, Kind::Email]);
        for (index, entry) in entries.iter().enumerate() {
            for parsed in parse_entry("allow_cidrs", index, entry, None)? {
                let Some(net) = parsed.net() else {
                    return Err(GuardError::BadEntry {
                        key: "allow_cidrs",
                        index,
                        value: entry.clone(),
                        reason: format!("is a {}, not {}", parsed.kind, holds("allow_cidrs")),
                    });
                };
                let rule = self.allow_rule("cidr", &parsed.value, kinds);
                self.nets.add(net, rule);
            }
        }
        Ok(())
    }

    fn allow_domains(&mut self, entries: &[String]) -> Result<(), GuardError> {
        let kinds = KindMask::of(&[Kind::Domain, Kind::Url, Kind::Email]);
        for (index, entry) in entries.iter().enumerate() {
            // `*.example.com` and `.example.com` mean the same as `example.com` here.
            let bare = entry
                .trim()
                .trim_start_matches("*.")
                .trim_start_matches('.');
            for parsed in parse_entry("allow_domains", index, bare, Some(Kind::Domain))? {
                let rule = self.allow_rule("domain", &parsed.value, kinds);
                self.domains.insert(&mut self.rules, parsed.value, rule);
            }
        }
        Ok(())
    }

    fn allow_exact(
        &mut self,
        key: &'static str,
        entries: &[String],
        accept: fn(Kind) -> bool,
    ) -> Result<(), GuardError> {
        for (index, entry) in entries.iter().enumerate() {
            for parsed in parse_entry(key, index, entry, None)? {
                if !accept(parsed.kind) {
                    return Err(GuardError::BadEntry {
                        key,
                        index,
                        value: entry.clone(),
                        reason: format!("is a {}, not {}", parsed.kind, holds(key)),
                    });
                }
                let kind_name = if parsed.kind.is_hash() { "hash" } else { "url" };
                let rule = self.allow_rule(kind_name, &parsed.value, KindMask::of(&[parsed.kind]));
                self.exact.insert(&mut self.rules, parsed.value, rule);
            }
        }
        Ok(())
    }

    fn warninglist(&mut self, list: Warninglist) -> Result<(), GuardError> {
        let label = format!("warninglist `{}` ({})", list.name, list.path.display());
        if list.kinds.is_empty() {
            self.notes.push(format!(
                "{label} applies to no indicator kind iocsync exports; not applied"
            ));
            return Ok(());
        }
        if list.list_type == ListType::Regex {
            self.notes.push(format!(
                "{label} is a regex list (PCRE patterns); not applied"
            ));
            return Ok(());
        }
        let rule = self.rules.add(Rule {
            name: format!("warninglist:{}", list.name),
            kinds: list.kinds,
            origin: format!("MISP warninglist `{}`", list.name),
        });
        let mut skipped = Vec::new();
        match list.list_type {
            ListType::Cidr => {
                for entry in list.entries {
                    match parse_net(&entry) {
                        Some(net) => self.nets.add(net, rule),
                        None => skipped.push(entry),
                    }
                }
            }
            ListType::Hostname | ListType::String => {
                let table = if list.list_type == ListType::Hostname {
                    &mut self.domains
                } else {
                    &mut self.exact
                };
                for entry in list.entries {
                    let name = normalise_name(entry);
                    if name.is_empty() {
                        skipped.push(name);
                    } else {
                        table.insert(&mut self.rules, name, rule);
                    }
                }
            }
            ListType::Substring => {
                let patterns: Vec<&str> = list
                    .entries
                    .iter()
                    .map(|e| e.trim())
                    .filter(|e| !e.is_empty())
                    .collect();
                let automaton = AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(patterns)
                    .map_err(|source| GuardError::Substrings {
                        path: list.path.clone(),
                        source,
                    })?;
                self.substrings.push((automaton, rule));
            }
            ListType::Regex => {}
        }
        if let Some(first) = skipped.first() {
            self.notes.push(format!(
                "{label}: {} entries ignored (not usable as {} entries), e.g. `{first}`",
                skipped.len(),
                list.list_type.as_str()
            ));
        }
        Ok(())
    }

    fn finish(mut self, config: &GuardConfig) -> Guard {
        let nets = self.nets.build(&mut self.rules);
        Guard {
            domains: self.domains,
            exact: self.exact,
            substrings: self.substrings,
            notes: self.notes,
            ..Guard::bare(config, self.rules, nets)
        }
    }
}

/// A warninglist CIDR entry: a network (host bits cleared) or a single address.
fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
        .ok()
}
