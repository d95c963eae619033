//! Why an input is not a valid indicator: [`ParseError`] wraps a [`Reason`], whose message is
//! one sentence meant for the person who wrote the feed, and whose [`Reason::code`] is a short
//! stable key for grouping errors in summaries.

use crate::Kind;

/// The input is not a valid indicator (of the requested kind).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    reason: Reason,
}

impl ParseError {
    /// The reason the input was rejected.
    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// A short stable kebab-case key for the reason (`"ipv4-leading-zero"`, ...).
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

impl From<Reason> for ParseError {
    fn from(reason: Reason) -> Self {
        ParseError { reason }
    }
}

/// Every way an input can fail to be an indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {0} bytes long, more than the {max} allowed", max = crate::MAX_INPUT)]
    TooLong(usize),
    #[error("the value contains whitespace or control characters")]
    BadCharacter,
    #[error("not an IP address, CIDR, address range, domain, URL, e-mail address or hash")]
    Unrecognised,
    #[error("the value is {found_article} {found}, not {expected_article} {expected}", found_article = article(*.found), expected_article = article(*.expected))]
    KindMismatch { expected: Kind, found: Kind },

    #[error("IPv4 part `{0}` has a leading zero, which some systems read as octal")]
    Ipv4LeadingZero(String),
    #[error("IPv4 address must have four parts, not {0} (shorthand forms are ambiguous)")]
    Ipv4PartCount(usize),
    #[error("IPv4 address uses hexadecimal or octal parts, which are ambiguous")]
    Ipv4NonDecimal,
    #[error("IPv4 part `{0}` is greater than 255")]
    Ipv4PartRange(String),
    #[error("IPv4 address has an empty or non-numeric part")]
    Ipv4Malformed,
    #[error("IPv6 zone identifier `%{0}` is local to one host and means nothing elsewhere")]
    Ipv6Zone(String),
    #[error("not a valid IPv6 address")]
    Ipv6Malformed,

    #[error("prefix length `/{0}` is not a number from 0 to {max}", max = .1)]
    BadPrefix(String, u8),
    #[error("netmask `{0}` is not contiguous (ones then zeros), so it is not a prefix")]
    NonContiguousMask(String),
    #[error("range start {0} is after its end {1}")]
    RangeReversed(String, String),
    #[error("range ends are not both IPv4 or both IPv6")]
    RangeMixedFamily,

    #[error("`{0}` is a single label, not a domain (a domain has at least two labels)")]
    SingleLabel(String),
    #[error("domain has an empty label (two dots in a row or a leading dot)")]
    EmptyLabel,
    #[error("domain label `{0}` is longer than 63 bytes")]
    LabelTooLong(String),
    #[error("domain is {0} bytes long, more than 253")]
    DomainTooLong(usize),
    #[error("domain label `{0}` starts or ends with a hyphen")]
    LabelHyphen(String),
    #[error("domain label `{0}` has a character not allowed in domains")]
    LabelCharacter(String),
    #[error(
        "domain label `{0}` has hyphens in the third and fourth positions but is not valid punycode"
    )]
    BadPunycode(String),
    #[error("internationalised domain `{0}` cannot be converted to ASCII (IDNA)")]
    BadIdn(String),
    #[error(
        "top-level label `{0}` is all digits, so this is neither a domain nor a full IPv4 address"
    )]
    NumericTld(String),

    #[error("URL scheme `{0}` is not one used for indicators (http, https, ftp, ...)")]
    UnsupportedScheme(String),
    #[error("URL has no host")]
    NoHost,
    #[error("URL port `{0}` is not a number from 0 to 65535")]
    BadPort(String),
    #[error("URL host `{0}` is not a domain or an IP address")]
    BadUrlHost(String),

    #[error("e-mail address has an empty local part")]
    EmptyLocalPart,
    #[error("e-mail local part is {0} bytes long, more than 64")]
    LocalPartTooLong(usize),
    #[error(
        "e-mail local part `{0}` is not valid (unquoted, it allows letters, digits, ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~ and single dots between them)"
    )]
    BadLocalPart(String),
    #[error("e-mail address has no domain after the `@`")]
    NoEmailDomain,

    #[error("{0} hexadecimal digits is not an MD5 (32), SHA-1 (40) or SHA-256 (64) hash")]
    HashLength(usize),
}

impl Reason {
    /// A short stable kebab-case key, for grouping errors in summaries.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::TooLong(_) => "too-long",
            Reason::BadCharacter => "bad-character",
            Reason::Unrecognised => "unrecognised",
            Reason::KindMismatch { .. } => "kind-mismatch",
            Reason::Ipv4LeadingZero(_) => "ipv4-leading-zero",
            Reason::Ipv4PartCount(_) => "ipv4-part-count",
            Reason::Ipv4NonDecimal => "ipv4-non-decimal",
            Reason::Ipv4PartRange(_) => "ipv4-part-range",
            Reason::Ipv4Malformed => "ipv4-malformed",
            Reason::Ipv6Zone(_) => "ipv6-zone",
            Reason::Ipv6Malformed => "ipv6-malformed",
            Reason::BadPrefix(..) => "bad-prefix",
            Reason::NonContiguousMask(_) => "non-contiguous-mask",
            Reason::RangeReversed(..) => "range-reversed",
            Reason::RangeMixedFamily => "range-mixed-family",
            Reason::SingleLabel(_) => "single-label",
            Reason::EmptyLabel => "empty-label",
            Reason::LabelTooLong(_) => "label-too-long",
            Reason::DomainTooLong(_) => "domain-too-long",
            Reason::LabelHyphen(_) => "label-hyphen",
            Reason::LabelCharacter(_) => "label-character",
            Reason::BadPunycode(_) => "bad-punycode",
            Reason::BadIdn(_) => "bad-idn",
            Reason::NumericTld(_) => "numeric-tld",
            Reason::UnsupportedScheme(_) => "unsupported-scheme",
            Reason::NoHost => "no-host",
            Reason::BadPort(_) => "bad-port",
            Reason::BadUrlHost(_) => "bad-url-host",
            Reason::EmptyLocalPart => "empty-local-part",
            Reason::LocalPartTooLong(_) => "local-part-too-long",
            Reason::BadLocalPart(_) => "bad-local-part",
            Reason::NoEmailDomain => "no-email-domain",
            Reason::HashLength(_) => "hash-length",
        }
    }
}

/// "a" or "an" before a kind's name, so messages read as sentences.
fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 | Kind::Email | Kind::Md5 => "an",
        Kind::Cidr | Kind::Domain | Kind::Url | Kind::Sha1 | Kind::Sha256 => "a",
    }
}
