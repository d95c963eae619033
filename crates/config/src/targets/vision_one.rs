//! `product = "vision-one"`: the suspicious-object list (action `blocklist`) and the exception
//! list (action `exceptions`), with the room of each ([`Capacity`]).

use serde::Deserialize;
use trendmicro::vision_one::config::Region;
use trendmicro::vision_one::{RiskLevel, ScanAction, VisionOneConfig};

use crate::error::{ConfigError, invalid};
use crate::parameters::{Reader, SchemeKeys, UrlScheme, objects_per_run, url_scheme};
use crate::targets::reach::{Endpoint, Reachable, api_key, reached, region, section};
use crate::targets::{Settings, Target};

section! {
    /// `product = "vision-one"`: the suspicious-object and exception lists, with their room.
    VisionOneSection {
        /// A Vision One region (`us`, `eu`, `jp`, `sg`, `au`, `in`, `mea`, ...); give it or
        /// `base_url`.
        region: Option<String>,
        /// The API's URL, instead of `region`.
        base_url: Option<String>,
        /// The API key, by reference (required).
        #[schemars(with = "Option<crate::schema::SecretRef>")]
        api_key: Option<String>,
        /// Most objects of one type the suspicious-object list holds (Trend's limit for
        /// third-party objects).
        #[schemars(range(min = 1), extend("default" = 10_000))]
        capacity_per_type: Option<usize>,
        /// How many of them workflows leave free for one-off and trigger blocks (default 100,
        /// or a tenth of a smaller capacity); must be below `capacity_per_type`.
        reserve_per_type: Option<usize>,
        /// What a one-off or trigger block does when its type is at capacity.
        #[schemars(extend("default" = "displace"))]
        when_full: Option<WhenFull>,
    }
}

/// The keys only this product takes (for the message about one given to another product).
pub(crate) const KEYS: &[&str] = &[
    "region",
    "base_url",
    "api_key",
    "capacity_per_type",
    "reserve_per_type",
    "when_full",
];

/// A Vision One target, validated.
#[derive(Debug, Clone)]
pub struct VisionOneTarget {
    pub(crate) region: Option<Region>,
    pub(crate) base_url: Option<String>,
    pub(crate) key_ref: String,
    pub(crate) batch_size: Option<usize>,
    pub(crate) capacity_per_type: usize,
    pub(crate) reserve_per_type: usize,
    pub(crate) when_full: WhenFull,
}

/// What a one-off or trigger block does when its type is at the target's capacity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Remove iocsync's own lowest-ranked workflow object of that type to make room (reported;
    /// the workflow adds it back when room returns).
    #[default]
    Displace,
    /// Answer "not blocked: capacity reached".
    Refuse,
}

/// How many objects of one type a Vision One suspicious-object list holds (Trend's limit for
/// third-party objects).
pub const V1_CAPACITY_PER_TYPE: usize = 10_000;

/// How many of them workflows leave free for one-off and trigger blocks, by default.
pub const DEFAULT_RESERVE_PER_TYPE: usize = 100;

/// How many exceptions a Vision One exception list holds in all.
pub const V1_EXCEPTION_CAPACITY: usize = 5_000;

/// One target list's room: workflows together keep `capacity − reserve` objects per bucket
/// (a type, or the whole list), one-off and trigger blocks may fill it to `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub capacity: usize,
    pub reserve: usize,
    /// Whether the limit is per object type (suspicious objects) or for the whole list.
    pub per_type: bool,
    pub when_full: WhenFull,
}

impl VisionOneTarget {
    /// The room of this target's suspicious-object list.
    pub fn suspicious_capacity(&self) -> Capacity {
        Capacity {
            capacity: self.capacity_per_type,
            reserve: self.reserve_per_type,
            per_type: true,
            when_full: self.when_full,
        }
    }

    /// The room of this target's exception list: 5,000 in all, no reserve (only workflows
    /// write exceptions).
    pub fn exception_capacity(&self) -> Capacity {
        Capacity {
            capacity: V1_EXCEPTION_CAPACITY,
            reserve: 0,
            per_type: false,
            when_full: WhenFull::Refuse,
        }
    }

