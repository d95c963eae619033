//! `[[workflows]]`: a collection kept on a target by one action, with its schedule, the feeds
//! it follows, its removal brake ([`Brake`]) and its objects' description template.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{ConfigError, invalid};
use crate::parameters::Reader;
use crate::schedule::{Schedule, parse_schedule, positive_duration};
use crate::targets::{Action, Parameters, Target};
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

/// One `[[workflows]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::targets::parameters_by_action)]
pub(crate) struct RawWorkflow {
    /// The workflow's name (unique; not `manual`, not starting with `hook:`, no `/`).
    name: String,
    /// The collection it keeps on the target (defined in the file or in the library).
    collection: String,
    /// The target it writes to (a `[[targets]]` name).
    target: String,
    /// What it does on the target; the target's product must take it.
    action: Action,
    /// The action's settings: each action takes its own keys (see the `if`/`then` rules, or
    /// the parameter tables below).
    #[serde(default)]
    #[schemars(with = "crate::schema::ParameterTable")]
    parameters: toml::Table,
    /// When the daemon runs it: an interval (`1h`), a UTC cron expression (`0 */6 * * *`), or
    /// `"after-feeds"` (after any feed pull that changed the library). Without one it runs
    /// by hand or `after` its feeds only.
    #[schemars(with = "Option<crate::schema::ScheduleText>")]
    schedule: Option<String>,
    /// The most removals one run may send before the rest wait for a person: a count (`50`)
    /// or a share of what the workflow holds (`"10%"`, never fewer than 100).
    #[schemars(with = "Option<crate::schema::MaxRemovals>")]
    max_removals: Option<toml::Value>,
    /// Take over objects already on the target that iocsync did not create.
    #[serde(default)]
    adopt_existing: bool,
    /// How often the daemon re-reads the target to verify it (a duration; `"never"` to
    /// turn it off).
    #[schemars(with = "Option<crate::schema::Duration>", extend("default" = "24h"))]
    verify_every: Option<String>,
    /// What the objects' descriptions say after iocsync's marker: text with `$value`,
    /// `$kind`, `$score`, `$tags`, `$source`, `$sources` and `$description` (default: the
    /// indicator's own description).
    description: Option<String>,
    /// Feeds whose pulls, when they change the library, make the daemon run it at once.
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

/// Validates `workflows[i]`, pushing every error; the workflow when there is none. `feeds` are
/// the names of the file's feeds (also those with errors of their own).
pub(crate) fn validate_workflow(
    i: usize,
    raw: RawWorkflow,
    targets: &[Target],
    feeds: &[&str],
    errors: &mut Vec<ConfigError>,
) -> Option<Workflow> {
    let path = format!("workflows[{i}]");
    let key = |name: &str| format!("{path}.{name}");
    let mut found = Vec::new();
    if !valid_workflow_name(&raw.name) {
        found.push(invalid(
            key("name"),
            "must not be empty, `manual`, start with `hook:` or contain `/` (those name other claimants in the ledger)",
        ));
    }
    match targets.iter().find(|t| t.name == raw.target) {
        None => found.push(invalid(
            key("target"),
            format!("no target `{}`", raw.target),
        )),
        Some(target) if target.product() != raw.action.product() => found.push(invalid(
            key("action"),
            format!(
                "action {:?} does not apply to target `{}` ({:?})",
                raw.action,
                target.name,
                target.product()
            ),
        )),
        Some(_) => {}
    }
    // A collection may also live in the library (`iocsync collections add`): an unknown
    // name is reported when the workflow runs (and by `iocsync config check`).
    if raw.collection.trim().is_empty() {
        found.push(invalid(key("collection"), "must not be empty"));
    }
    let mut reader = Reader::new(key("parameters"), &raw.parameters);
    let parameters = Parameters::read(raw.action, &mut reader, &raw.name);
    found.extend(reader.finish());
    let (schedule, after) = workflow_timing(&path, raw.schedule, raw.after, feeds, &mut found);
    let max_removals = parse_brake(&key("max_removals"), raw.max_removals)
        .map_err(|error| found.push(error))
        .unwrap_or(DEFAULT_BRAKE);
    let verify_every = match raw.verify_every.as_deref() {
        None => Some(DEFAULT_VERIFY_EVERY),
        Some("never") => None,
        Some(text) => positive_duration(&key("verify_every"), text)
            .map_err(|error| found.push(error))
            .ok(),
    };
    let description = raw.description.as_deref().and_then(|text| {
        description_template(&key("description"), text)
            .map_err(|error| found.push(error))
            .ok()
    });
    if !found.is_empty() {
        errors.extend(found);
        return None;
    }
    Some(Workflow {
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
    feeds: &[&str],
    errors: &mut Vec<ConfigError>,
) -> (Option<Schedule>, After) {
    for (j, name) in after.iter().enumerate() {
        if !feeds.contains(&name.as_str()) {
            errors.push(invalid(
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
        Some("after-feeds") if after != After::Nothing => {
            errors.push(invalid(
                format!("{path}.after"),
                "schedule = \"after-feeds\" already follows every feed",
            ));
            (None, after)
        }
        Some("after-feeds") => (None, After::AnyFeed),
        Some(text) => match parse_schedule(text) {
            Ok(schedule) => (Some(schedule), after),
            Err(reason) => {
                errors.push(invalid(format!("{path}.schedule"), reason));
                (None, after)
            }
        },
        None => (None, after),
    }
}

/// Deep Security lists are written whole, so two workflows must never share one list family.
pub(crate) fn one_workflow_per_ip_list(
    workflows: &[(usize, Workflow)],
    errors: &mut Vec<ConfigError>,
) {
    let mut seen = std::collections::BTreeMap::new();
    for (i, workflow) in workflows {
        if let Parameters::IpList(params) = &workflow.parameters
            && let Some(first) = seen.insert((&workflow.target, &params.list_name), &workflow.name)
        {
            errors.push(invalid(
                format!("workflows[{i}].parameters.list_name"),
                format!(
                    "`{}` on target `{}` is already written by workflow `{first}`: IP lists are written whole, give each workflow its own list_name",
                    params.list_name, workflow.target
                ),
            ));
        }
    }
}
