//! Field names and value conversions shared by the tabular readers (CSV columns, JSON-lines
//! keys): which name means which attribute, what a `type` cell means as an indicator kind, and
//! how scores, confidences, tags and booleans are written in the wild.

use std::net::SocketAddr;

use indicator::{Indicator, Kind};

/// Names that override the built-in aliases, one per attribute (`--csv-value-column` ...).
/// A name given here replaces the aliases of its attribute; matching ignores case, spaces,
/// hyphens and underscores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub value: Option<String>,
    pub kind: Option<String>,
    pub score: Option<String>,
    pub tags: Option<String>,
    pub description: Option<String>,
    pub valid_until: Option<String>,
}

/// An attribute a column or key can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Value,
    Kind,
    /// 0–10.
    Score,
    /// 0–100, mapped to a score (see [`confidence_to_score`]).
    Confidence,
    Tags,
    Description,
    ValidUntil,
    SeenAt,
    Revoked,
}

/// Built-in aliases, normalised (see [`normalise`]). Earlier names win when a header has
/// several aliases of one attribute.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Value,
        &[
            "value",
            "indicator",
            "ioc",
            "iocvalue",
            "indicatorvalue",
            "observable",
            "observablevalue",
            // Column names of public feeds that hold one kind of value (abuse.ch URLhaus,
            // Feodo Tracker, MalwareBazaar, SSLBL, ...): the value is parsed for its kind.
            "url",
            "dstip",
            "ipaddress",
            "ip",
            "domain",
            "hostname",
            "sha256hash",
            "sha256",
            "sha1hash",
            "sha1",
            "md5hash",
            "md5",
        ],
    ),
    (
        Field::Kind,
        &["kind", "type", "indicatortype", "ioctype", "observabletype"],
    ),
    (
        Field::Score,
        &["score", "threatscore", "riskscore", "risk", "severity"],
    ),
    (Field::Confidence, &["confidence", "confidencelevel"]),
    (
        Field::Tags,
        &[
            "tags",
            "tag",
            "labels",
            "label",
            "categories",
            "category",
            "malware",
            "malwareprintable",
            "threat",
        ],
    ),
    (
        Field::Description,
        &[
            "description",
            "desc",
            "comment",
            "comments",
            "notes",
            "note",
        ],
    ),
    (
        Field::ValidUntil,
        &[
            "validuntil",
            "expiration",
            "expirationdate",
            "expires",
            "expiresat",
            "expiry",
            "validto",
        ],
    ),
    (
        Field::SeenAt,
        &[
            "seenat",
            "lastseen",
            "lastseenutc",
            "firstseen",
            "firstseenutc",
            "dateadded",
            "timestamp",
            "date",
        ],
    ),
    (Field::Revoked, &["revoked", "deleted", "withdrawn"]),
];

/// Lower case without spaces, hyphens and underscores: `Valid Until`, `valid_until` and
/// `valid-until` are one name.
pub(crate) fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Columns {
    fn override_for(&self, field: Field) -> Option<&String> {
        match field {
            Field::Value => self.value.as_ref(),
            Field::Kind => self.kind.as_ref(),
            Field::Score => self.score.as_ref(),
            Field::Tags => self.tags.as_ref(),
            Field::Description => self.description.as_ref(),
            Field::ValidUntil => self.valid_until.as_ref(),
            Field::Confidence | Field::SeenAt | Field::Revoked => None,
        }
    }

    /// The attribute a name carries, and its rank among that attribute's names (lower wins).
    pub(crate) fn field_for(&self, name: &str) -> Option<(Field, usize)> {
        let name = normalise(name);
        for (field, aliases) in ALIASES {
            let overridden = match *field {
                // An explicit score column replaces the confidence aliases too.
                Field::Confidence => self.score.as_ref(),
                other => self.override_for(other),
            };
            match overridden {
                Some(chosen) if normalise(chosen) == name && *field != Field::Confidence => {
                    return Some((*field, 0));
                }
                Some(_) => {}
                None => {
                    if let Some(rank) = aliases.iter().position(|alias| *alias == name) {
                        return Some((*field, rank + 1));
                    }
                }
            }
        }
        None
    }
}

/// What kind a value is expected to be, from a `type` column, a MISP type or a STIX path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Whatever the value parses as.
    Any,
    /// Exactly this kind (a range or CIDR for `Cidr` may give several networks).
    Exactly(Kind),
    /// One of these kinds.
    OneOf(&'static [Kind]),
    /// An IP address that may carry a port (`198.51.100.7:443`, `[2001:db8::1]:443`, as
    /// ThreatFox writes `ip:port`); the port is dropped.
    AddressWithPort,
}