    /// The client settings of `target` (this product's), resolving the key.
    pub fn config(&self, target: &Target) -> Result<VisionOneConfig, ConfigError> {
        let reachable = Reachable {
            target,
            key_ref: &self.key_ref,
            base_url: self.base_url.as_deref(),
            region: self.region,
        };
        let mut config =
            reachable.build(VisionOneConfig::with_base_url, VisionOneConfig::with_region)?;
        config.http = target.http.clone();
        if let Some(size) = self.batch_size {
            config.suspicious_batch_size = size;
            config.exception_batch_size = size;
        }
        Ok(config)
    }
}

/// Validates a `vision-one` section, pushing every error at its key path.
pub(crate) fn validate(path: &str, s: VisionOneSection, errors: &mut Vec<ConfigError>) -> Target {
    let reached = reached(
        path,
        &s.reach(),
        &Endpoint::api(s.base_url.as_deref()),
        errors,
    );
    let key_ref = api_key(path, s.api_key, errors);
    let region = region(path, s.region.as_deref(), s.base_url.is_some(), errors);
    let (capacity_per_type, reserve_per_type) =
        capacity_keys(path, s.capacity_per_type, s.reserve_per_type, errors)
            .unwrap_or((V1_CAPACITY_PER_TYPE, DEFAULT_RESERVE_PER_TYPE));
    let settings = VisionOneTarget {
        key_ref,
        region,
        base_url: s.base_url,
        batch_size: reached.batch_size,
        capacity_per_type,
        reserve_per_type,
        when_full: s.when_full.unwrap_or_default(),
    };
    Target::new(reached, Settings::VisionOne(settings))
}

/// `capacity_per_type` and `reserve_per_type`: the list's limit and the room workflows leave
/// for one-off and trigger blocks.
fn capacity_keys(
    path: &str,
    capacity: Option<usize>,
    reserve: Option<usize>,
    errors: &mut Vec<ConfigError>,
) -> Option<(usize, usize)> {
    let capacity = capacity.unwrap_or(V1_CAPACITY_PER_TYPE);
    if capacity == 0 {
        errors.push(invalid(
            format!("{path}.capacity_per_type"),
            "must be at least 1",
        ));
        return None;
    }
    let reserve = reserve.unwrap_or(DEFAULT_RESERVE_PER_TYPE.min(capacity / 10));
    if reserve >= capacity {
        errors.push(invalid(
            format!("{path}.reserve_per_type"),
            format!("must be below capacity_per_type ({capacity})"),
        ));
        return None;
    }
    Some((capacity, reserve))
}

/// Risk level sent to Vision One.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskSetting {
    /// From the indicator's score: ≥ `high` → high, ≥ `medium` → medium, else low.
    Score {
        high: u8,
        medium: u8,
    },
    Fixed(RiskLevel),
    Customer,
}

/// Expiry sent to Vision One.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpirySetting {
    Days(u16),
    Never,
    Customer,
    /// The indicator's own `valid_until`; without one, `fallback` days (`None`: never).
    ValidUntil {
        fallback: Option<u16>,
    },
}

/// "Add to Blocklist" parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BlocklistParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// `None`: customer settings.
    pub scan_action: Option<ScanAction>,
    pub risk_level: RiskSetting,
    pub expiry: ExpirySetting,
    /// Most objects of one type iocsync keeps on the list (Vision One holds 10,000 per type).
    pub cap_per_type: usize,
    /// Objects whose pushed expiry is this close are sent again.
    pub renew_within: chrono::Duration,
}

/// "Add to Exception List" parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// Most exceptions iocsync keeps (Vision One holds 5,000 in all).
    pub cap: usize,
}

const RISK_LEVELS: &[&str] = &["score", "high", "medium", "low", "customer"];
const SCAN_ACTIONS: &[&str] = &["block", "log", "customer"];

