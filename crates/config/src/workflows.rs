//! `[[workflows]]`: a collection kept on a target by one action, with its schedule, the feeds
//! it follows, its removal brake ([`Brake`]) and its objects' description template.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{ConfigError, invalid};
use crate::feeds::Feed;
use crate::parameters::{
    HttpParams, Parameters, Reader, blocklist_params, exception_params, ip_list_params,
    objects_per_run, xdr_params,
};
use crate::schedule::{Schedule, parse_schedule, positive_duration};
use crate::targets::{Product, Target};
use crate::template::ValueTemplate;

/// The claimant name of one-off blocks (`iocsync block`) in the ledger: no workflow may have it.
pub const MANUAL_CLAIMANT: &str = "manual";
/// What a trigger's claimant name starts with in the ledger (`hook:<trigger>`): no workflow
/// name may start so.
pub const TRIGGER_CLAIMANT_PREFIX: &str = "hook:";

/// Whether `name` may name a workflow without its ledger key reading as another claimant's.
pub fn valid_workflow_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name != MANUAL_CLAIMANT
        && !name.starts_with(TRIGGER_CLAIMANT_PREFIX)
        && !name.contains('/')
}

/// The placeholders a workflow's `description` template may use.
pub const DESCRIPTION_FIELDS: &[&str] = &[
    "value",
    "kind",
    "score",
    "tags",
    "source",
    "sources",
    "description",
];

/// What a workflow does on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Vision One suspicious-object list ("Add to Blocklist").
    Blocklist,
    /// Vision One exception list.
    Exceptions,
    /// Deep Security / Workload Security IP lists ("Export Indicators").
    IpList,
    /// XDR v2 block (one value at a time; removal is restore-block).
    XdrBlock,
    /// One templated webhook call per new or changed value.
    Http,
}

impl Action {
    /// The product whose targets take this action.
    pub fn product(self) -> Product {
        match self {
            Action::Blocklist | Action::Exceptions => Product::VisionOne,
            Action::IpList => Product::DeepSecurity,
            Action::XdrBlock => Product::XdrV2,
            Action::Http => Product::Http,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkflow {
    name: String,
    collection: String,
    target: String,
    action: Action,
    #[serde(default)]
    parameters: toml::Table,
    schedule: Option<String>,
    max_removals: Option<toml::Value>,
    #[serde(default)]
    adopt_existing: bool,
    verify_every: Option<String>,
    description: Option<String>,
    #[serde(default)]
    after: Vec<String>,
}

/// Which feed pulls make the daemon run a workflow at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum After {
    /// Only its schedule (or by hand).
    #[default]
    Nothing,
    /// Any feed pull that changed the library (`schedule = "after-feeds"`).
    AnyFeed,
    /// A pull of one of these feeds that changed the library (`after = ["feodo"]`).
    Feeds(Vec<String>),
}

impl After {
    /// Whether a pull of `feed` that changed the library makes the workflow run.
    pub fn follows(&self, feed: &str) -> bool {
        match self {
            After::Nothing => false,
            After::AnyFeed => true,
            After::Feeds(names) => names.iter().any(|name| name == feed),
        }
    }
}

/// One workflow, validated.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub collection: String,
    pub target: String,
    pub parameters: Parameters,
    pub schedule: Option<Schedule>,
    /// The bound on what one run may remove.
    pub max_removals: Brake,
    /// Take over objects already on the target that iocsync did not create.
    pub adopt_existing: bool,
    /// How often the daemon runs this workflow with `--verify` (`None`: never).
    pub verify_every: Option<Duration>,
    /// What the objects' descriptions say after iocsync's marker (`None`: the indicator's own
    /// description).
    pub description: Option<ValueTemplate>,
    /// Feed pulls that make the daemon run it at once.
    pub after: After,
}

/// The removal brake: how many removals one run may send before the rest are held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Brake {
    /// At most this many.
    Count(usize),
    /// At most this share (0–100) of what the workflow holds, and never fewer than `floor`.
    Percent { percent: f64, floor: usize },
}

/// The default brake: 10% of what the workflow holds, at least 100.
pub const DEFAULT_BRAKE: Brake = Brake::Percent {
    percent: 10.0,
    floor: 100,
};

/// Default interval of the daemon's verifying pass.
pub const DEFAULT_VERIFY_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A workflow holding more than this many objects never loses all of them in one run without
/// a person releasing it.
pub const HANDFUL: usize = 10;

impl Brake {
    /// How many removals a run of a workflow that holds `held` objects may send.
    pub fn limit(self, held: usize) -> usize {
        match self {
            Brake::Count(n) => n,
            Brake::Percent { percent, floor } => {
                let share = (held as f64 * percent / 100.0).ceil() as usize;
                share.max(floor)
            }
        }
    }

    /// Why `removals` of `held` must wait for a person, or `None` when they may go.
    pub fn holds(self, removals: usize, held: usize) -> Option<String> {
        if removals == 0 {
            return None;
        }
        let limit = self.limit(held);
        if removals > limit {
            return Some(format!(
                "{removals} removals exceed max_removals ({}, {limit} for {held} held objects)",
                self.describe()
            ));
        }
        if removals >= held && held > HANDFUL {
            return Some(format!(
                "the run would remove every one of the {held} objects the workflow holds"
            ));
        }
        None
    }

    fn describe(self) -> String {
        match self {
            Brake::Count(n) => n.to_string(),
            Brake::Percent { percent, floor } => format!("{percent}% with a floor of {floor}"),
        }
    }
}