pub(crate) const IP_KINDS: &[Kind] = &[Kind::Ipv4, Kind::Ipv6, Kind::Cidr];
pub(crate) const IPV4_KINDS: &[Kind] = &[Kind::Ipv4, Kind::Cidr];
pub(crate) const IPV6_KINDS: &[Kind] = &[Kind::Ipv6, Kind::Cidr];
pub(crate) const HASH_KINDS: &[Kind] = &[Kind::Md5, Kind::Sha1, Kind::Sha256];
pub(crate) const HOST_KINDS: &[Kind] = &[Kind::Ipv4, Kind::Ipv6, Kind::Cidr, Kind::Domain];

/// Parses `value` as the expected kind; the reason reads as a sentence for the feed's author.
pub(crate) fn indicators(expect: Expect, value: &str) -> Result<Vec<Indicator>, String> {
    let parsed = match expect {
        Expect::Exactly(kind) => indicator::parse_as(kind, value),
        // `198.51.100.7:443` would otherwise read as a URL without a scheme; feeds that list
        // C2 endpoints mean the address.
        Expect::Any => match socket_address(value) {
            Some(address) => indicator::parse(&address),
            None => indicator::parse(value),
        },
        Expect::OneOf(_) => indicator::parse(value),
        Expect::AddressWithPort => match socket_address(value) {
            Some(address) => indicator::parse(&address),
            None => return indicators(Expect::OneOf(IP_KINDS), value),
        },
    }
    .map_err(|err| format!("`{}`: {err}", shorten(value)))?;
    if let Expect::OneOf(kinds) = expect {
        if let Some(wrong) = parsed.iter().find(|i| !kinds.contains(&i.kind)) {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(format!(
                "`{}` is {}, expected {}",
                shorten(value),
                wrong.kind,
                names.join(" or ")
            ));
        }
    }
    Ok(parsed)
}

/// The address of an `ip:port` value (`198.51.100.7:443`, `[2001:db8::1]:8080`, also
/// defanged: `198.51.100[.]7:443`).
fn socket_address(value: &str) -> Option<String> {
    indicator::refang(value)
        .parse::<SocketAddr>()
        .ok()
        .map(|socket| socket.ip().to_string())
}

/// Cuts long values in messages so one bad line does not flood the terminal.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// The kind a `type` cell names: iocsync's kind names, plus the names other tools use
/// (`ip-dst`, `FQDN`, `IP Address`, `filehash`, ...). `None` for types iocsync does not import.
pub(crate) fn expect_from_type(name: &str) -> Option<Expect> {
    let name = normalise(name);
    if name.is_empty() {
        return Some(Expect::Any);
    }
    if let Ok(kind) = name.parse::<Kind>() {
        return Some(match kind {
            Kind::Ipv4 => Expect::OneOf(IPV4_KINDS),
            Kind::Ipv6 => Expect::OneOf(IPV6_KINDS),
            other => Expect::Exactly(other),
        });
    }
    Some(match name.as_str() {
        "ip" | "ipaddress" | "ipaddr" | "address" | "ipsrc" | "ipdst" => Expect::OneOf(IP_KINDS),
        "ip:port" | "ipport" => Expect::AddressWithPort,
        "ipv4addr" | "ipv4address" => Expect::OneOf(IPV4_KINDS),
        "ipv6addr" | "ipv6address" => Expect::OneOf(IPV6_KINDS),
        "network" | "netblock" | "subnet" | "iprange" | "range" => Expect::Exactly(Kind::Cidr),
        "domainname" | "fqdn" | "hostname" | "host" => Expect::Exactly(Kind::Domain),
        "uri" | "link" => Expect::Exactly(Kind::Url),
        "emailaddr" | "emailaddress" | "mail" | "emailsrc" => Expect::Exactly(Kind::Email),
        "hash" | "filehash" => Expect::OneOf(HASH_KINDS),
        "sha256hash" => Expect::Exactly(Kind::Sha256),
        "sha1hash" => Expect::Exactly(Kind::Sha1),
        "md5hash" => Expect::Exactly(Kind::Md5),
        _ => return None,
    })
}

/// A 0–10 score; decimals are rounded (`7.5` → 8).
pub(crate) fn score_from_number(n: f64) -> Result<u8, String> {
    if !(0.0..=10.0).contains(&n) {
        return Err(format!(
            "score {n} is outside 0–10 (a 0–100 value belongs in a `confidence` column)"
        ));
    }
    // In range 0..=10 after the check, so the cast cannot truncate.
    Ok(n.round() as u8)
}

/// A 0–100 confidence as a 0–10 score, using the STIX 2.1 Appendix A table "STIX Confidence
/// to 0–10 Scale": 0–4 → 0, 5–14 → 1, …, 85–94 → 9, 95–100 → 10, that is `(c + 5) / 10`.
pub(crate) fn confidence_to_score(confidence: u64) -> Result<u8, String> {
    if confidence > 100 {
        return Err(format!("confidence {confidence} is outside 0–100"));
    }
    // At most 10 after the check.
    Ok(((confidence + 5) / 10) as u8)
}