// Describes the keys `blocklist_params` reads, for the schema.
/// The `parameters` of `action = "blocklist"` (Vision One's suspicious-object list).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct BlocklistKeys {
    #[schemars(flatten)]
    common: SchemeKeys,
    /// What Vision One does with a match: `block`, `log`, or `customer` (the tenant's own
    /// setting).
    #[schemars(extend("enum" = SCAN_ACTIONS, "default" = "block"))]
    scan_action: Option<String>,
    /// The risk level sent: `score` (from the indicator's score, see `high_score` and
    /// `medium_score`), a fixed `high`, `medium` or `low`, or `customer`.
    #[schemars(extend("enum" = RISK_LEVELS, "default" = "score"))]
    risk_level: Option<String>,
    /// With `risk_level = "score"`: a score at least this is high risk.
    #[schemars(range(max = 10), extend("default" = 7))]
    high_score: Option<u8>,
    /// With `risk_level = "score"`: a score at least this (and below `high_score`) is medium
    /// risk, below it low.
    #[schemars(range(max = 10), extend("default" = 4))]
    medium_score: Option<u8>,
    /// How long Vision One keeps an object: days (7, 15, 30, 45, 60, 75 or 90), `"never"`,
    /// `"customer"` (the tenant's setting) or `"valid-until"` (the indicator's own
    /// `valid_until`, else `fallback_expiry`).
    #[schemars(with = "Option<ExpiryKey>", extend("default" = 30))]
    expiry: Option<u16>,
    /// With `expiry = "valid-until"`: days (1 to 365) for an indicator without a valid-until,
    /// or `"never"`.
    #[schemars(with = "Option<FallbackExpiryKey>", extend("default" = 30))]
    fallback_expiry: Option<u16>,
    /// Most objects of one type iocsync keeps on the list (Vision One holds 10,000 per type).
    #[schemars(range(min = 1, max = 10_000), extend("default" = 9_900))]
    cap_per_type: Option<u16>,
    /// Objects whose pushed expiry is this many days away or closer are sent again.
    #[schemars(range(max = 365), extend("default" = 3))]
    renew_within_days: Option<u16>,
}

/// `expiry` as written.
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
#[expect(dead_code, reason = "describes a key read by hand; never built")]
enum ExpiryKey {
    #[schemars(extend("enum" = [7, 15, 30, 45, 60, 75, 90]))]
    Days(u8),
    #[schemars(extend("enum" = ["never", "customer", "valid-until"]))]
    Word(String),
}

/// `fallback_expiry` as written.
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
#[expect(dead_code, reason = "describes a key read by hand; never built")]
enum FallbackExpiryKey {
    #[schemars(extend("minimum" = 1, "maximum" = 365))]
    Days(u16),
    #[schemars(extend("const" = "never"))]
    Never(String),
}

// Describes the keys `exception_params` reads, for the schema.
/// The `parameters` of `action = "exceptions"` (Vision One's exception list).
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct ExceptionKeys {
    #[schemars(flatten)]
    common: SchemeKeys,
    /// Most exceptions iocsync keeps (Vision One holds 5,000 in all).
    #[schemars(range(min = 1, max = 5_000), extend("default" = 4_900))]
    cap: Option<u16>,
}

/// "Add to block list" (v3 response) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// Most objects of one type iocsync keeps blocked (they land on the suspicious-object
    /// list, which holds 10,000 per type).
    pub cap_per_type: usize,
    /// How long to wait for each task to reach a final status.
    pub task_timeout: std::time::Duration,
    /// How many values may be outstanding at once (sent, their tasks not yet final).
    pub in_flight: usize,
}

// Describes the keys `response_params` reads, for the schema.
/// The `parameters` of `action = "response-block"` (Vision One v3 "Add to block list").
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes keys read by hand; never built")]
pub(crate) struct ResponseKeys {
    #[schemars(flatten)]
    common: SchemeKeys,
    /// Most objects of one type iocsync keeps blocked (they land on the suspicious-object
    /// list, which holds 10,000 per type).
    #[schemars(range(min = 1, max = 10_000), extend("default" = 9_900))]
    cap_per_type: Option<u16>,
    /// How long to wait, in seconds, for each value's task to reach a final status.
    #[schemars(range(min = 1, max = 3600), extend("default" = 120))]
    task_timeout_secs: Option<u16>,
    /// How many values may be outstanding at once (their tasks not yet final); they are
    /// sent in requests of at most 100.
    #[schemars(range(min = 1, max = 1000), extend("default" = 200))]
    in_flight: Option<u16>,
}