/// A workflow's `description`: text with `$value`, `$kind`, `$score`, `$tags`, `$source`,
/// `$sources` and `$description` placeholders.
fn description_template(key: &str, text: &str) -> Result<ValueTemplate, ConfigError> {
    let template = ValueTemplate::parse(text);
    match template
        .fields()
        .into_iter()
        .find(|f| !DESCRIPTION_FIELDS.contains(f))
    {
        Some(unknown) => Err(invalid(
            key,
            format!(
                "`${unknown}` is not a field; use {}",
                DESCRIPTION_FIELDS
                    .iter()
                    .map(|f| format!("${f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => Ok(template),
    }
}

fn parse_brake(key: &str, value: Option<toml::Value>) -> Result<Brake, ConfigError> {
    const EXPECTED: &str =
        "expected a count (50) or a percentage of what the workflow holds (\"10%\")";
    match value {
        None => Ok(DEFAULT_BRAKE),
        Some(toml::Value::Integer(n)) if n >= 0 => Ok(Brake::Count(n as usize)),
        Some(toml::Value::String(text)) => {
            let percent = text
                .trim()
                .strip_suffix('%')
                .and_then(|n| n.trim().parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| invalid(key, EXPECTED))?;
            let floor = match DEFAULT_BRAKE {
                Brake::Percent { floor, .. } => floor,
                Brake::Count(n) => n,
            };
            Ok(Brake::Percent { percent, floor })
        }
        Some(_) => Err(invalid(key, EXPECTED)),
    }
}

/// Deep Security lists are written whole, so two workflows must never share one list family.
pub(crate) fn one_workflow_per_ip_list(workflows: &[Workflow]) -> Result<(), ConfigError> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, workflow) in workflows.iter().enumerate() {
        if let Parameters::IpList(params) = &workflow.parameters
            && let Some(first) = seen.insert((&workflow.target, &params.list_name), &workflow.name)
        {
            return Err(invalid(
                format!("workflows[{i}].parameters.list_name"),
                format!(
                    "`{}` on target `{}` is already written by workflow `{first}`: IP lists are written whole, give each workflow its own list_name",
                    params.list_name, workflow.target
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn validate_workflow(
    i: usize,
    raw: RawWorkflow,
    targets: &[Target],
    feeds: &[Feed],
) -> Result<Workflow, ConfigError> {
    let path = format!("workflows[{i}]");
    if !valid_workflow_name(&raw.name) {
        return Err(invalid(
            format!("{path}.name"),
            "must not be empty, `manual`, start with `hook:` or contain `/` (those name other claimants in the ledger)",
        ));
    }
    let target = targets
        .iter()
        .find(|t| t.name == raw.target)
        .ok_or_else(|| {
            invalid(
                format!("{path}.target"),
                format!("no target `{}`", raw.target),
            )
        })?;
    // A collection may also live in the library (`iocsync collections add`): an unknown
    // name is reported when the workflow runs.
    if raw.collection.trim().is_empty() {
        return Err(invalid(format!("{path}.collection"), "must not be empty"));
    }
    if target.product != raw.action.product() {
        return Err(invalid(
            format!("{path}.action"),
            format!(
                "action {:?} does not apply to target `{}` ({:?})",
                raw.action, target.name, target.product
            ),
        ));
    }
    let mut reader = Reader::new(format!("{path}.parameters"), &raw.parameters);
    let parameters = match raw.action {
        Action::Blocklist => Parameters::Blocklist(blocklist_params(&mut reader)?),
        Action::Exceptions => Parameters::Exceptions(exception_params(&mut reader)?),
        Action::IpList => Parameters::IpList(ip_list_params(&mut reader, &raw.name)?),
        Action::XdrBlock => Parameters::XdrBlock(xdr_params(&mut reader)?),
        Action::Http => Parameters::Http(HttpParams {
            objects_per_run: objects_per_run(&mut reader)?,
        }),
    };
    reader.finish()?;
    let (schedule, after) = workflow_timing(&path, raw.schedule, raw.after, feeds)?;
    let max_removals = parse_brake(&format!("{path}.max_removals"), raw.max_removals)?;
    let verify_every = match raw.verify_every.as_deref() {
        None => Some(DEFAULT_VERIFY_EVERY),
        Some("never") => None,
        Some(text) => Some(positive_duration(&format!("{path}.verify_every"), text)?),
    };
    let description = raw
        .description
        .as_deref()
        .map(|text| description_template(&format!("{path}.description"), text))
        .transpose()?;
    Ok(Workflow {
        name: raw.name,
        collection: raw.collection,
        target: raw.target,
        parameters,
        schedule,
        max_removals,
        adopt_existing: raw.adopt_existing,
        verify_every,
        description,
        after,
    })
}

/// A workflow's `schedule` and `after`: `schedule = "after-feeds"` follows every feed, `after`
/// names feeds of this config.
fn workflow_timing(
    path: &str,
    schedule: Option<String>,
    after: Vec<String>,
    feeds: &[Feed],
) -> Result<(Option<Schedule>, After), ConfigError> {
    for (j, name) in after.iter().enumerate() {
        if !feeds.iter().any(|feed| &feed.name == name) {
            return Err(invalid(
                format!("{path}.after[{j}]"),
                format!("no feed `{name}` in [[feeds]]"),
            ));
        }
    }
    let after = if after.is_empty() {
        After::Nothing
    } else {
        After::Feeds(after)
    };
    match schedule.as_deref() {
        Some("after-feeds") if after != After::Nothing => Err(invalid(
            format!("{path}.after"),
            "schedule = \"after-feeds\" already follows every feed",
        )),
        Some("after-feeds") => Ok((None, After::AnyFeed)),
        Some(text) => parse_schedule(text)
            .map(|schedule| (Some(schedule), after))
            .map_err(|reason| invalid(format!("{path}.schedule"), reason)),
        None => Ok((None, after)),
    }
}
