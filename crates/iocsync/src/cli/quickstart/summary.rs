//! What the quickstart did, as tables or as JSON: the feeds imported, one row per workflow
//! run, the webhook trigger's answer, and what now sits in the emulator (read back from its
//! `/_emulator/state`, not from iocsync's own records).

use crate::cli::out::outln;
use std::collections::BTreeMap;

use comfy_table::{Table, presets};
use engine::RunReport;
use serde::Serialize;
use store::RunStatus;

use super::samples::Imported;

/// One workflow run.
#[derive(Debug, Serialize)]
pub struct WorkflowRow {
    pub workflow: String,
    pub action: String,
    pub target: String,
    pub status: RunStatus,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// Skipped for a reason other than the guard (a kind the target takes no value of ...).
    pub skipped: usize,
    pub refused_by_guard: usize,
    pub deferred: usize,
    pub failed: usize,
    pub api_calls: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl WorkflowRow {
    pub fn new(report: &RunReport) -> Self {
        let refused = report.plan.drops.len();
        WorkflowRow {
            workflow: report.workflow.clone(),
            action: serde_json::to_value(report.plan.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            target: report.target.clone(),
            status: report.status(),
            added: report.added,
            updated: report.updated,
            removed: report.removed,
            skipped: report.skipped.saturating_sub(refused),
            refused_by_guard: refused,
            deferred: report.deferred,
            failed: report.failed.len(),
            api_calls: report.api_calls,
            errors: report.messages(),
        }
    }

    /// Objects added, updated or removed.
    pub fn changes(&self) -> usize {
        self.added + self.updated + self.removed
    }
}

/// What sits in the emulator, per list and object type.
#[derive(Debug, Default, Serialize)]
pub struct EmulatorCounts {
    /// Vision One suspicious objects by type (`ip`, `domain`, `url`, ...).
    pub suspicious_objects: BTreeMap<String, usize>,
    /// Vision One exceptions by type.
    pub exceptions: BTreeMap<String, usize>,
    /// Deep Security IP lists written by iocsync: name → entries.
    pub ip_lists: BTreeMap<String, usize>,
    /// XDR v2 blocks by value type.
    pub xdr_blocked: BTreeMap<String, usize>,
    /// Apex Central user-defined suspicious objects by type.
    pub udso: BTreeMap<String, usize>,
}

impl EmulatorCounts {
    /// Counts a snapshot; only the IP lists whose names start with one of `list_prefixes`
    /// (the built-in lists of a manager are not iocsync's).
    pub fn of(snapshot: &emulator::Snapshot, list_prefixes: &[String]) -> Self {
        let mut counts = EmulatorCounts::default();
        for object in &snapshot.suspicious_objects {
            *counts
                .suspicious_objects
                .entry(object.kind.key().to_owned())
                .or_default() += 1;
        }
        for object in &snapshot.exceptions {
            *counts
                .exceptions
                .entry(object.kind.key().to_owned())
                .or_default() += 1;
        }
        for list in &snapshot.ip_lists {
            if list_prefixes
                .iter()
                .any(|p| list.name.starts_with(p.as_str()))
            {
                counts.ip_lists.insert(list.name.clone(), list.items.len());
            }
        }
        for block in &snapshot.xdr_blocked {
            *counts
                .xdr_blocked
                .entry(block.value_type.clone())
                .or_default() += 1;
        }
        for object in &snapshot.udso {
            *counts
                .udso
                .entry(object.kind.as_str().to_owned())
                .or_default() += 1;
        }
        counts
    }
}

/// Everything the quickstart reports.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub dir: String,
    pub config: String,
    pub imported: Vec<Imported>,
    pub workflows: Vec<WorkflowRow>,
    /// The answer of each webhook trigger fired, by trigger name.
    pub triggers: BTreeMap<String, serde_json::Value>,
    /// Targets of the example left out (they need a real receiver).
    pub left_out: Vec<String>,
    pub emulator: EmulatorCounts,
    /// Objects added, updated or removed by every workflow (0 on a re-run).
    pub changes: usize,
}

/// Prints the summary as tables.
pub fn print(summary: &Summary) {
    outln!("{}", feeds_table(&summary.imported));
    outln!();
    outln!("{}", workflows_table(&summary.workflows));
    for (name, answer) in &summary.triggers {
        outln!();
        outln!("webhook trigger `{name}`:");
        outln!("{}", trigger_table(answer));
    }
    outln!();
    outln!("{}", emulator_table(&summary.emulator));
    if !summary.left_out.is_empty() {
        outln!(
            "left out (needs a real receiver): target {}",
            summary.left_out.join(", ")
        );
    }
    outln!(
        "{} changes sent; a second quickstart in {} sends none.",
        summary.changes,
        summary.dir
    );
    if let Some(first) = summary.workflows.first() {
        outln!(
            "next: iocsync --config {} plan {}   (or: runs, config check, serve)",
            summary.config,
            first.workflow
        );
    }
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(header);
    table
}

fn feeds_table(imported: &[Imported]) -> Table {
    let mut out = table(&[
        "feed", "format", "pull", "listed", "new", "invalid", "skipped",
    ]);
    for feed in imported {
        out.add_row([
            feed.feed.to_owned(),
            feed.format.to_owned(),
            feed.outcome.to_string(),
            feed.sightings.to_string(),
            feed.new.to_string(),
            feed.invalid.to_string(),
            feed.skipped.to_string(),
        ]);
    }
    out
}

fn workflows_table(rows: &[WorkflowRow]) -> Table {
    let mut out = table(&[
        "workflow",
        "action",
        "added",
        "updated",
        "removed",
        "skipped",
        "refused by guard",
        "failed",
        "API calls",
        "status",
    ]);
    for row in rows {
        out.add_row([
            row.workflow.clone(),
            row.action.clone(),
            row.added.to_string(),
            row.updated.to_string(),
            row.removed.to_string(),
            row.skipped.to_string(),
            row.refused_by_guard.to_string(),
            row.failed.to_string(),
            row.api_calls.to_string(),
            row.status.to_string(),
        ]);
    }
    out
}

/// One row per value of a trigger's JSON answer: what was done to it, and why.
fn trigger_table(answer: &serde_json::Value) -> Table {
    let mut out = table(&["value", "kind", "outcome", "detail"]);
    let values = answer["values"].as_array().map_or(&[][..], Vec::as_slice);
    for value in values {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        let detail = match (value["rule"].as_str(), value["lift_at"].as_str()) {
            (Some(rule), _) => format!("guard {rule}: {}", text("reason")),
            (None, Some(at)) => match at.parse::<chrono::DateTime<chrono::Utc>>() {
                Ok(at) => format!("until {}", at.format("%Y-%m-%d %H:%M UTC")),
                Err(_) => format!("until {at}"),
            },
            (None, None) => [text("reason"), text("message")].concat(),
        };
        let shown = value["value"]
            .as_str()
            .map_or_else(|| text("input"), str::to_owned);
        out.add_row([shown, text("kind"), text("outcome"), detail]);
    }
    out
}

fn emulator_table(counts: &EmulatorCounts) -> Table {
    let mut out = table(&["in the emulator", "type / list", "count"]);
    let sections = [
        ("Vision One suspicious objects", &counts.suspicious_objects),
        ("Vision One exceptions", &counts.exceptions),
        ("Deep Security IP lists", &counts.ip_lists),
        ("XDR v2 blocks", &counts.xdr_blocked),
        ("Apex Central UDSO", &counts.udso),
    ];
    for (label, entries) in sections {
        if entries.is_empty() {
            out.add_row([label, "-", "0"]);
        }
        for (name, count) in entries {
            out.add_row([label.to_owned(), name.clone(), count.to_string()]);
        }
    }
    out
}