pub(crate) fn response_params(r: &mut Reader<'_>) -> ResponseParams {
    ResponseParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        cap_per_type: r
            .integer("cap_per_type", 1, V1_CAPACITY_PER_TYPE as i64)
            .unwrap_or(9_900) as usize,
        task_timeout: std::time::Duration::from_secs(
            r.integer("task_timeout_secs", 1, 3600).unwrap_or(120) as u64,
        ),
        in_flight: r.integer("in_flight", 1, 1000).unwrap_or(200) as usize,
    }
}

pub(crate) fn blocklist_params(r: &mut Reader<'_>) -> BlocklistParams {
    let high = r.integer("high_score", 0, 10).unwrap_or(7) as u8;
    let medium = r.integer("medium_score", 0, 10).unwrap_or(4) as u8;
    if medium > high {
        r.fail("medium_score", "must not be above `high_score`");
    }
    let risk_level = match r.string("risk_level", RISK_LEVELS) {
        None | Some("score") => RiskSetting::Score { high, medium },
        Some("high") => RiskSetting::Fixed(RiskLevel::High),
        Some("medium") => RiskSetting::Fixed(RiskLevel::Medium),
        Some("low") => RiskSetting::Fixed(RiskLevel::Low),
        Some(_) => RiskSetting::Customer,
    };
    let scan_action = match r.string("scan_action", SCAN_ACTIONS) {
        None | Some("block") => Some(ScanAction::Block),
        Some("log") => Some(ScanAction::Log),
        Some(_) => None,
    };
    BlocklistParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        scan_action,
        risk_level,
        expiry: expiry(r),
        cap_per_type: r.integer("cap_per_type", 1, 10_000).unwrap_or(9_900) as usize,
        renew_within: chrono::Duration::days(r.integer("renew_within_days", 0, 365).unwrap_or(3)),
    }
}

pub(crate) fn exception_params(r: &mut Reader<'_>) -> ExceptionParams {
    ExceptionParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        cap: r.integer("cap", 1, 5_000).unwrap_or(4_900) as usize,
    }
}

const EXPIRY_CHOICES: &str =
    "expected one of 7, 15, 30, 45, 60, 75, 90, \"never\", \"customer\", \"valid-until\"";

fn expiry(r: &mut Reader<'_>) -> ExpirySetting {
    match r.raw("expiry") {
        None => ExpirySetting::Days(30),
        Some(toml::Value::Integer(days @ (7 | 15 | 30 | 45 | 60 | 75 | 90))) => {
            ExpirySetting::Days(*days as u16)
        }
        Some(toml::Value::String(s)) if s == "never" => ExpirySetting::Never,
        Some(toml::Value::String(s)) if s == "customer" => ExpirySetting::Customer,
        Some(toml::Value::String(s)) if s == "valid-until" => ExpirySetting::ValidUntil {
            fallback: fallback_expiry(r),
        },
        Some(_) => {
            r.fail("expiry", EXPIRY_CHOICES);
            ExpirySetting::Days(30)
        }
    }
}

/// `fallback_expiry` of `expiry = "valid-until"`: days (1-365) for an indicator without a
/// valid-until, or "never"; 30 days when not given.
fn fallback_expiry(r: &mut Reader<'_>) -> Option<u16> {
    match r.raw("fallback_expiry") {
        None => Some(30),
        Some(toml::Value::Integer(days @ 1..=365)) => Some(*days as u16),
        Some(toml::Value::String(s)) if s == "never" => None,
        Some(_) => {
            r.fail("fallback_expiry", "expected days (1 to 365) or \"never\"");
            None
        }
    }
}