/// A confidence written as a number 0–100 or as a word of the STIX "None/Low/Med/High"
/// scale (None 0, Low 15, Med 50, High 85).
pub(crate) fn confidence_from_text(text: &str) -> Result<u8, String> {
    let text = text.trim();
    let value = match text.to_ascii_lowercase().as_str() {
        "none" => 0,
        "low" => 15,
        "med" | "medium" => 50,
        "high" => 85,
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|n| (0.0..=100.0).contains(n))
            .map(|n| n.round() as u64)
            .ok_or_else(|| {
                format!(
                    "confidence `{}` is not a number 0–100 or none/low/medium/high",
                    shorten(text)
                )
            })?,
    };
    confidence_to_score(value)
}

pub(crate) fn score_from_text(text: &str) -> Result<u8, String> {
    let number = text
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("score `{}` is not a number 0–10", shorten(text.trim())))?;
    score_from_number(number)
}

/// Tags in one cell, separated by `;`, `|` or `,` (a quoted CSV cell), trimmed, empty ones
/// dropped.
pub(crate) fn tags_from_text(text: &str) -> Vec<String> {
    text.split([';', '|', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `true`/`false`, `yes`/`no`, `1`/`0`; an empty cell is false.
pub(crate) fn bool_from_text(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" | "" => Ok(false),
        other => Err(format!("`{}` is not true or false", shorten(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_regardless_of_case_and_separators() {
        let columns = Columns::default();
        assert_eq!(columns.field_for("IOC"), Some((Field::Value, 3)));
        assert_eq!(
            columns.field_for("Valid Until"),
            Some((Field::ValidUntil, 1))
        );
        assert_eq!(
            columns.field_for("expiration_date"),
            Some((Field::ValidUntil, 3))
        );
        assert_eq!(columns.field_for("Labels"), Some((Field::Tags, 3)));
        assert_eq!(
            columns.field_for("confidence"),
            Some((Field::Confidence, 1))
        );
        assert_eq!(columns.field_for("whatever"), None);
    }

    #[test]
    fn overrides_replace_the_aliases_of_their_field() {
        let columns = Columns {
            value: Some("Observable Data".into()),
            score: Some("weight".into()),
            ..Columns::default()
        };
        assert_eq!(
            columns.field_for("observable_data"),
            Some((Field::Value, 0))
        );
        assert_eq!(columns.field_for("indicator"), None);
        assert_eq!(columns.field_for("weight"), Some((Field::Score, 0)));
        assert_eq!(columns.field_for("confidence"), None);
        assert_eq!(columns.field_for("type"), Some((Field::Kind, 2)));
    }

    #[test]
    fn confidence_follows_the_stix_appendix_table() {
        let expected = [
            (0, 0),
            (4, 0),
            (5, 1),
            (14, 1),
            (15, 2),
            (50, 5),
            (94, 9),
            (95, 10),
            (100, 10),
        ];
        for (confidence, score) in expected {
            assert_eq!(confidence_to_score(confidence), Ok(score), "{confidence}");
        }
        assert!(confidence_to_score(101).is_err());
        assert_eq!(confidence_from_text("High"), Ok(9));
        assert_eq!(confidence_from_text(" 75 "), Ok(8));
        assert_eq!(confidence_from_text("74"), Ok(7));
        assert!(confidence_from_text("very").is_err());
    }

    #[test]
    fn scores_are_0_to_10_and_rounded() {
        assert_eq!(score_from_text("7"), Ok(7));
        assert_eq!(score_from_text("7.5"), Ok(8));
        assert!(score_from_text("11").unwrap_err().contains("confidence"));
        assert!(score_from_text("-1").is_err());
        assert!(score_from_text("high").is_err());
    }

    #[test]
    fn tags_split_on_semicolons_and_pipes() {
        assert_eq!(
            tags_from_text(" apt29; phishing |c2||"),
            ["apt29", "phishing", "c2"]
        );
        assert!(tags_from_text("  ").is_empty());
    }

    #[test]
    fn type_names_from_other_tools_map_to_kinds() {
        assert_eq!(
            expect_from_type("IP Address"),
            Some(Expect::OneOf(IP_KINDS))
        );
        assert_eq!(
            expect_from_type("FQDN"),
            Some(Expect::Exactly(Kind::Domain))
        );
        assert_eq!(
            expect_from_type("SHA256"),
            Some(Expect::Exactly(Kind::Sha256))
        );
        assert_eq!(expect_from_type(""), Some(Expect::Any));
        assert_eq!(expect_from_type("filename"), None);
    }
}
