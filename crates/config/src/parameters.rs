//! A workflow's `parameters` table, per action ([`Parameters`]), read key by key so that
//! every error names its key path and a key nothing reads is refused.

use std::collections::BTreeSet;
use std::time::Duration;

use store::Class;
use trendmicro::vision_one::{RiskLevel, ScanAction};

use crate::error::{ConfigError, invalid};
use crate::workflows::Action;

/// Per-action parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Parameters {
    Blocklist(BlocklistParams),
    Exceptions(ExceptionParams),
    IpList(IpListParams),
    XdrBlock(XdrParams),
    Http(HttpParams),
}

impl Parameters {
    pub fn action(&self) -> Action {
        match self {
            Parameters::Blocklist(_) => Action::Blocklist,
            Parameters::Exceptions(_) => Action::Exceptions,
            Parameters::IpList(_) => Action::IpList,
            Parameters::XdrBlock(_) => Action::XdrBlock,
            Parameters::Http(_) => Action::Http,
        }
    }
}

/// What to do with a URL written without a scheme (Vision One needs one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlScheme {
    Http,
    Https,
    Both,
    Skip,
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

/// "Export Indicators" (Deep Security IP lists) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct IpListParams {
    pub list_name: String,
    pub clear_on_manual_run: bool,
    pub objects_per_run: Option<usize>,
    pub aggregate: bool,
    pub include: Vec<Class>,
    /// Characters per part (Deep Security takes 32,000).
    pub max_chars: usize,
}

/// XDR v2 block parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct XdrParams {
    pub url_scheme: UrlScheme,
    pub objects_per_run: Option<usize>,
    /// `productId` sent with each block (the seed's webhook sends its own name).
    pub product_id: String,
    /// How long to wait for each task to reach a final status.
    pub task_timeout: Duration,
}

/// HTTP template parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpParams {
    pub objects_per_run: Option<usize>,
}

pub(crate) fn blocklist_params(r: &mut Reader<'_>) -> BlocklistParams {
    let high = r.integer("high_score", 0, 10).unwrap_or(7) as u8;
    let medium = r.integer("medium_score", 0, 10).unwrap_or(4) as u8;
    if medium > high {
        r.fail("medium_score", "must not be above `high_score`");
    }
    let risk_level = match r.string(
        "risk_level",
        &["score", "high", "medium", "low", "customer"],
    ) {
        None | Some("score") => RiskSetting::Score { high, medium },
        Some("high") => RiskSetting::Fixed(RiskLevel::High),
        Some("medium") => RiskSetting::Fixed(RiskLevel::Medium),
        Some("low") => RiskSetting::Fixed(RiskLevel::Low),
        Some(_) => RiskSetting::Customer,
    };
    let scan_action = match r.string("scan_action", &["block", "log", "customer"]) {
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

pub(crate) fn ip_list_params(r: &mut Reader<'_>, workflow: &str) -> IpListParams {
    let list_name = match r.raw("list_name") {
        None => workflow.to_owned(),
        Some(toml::Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(_) => {
            r.fail("list_name", "expected a non-empty string");
            workflow.to_owned()
        }
    };
    let include = match r.raw("include") {
        None => vec![Class::Indicator, Class::Asset],
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let classes: Option<Vec<Class>> = items
                .iter()
                .map(|item| item.as_str().and_then(|s| s.parse::<Class>().ok()))
                .collect();
            classes.unwrap_or_else(|| {
                r.fail("include", "expected \"indicator\" and/or \"asset\"");
                Vec::new()
            })
        }
        Some(_) => {
            r.fail("include", "expected [\"indicator\", \"asset\"]");
            Vec::new()
        }
    };
    IpListParams {
        list_name,
        clear_on_manual_run: r.boolean("clear_on_manual_run").unwrap_or(false),
        objects_per_run: objects_per_run(r),
        aggregate: r.boolean("aggregate").unwrap_or(true),
        include,
        max_chars: r
            .integer(
                "max_chars",
                100,
                trendmicro::deep_security::IP_LIST_MAX_CHARS as i64,
            )
            .unwrap_or(trendmicro::deep_security::IP_LIST_MAX_CHARS as i64)
            as usize,
    }
}

pub(crate) fn xdr_params(r: &mut Reader<'_>) -> XdrParams {
    let product_id = match r.raw("product_id") {
        None => "iocsync".to_owned(),
        Some(toml::Value::String(id)) if !id.trim().is_empty() => id.clone(),
        Some(_) => {
            r.fail("product_id", "expected a non-empty string");
            String::new()
        }
    };
    XdrParams {
        url_scheme: url_scheme(r),
        objects_per_run: objects_per_run(r),
        product_id,
        task_timeout: Duration::from_secs(
            r.integer("task_timeout_secs", 1, 3600).unwrap_or(120) as u64
        ),
    }
}

fn url_scheme(r: &mut Reader<'_>) -> UrlScheme {
    match r.string("url_scheme", &["http", "https", "both", "skip"]) {
        None | Some("http") => UrlScheme::Http,
        Some("https") => UrlScheme::Https,
        Some("both") => UrlScheme::Both,
        Some(_) => UrlScheme::Skip,
    }
}

pub(crate) fn objects_per_run(r: &mut Reader<'_>) -> Option<usize> {
    r.integer("objects_per_run", 1, i64::MAX)
        .map(|n| n as usize)
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

/// Reads a `parameters` table key by key, so that each error names its key path, and refuses
/// keys nothing read. A bad value is noted and read as unset, so the keys after it are read too.
pub(crate) struct Reader<'a> {
    path: String,
    table: &'a toml::Table,
    used: BTreeSet<String>,
    errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(path: String, table: &'a toml::Table) -> Self {
        Reader {
            path,
            table,
            used: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Notes what is wrong with key `name`.
    fn fail(&mut self, name: &str, reason: impl Into<String>) {
        let key = self.key(name);
        self.errors.push(invalid(key, reason));
    }

    fn raw(&mut self, name: &str) -> Option<&'a toml::Value> {
        self.used.insert(name.to_owned());
        self.table.get(name)
    }

    fn string(&mut self, name: &str, choices: &[&'static str]) -> Option<&'static str> {
        let found = match self.raw(name)? {
            toml::Value::String(s) => choices.iter().find(|c| **c == s.as_str()).copied(),
            _ => None,
        };
        if found.is_none() {
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            self.fail(name, format!("expected one of {}", quoted.join(", ")));
        }
        found
    }

    fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        match self.raw(name)? {
            toml::Value::Integer(n) if (min..=max).contains(n) => Some(*n),
            _ => {
                self.fail(name, format!("expected an integer from {min} to {max}"));
                None
            }
        }
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            toml::Value::Boolean(b) => Some(*b),
            _ => {
                self.fail(name, "expected true or false");
                None
            }
        }
    }

    /// Every error noted, then every key nothing read.
    pub(crate) fn finish(self) -> Vec<ConfigError> {
        let mut errors = self.errors;
        for unknown in self
            .table
            .keys()
            .filter(|k| !self.used.contains(k.as_str()))
        {
            errors.push(invalid(
                format!("{}.{unknown}", self.path),
                "unknown parameter for this action",
            ));
        }
        errors
    }
}
