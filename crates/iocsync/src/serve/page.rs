//! The status page at `/`: one server-rendered HTML document, refreshed by the browser every
//! few seconds, readable without JavaScript (a few lines only add local times). Every value
//! that comes from the config, the library or a target goes through [`Html::text`], which
//! escapes it; only `&'static str` markup can be written raw, so a value cannot become markup
//! by mistake. [`Html`] also serves the run and look-up pages ([`super::drill`]).

use chrono::{DateTime, Utc};
use store::{Outcome, RunItem, RunRecord};

use super::cluster::View;
use super::status::{Running, Status, TargetStatus, TriggerCall, WorkflowStatus};
use ingest::pull::FeedView;

/// How often the browser reloads the page, in seconds.
const REFRESH_SECONDS: u32 = 5;
/// Errors shown per run (the JSON API has them all).
const ERRORS_SHOWN: usize = 3;

/// An HTML document under construction.
pub(super) struct Html(String);

impl Html {
    /// A document titled `title`, up to the opening of its body (with the page's style, and a
    /// refresh every few seconds when `refresh`), with the header line every page shares.
    pub(super) fn document(title: &str, refresh: bool) -> Html {
        let mut html = Html(String::with_capacity(16 * 1024));
        html.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .raw("<meta name=\"viewport\" content=\"width=device-width\">");
        if refresh {
            html.raw("<meta http-equiv=\"refresh\" content=\"")
                .text(&REFRESH_SECONDS.to_string())
                .raw("\">");
        }
        html.raw("<title>")
            .text(title)
            .raw("</title><style>")
            .raw(STYLE)
            .raw("</style></head><body><h1><a href=\"/\">iocsync</a></h1>")
            .raw("<form class=\"why\" action=\"/why\" method=\"get\"><label>Why is a value (not) blocked? ")
            .raw("<input name=\"value\" type=\"search\" required placeholder=\"203.0.113.5, evil.example, hxxp://…\"></label> ")
            .raw("<button type=\"submit\">Look up</button></form>");
        html
    }

    /// Closes the document (adding the local times).
    pub(super) fn finish(mut self) -> String {
        self.raw(LOCAL_TIMES).raw("</body></html>");
        self.0
    }

    /// Appends markup written in this file.
    pub(super) fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Appends `value` as text (also safe inside a quoted attribute value).
    pub(super) fn text(&mut self, value: &str) -> &mut Self {
        for c in value.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// An instant, readable and machine-readable.
    pub(super) fn when(&mut self, at: DateTime<Utc>) -> &mut Self {
        self.raw("<time datetime=\"")
            .text(&at.to_rfc3339())
            .raw("\">")
            .text(&at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .raw("</time>")
    }

    /// `<td>` with an instant, or empty.
    pub(super) fn when_cell(&mut self, at: Option<DateTime<Utc>>) -> &mut Self {
        self.raw("<td>");
        if let Some(at) = at {
            self.when(at);
        }
        self.raw("</td>")
    }

    /// `<td>value</td>`.
    pub(super) fn cell(&mut self, value: &str) -> &mut Self {
        self.raw("<td>").text(value).raw("</td>")
    }

    /// A link to `path` (written here) followed by `query` (encoded), showing `label`.
    pub(super) fn link(&mut self, path: &'static str, query: &str, label: &str) -> &mut Self {
        self.raw("<a href=\"").raw(path);
        self.0
            .extend(url::form_urlencoded::byte_serialize(query.as_bytes()));
        self.raw("\">").text(label).raw("</a>")
    }

    /// A link to run `id`'s page.
    pub(super) fn run_link(&mut self, id: i64, label: &str) -> &mut Self {
        self.raw("<a href=\"/runs/")
            .text(&id.to_string())
            .raw("\">")
            .text(label)
            .raw("</a>")
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;\
padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}th{background:#f6f8fa}\
.succeeded,.up,.added,.blocked,.lifted,.applied{color:#1a7f37}.failed,.down,.interrupted{color:#cf222e}.partial,.running{color:#9a6700}\
.held,.warn{color:#9a6700;font-weight:600}.brake{background:#fff8c5;padding:.5rem}\
.rooms span{display:block;white-space:nowrap}\
.muted,.refused{color:#57606a}time{white-space:nowrap}h1 a{color:inherit;text-decoration:none}\
form.why{margin:.5rem 0 1rem}form.why input{width:24rem;max-width:60vw}pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem}\
td ul{max-width:32rem;overflow-wrap:anywhere}.stopping{background:#fff8c5;padding:.5rem}ul{margin:0;padding-left:1rem}";

/// Shows each time in the browser's local time too, after the UTC the server wrote; without
/// JavaScript the page reads the same, in UTC.
const LOCAL_TIMES: &str = "<script>for(const t of document.querySelectorAll('time[datetime]')){\
const d=new Date(t.dateTime);if(isNaN(d))continue;const s=document.createElement('span');\
s.className='muted local';s.textContent=' ('+d.toLocaleString()+' local)';t.after(s);}</script>";

/// Renders the whole page.
pub fn render(status: &Status) -> String {
    let mut html = Html::document("iocsync status", true);
    html.raw("<p class=\"muted\">Daemon started ")
        .when(status.started_at)
        .raw(" · page generated ")
        .when(status.generated_at)
        .raw(" · <a href=\"/api/status\">JSON</a> · <a href=\"/metrics\">metrics</a> · <a href=\"/runs\">all runs</a></p>");
    if status.stopping {
        html.raw("<p class=\"stopping\">Shutting down: no new runs; runs in flight finish their batch.</p>");
    }
    reload(&mut html, status.reload.as_ref());
    unreachable(&mut html, &status.cluster);
    held(&mut html, &status.workflows);
    held_feeds(&mut html, &status.feeds);
    workflows(&mut html, &status.workflows);
    feeds(&mut html, &status.feeds);
    targets(&mut html, &status.targets);
    triggers(&mut html, &status.triggers);
    cluster(&mut html, &status.cluster);
    html.finish()
}

/// The page shown instead of the status while the library cannot be reached (nothing in it can
/// be read): what failed, and that this daemon takes no scheduled work meanwhile.
pub fn render_unreachable(error: &str, since: DateTime<Utc>) -> String {
    let mut html = Html::document("iocsync status: library unreachable", true);
    html.raw("<p class=\"brake\" id=\"unreachable\"><strong>The library cannot be reached</strong> (since ")
        .when(since)
        .raw("): ")
        .text(error)
        .raw(". This daemon takes no scheduled work until it can; daemons that reach it go on. ")
        .raw("<a href=\"/api/cluster\">/api/cluster</a> says when it is back.</p>");
    html.finish()
}

/// A banner while this daemon cannot reach the library (it takes no scheduled work).
fn unreachable(html: &mut Html, cluster: &View) {
    if cluster.library.reachable {
        return;
    }
    html.raw("<p class=\"brake\" id=\"unreachable\"><strong>The library cannot be reached</strong> since ")
        .when(cluster.library.since)
        .raw(": ")
        .text(cluster.library.error.as_deref().unwrap_or("no reason given"))
        .raw(". This daemon takes no scheduled work until it can; the others go on.</p>");
}

/// The daemons sharing the library and the work each holds.
fn cluster(html: &mut Html, cluster: &View) {
    html.raw("<h2>Daemons on this library</h2><table id=\"cluster\"><thead><tr><th>Daemon</th>")
        .raw("<th>Host</th><th>Seen until</th><th>Holds</th></tr></thead><tbody>");
    for daemon in &cluster.daemons {
        let this = daemon.holder.host == cluster.this.host && daemon.holder.pid == cluster.this.pid;
        html.raw("<tr><td>")
            .text(&format!("pid {}", daemon.holder.pid))
            .raw(if this { " (this one)" } else { "" })
            .raw("</td>")
            .cell(&daemon.holder.host)
            .when_cell(Some(daemon.seen_until))
            .cell(&daemon.holds.join(", "))
            .raw("</tr>");
    }
    for lease in &cluster.others {
        html.raw("<tr><td>")
            .text(&lease.holder.holder)
            .raw("</td>")
            .cell(&lease.holder.host)
            .when_cell(Some(lease.expires_at))
            .cell(&lease.name)
            .raw("</tr>");
    }
    html.raw("</tbody></table>");
}

fn workflows(html: &mut Html, workflows: &[WorkflowStatus]) {
    html.raw("<h2>Workflows</h2>");
    if workflows.is_empty() {
        html.raw("<p class=\"muted\">No workflow is configured.</p>");
        return;
    }
    html.raw("<table id=\"workflows\"><thead><tr><th>Workflow</th><th>Action</th>")
        .raw("<th>Target</th><th>Schedule</th><th>Next run</th><th>Now</th>")
        .raw("<th>Last run</th><th>Items</th><th>Errors</th><th>On target</th><th>Last success</th></tr></thead><tbody>");
    for workflow in workflows {
        html.raw("<tr data-workflow=\"")
            .text(&workflow.name)
            .raw("\"><td>")
            .link("/runs?name=", &workflow.name, &workflow.name)
            .raw("</td>")
            .cell(&kebab(&workflow.action))
            .cell(&workflow.target)
            .cell(workflow.schedule.as_deref().unwrap_or("by hand"))
            .when_cell(workflow.next_run);
        now_cell(html, workflow.running.as_ref(), workflow.failures);
        run_cells(html, workflow.last_run.as_ref());
        // What its claims hold on the target now, whatever the last run changed.
        html.raw("<td class=\"on-target\">")
            .text(&thousands(workflow.ledger_entries))
            .raw("</td>");
        match workflow.last_success {
            Some(at) => {
                html.when_cell(Some(at));
            }
            None => {
                html.raw("<td class=\"muted\">never</td>");
            }
        }
        html.raw("</tr>");
    }
    html.raw("</tbody></table>");
}

/// One line per feed whose last pull was held: why, and how to apply it after looking.
fn held_feeds(html: &mut Html, feeds: &[FeedView]) {
    for feed in feeds {
        let Some(state) = feed.state.as_ref().filter(|s| s.outcome == Outcome::Held) else {
            continue;
        };
        html.raw("<p class=\"brake\" data-held-feed=\"")
            .text(&feed.name)
            .raw("\"><strong>Pull held:</strong> feed ")
            .text(&feed.name)
            .raw(" — ")
            .text(state.reason.as_deref().unwrap_or("it looks broken"))
            .raw(". Nothing was applied and nothing withdrawn; the previous snapshot stays in force. Look at the feed, then <code>iocsync pull ")
            .text(&feed.name)
            .raw(" --accept</code>.</p>");
    }
}

fn feeds(html: &mut Html, feeds: &[FeedView]) {
    html.raw("<h2>Feeds</h2>");
    if feeds.is_empty() {
        html.raw("<p class=\"muted\">No feed is configured.</p>");
        return;
    }
    html.raw("<table id=\"feeds\"><thead><tr><th>Feed</th><th>Mode</th><th>Last pull</th>")
        .raw("<th>Outcome</th><th>Listed</th><th>New</th><th>Withdrawn</th><th>Invalid</th>")
        .raw("<th>Values</th><th>Next pull</th><th>Reason</th></tr></thead><tbody>");
    for feed in feeds {
        let state = feed.state.as_ref();
        let n =
            |f: fn(&store::FeedState) -> u64| state.map_or_else(String::new, |s| f(s).to_string());
        html.raw("<tr data-feed=\"")
            .text(&feed.name)
            .raw("\">")
            .cell(&feed.name)
            .cell(&kebab(&feed.mode))
            .when_cell(state.map(|s| s.last_pull))
            .cell(state.map_or("never", |s| s.outcome.as_str()))
            .cell(&n(|s| s.listed))
            .cell(&n(|s| s.new))
            .cell(&n(|s| s.withdrawn))
            .cell(&n(|s| s.invalid))
            .cell(&n(|s| s.live))
            .when_cell(feed.next_pull)
            .cell(state.and_then(|s| s.reason.as_deref()).unwrap_or(""))
            .raw("</tr>");
    }
    html.raw("</tbody></table>");
}

/// One line per workflow whose last run the brake held: what to look at, how to release.
fn held(html: &mut Html, workflows: &[WorkflowStatus]) {
    for workflow in workflows {
        let Some(run) = workflow
            .last_run
            .as_ref()
            .filter(|run| run.status == store::RunStatus::Held)
        else {
            continue;
        };
        let count = run.counts.get("held").and_then(|v| v.as_u64()).unwrap_or(0);
        html.raw("<p class=\"brake\" data-held=\"")
            .text(&workflow.name)
            .raw("\"><strong>Removals held:</strong> workflow ")
            .text(&workflow.name)
            .raw(" would remove ")
            .text(&count.to_string())
            .raw(" objects at once, more than its brake allows. Nothing was removed; adds and updates go on. Review <code>iocsync plan ")
            .text(&workflow.name)
            .raw("</code>, then release them once with <code>iocsync run ")
            .text(&workflow.name)
            .raw(" --allow-removals</code>.</p>");
    }
}

fn now_cell(html: &mut Html, running: Option<&Running>, failures: u32) {
    match running {
        Some(running) => {
            let progress = if running.total == 0 {
                "planning".to_owned()
            } else {
                format!("{}/{} steps", running.done, running.total)
            };
            html.raw("<td class=\"running\">running since ")
                .when(running.started_at)
                .raw(" (")
                .text(&progress)
                .raw(")</td>");
        }
        None if failures > 0 => {
            html.raw("<td class=\"failed\">idle, ")
                .text(&failures.to_string())
                .raw(" failed in a row</td>");
        }
        None => {
            html.raw("<td class=\"muted\">idle</td>");
        }
    }
}

/// Status and start, the counts, and the errors of a run (or empty cells).
fn run_cells(html: &mut Html, run: Option<&RunRecord>) {
    let Some(run) = run else {
        html.raw("<td class=\"muted\">never</td><td></td><td></td>");
        return;
    };
    status_cell(html, run);
    html.cell(&counts(run));
    errors_cell(html, &run.errors);
}

/// The run's status (linked to its page) and start.
fn status_cell(html: &mut Html, run: &RunRecord) {
    html.raw("<td>");
    status_of(html, run);
    html.raw(" ").when(run.started_at).raw("</td>");
}

/// The run's status, coloured, linked to its page.
pub(super) fn status_of(html: &mut Html, run: &RunRecord) {
    html.raw("<span class=\"")
        .text(run.status.as_str())
        .raw("\">")
        .run_link(run.id, run.status.as_str())
        .raw("</span>");
}

pub(super) fn errors_cell(html: &mut Html, errors: &[String]) {
    html.raw("<td>");
    if !errors.is_empty() {
        html.raw("<ul>");
        for error in errors.iter().take(ERRORS_SHOWN) {
            html.raw("<li>").text(error).raw("</li>");
        }
        if errors.len() > ERRORS_SHOWN {
            html.raw("<li class=\"muted\">and ")
                .text(&(errors.len() - ERRORS_SHOWN).to_string())
                .raw(" more</li>");
        }
        html.raw("</ul>");
    }
    html.raw("</td>");
}

/// The last configuration reload: a banner when it was refused (the daemon runs on the
/// configuration it had), a quiet line when it was put in force.
fn reload(html: &mut Html, reload: Option<&crate::serve::status::Reload>) {
    let Some(reload) = reload else {
        return;
    };
    if reload.accepted {
        html.raw("<p class=\"muted\" id=\"reload\">Configuration reloaded ")
            .when(reload.at)
            .raw("</p>");
        return;
    }
    html.raw("<p class=\"brake\" id=\"reload\"><strong>Configuration reload refused</strong> ")
        .when(reload.at)
        .raw(": ")
        .text(reload.error.as_deref().unwrap_or("no reason given"))
        .raw(". The daemon runs on the configuration it had; fix the file and send SIGHUP again.</p>");
}

fn targets(html: &mut Html, targets: &[TargetStatus]) {
    html.raw("<h2>Targets</h2><table id=\"targets\"><thead><tr><th>Target</th>")
        .raw("<th>Product</th><th>Health</th><th>Checked</th><th>Last run</th>")
        .raw("<th>Ledger entries</th><th>Room</th></tr></thead><tbody>");
    for target in targets {
        html.raw("<tr data-target=\"")
            .text(&target.name)
            .raw("\">")
            .cell(&target.name)
            .cell(&kebab(&target.product))
            .raw("<td><span class=\"")
            .text(target.health.state)
            .raw("\">")
            .text(target.health.state)
            .raw("</span>");
        if let Some(error) = &target.health.error {
            html.raw(": ").text(error);
        }
        html.raw("</td>").when_cell(target.health.checked_at);
        match &target.last_run {
            Some(run) => status_cell(html, run),
            None => {
                html.raw("<td class=\"muted\">never</td>");
            }
        }
        html.cell(&target.ledger_entries.to_string());
        rooms_cell(html, &target.rooms);
        html.raw("</tr>");
    }
    html.raw("</tbody></table>");
}

/// `ip 8,663 / 10,000` per capped bucket, warned from 90% full (where the product starts to
/// evict by itself once it is full).
fn rooms_cell(html: &mut Html, rooms: &[engine::targets::Room]) {
    html.raw("<td class=\"rooms\">");
    if rooms.is_empty() {
        html.raw("<span class=\"muted\">-</span>");
    }
    for room in rooms {
        let class = if room.nearly_full() { "warn" } else { "room" };
        html.raw("<span class=\"")
            .raw(class)
            .raw("\" data-list=\"")
            .text(room.list)
            .raw("\" data-type=\"")
            .text(&room.bucket)
            .raw("\">")
            .text(&format!(
                "{} {} {} / {}",
                room.list,
                room.bucket,
                thousands(room.held),
                thousands(room.capacity)
            ))
            .raw("</span> ");
    }
    html.raw("</td>");
}

/// `8663` as `8,663`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Values shown per trigger call on this page.
const VALUES_SHOWN: usize = 10;

fn triggers(html: &mut Html, triggers: &[TriggerCall]) {
    html.raw("<h2>Recent triggers</h2>");
    if triggers.is_empty() {
        html.raw("<p class=\"muted\">No webhook trigger has been called yet.</p>");
        return;
    }
    html.raw("<table id=\"triggers\"><thead><tr><th>Trigger</th><th>Alert</th><th>Outcome</th>")
        .raw("<th>Items</th><th>Values</th></tr></thead><tbody>");
    for call in triggers {
        let run = &call.run;
        let (name, event) = match engine::keys::runs::lift_of(&run.workflow) {
            Some(trigger) => (trigger, "TTL lift"),
            None => (
                engine::keys::runs::trigger_of(&run.workflow).unwrap_or(&run.workflow),
                "call",
            ),
        };
        html.raw("<tr data-run=\"")
            .text(&run.id.to_string())
            .raw("\"><td>")
            .text(name)
            .raw(" <span class=\"muted\">")
            .text(event)
            .raw("</span></td>")
            .cell(run.subject.as_deref().unwrap_or(""));
        status_cell(html, run);
        html.cell(&counts(run));
        values_cell(html, run, &call.values);
        html.raw("</tr>");
    }
    html.raw("</tbody></table>");
}

/// Each value with its outcome: blocked until its lift, refused (neutral: the guard did its
/// job), failed with the target's answer, lifted.
fn values_cell(html: &mut Html, run: &RunRecord, values: &[RunItem]) {
    html.raw("<td><ul>");
    for item in values.iter().take(VALUES_SHOWN) {
        item_line(html, item);
    }
    let total: u64 = run
        .counts
        .as_object()
        .map_or(0, |counts| counts.values().filter_map(|v| v.as_u64()).sum());
    if values.len() > VALUES_SHOWN || total > VALUES_SHOWN as u64 {
        html.raw("<li>").run_link(run.id, "all values").raw("</li>");
    }
    html.raw("</ul></td>");
}

/// `value — outcome (detail), until …` as a list item, coloured by outcome.
pub(super) fn item_line(html: &mut Html, item: &RunItem) {
    html.raw("<li data-outcome=\"")
        .text(&item.outcome)
        .raw("\"><code>")
        .text(&item.value)
        .raw("</code> — <span class=\"")
        .text(&item.outcome)
        .raw("\">")
        .text(&item.outcome)
        .raw("</span>");
    if let Some(detail) = &item.detail {
        html.raw(": ").text(detail);
    }
    if let Some(until) = item.until {
        html.raw(", lifted at ").when(until);
    }
    html.raw("</li>");
}

/// The run's non-zero item counts (`30 added, 2 failed`), or `no changes`.
pub(super) fn counts(run: &RunRecord) -> String {
    let outcomes = [
        "added",
        "updated",
        "removed",
        "joined",
        "released",
        "held",
        "skipped",
        "deferred",
        "blocked",
        "sent",
        "applied",
        "lifted",
        "refused",
        "failed",
        "unchanged",
    ];
    let shown: Vec<String> = outcomes
        .iter()
        .filter_map(|key| {
            let value = run.counts.get(key)?;
            (value.as_u64() != Some(0)).then(|| format!("{value} {key}"))
        })
        .collect();
    if shown.is_empty() {
        "no changes".to_owned()
    } else {
        shown.join(", ")
    }
}

/// The name a serde enum is written under in the config file (`vision-one`, `ip-list`).
fn kebab(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::serve::health::Health;
    use crate::serve::status::TargetStatus;

    fn unescape(html: &str) -> String {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        /// Any text comes out with no character that could open a tag or leave an attribute,
        /// and reads back as itself.
        #[test]
        fn any_text_is_inert_and_reads_back(value in any::<String>()) {
            let mut html = Html(String::new());
            html.text(&value);
            prop_assert!(!html.0.contains(['<', '>', '"', '\'']));
            prop_assert_eq!(unescape(&html.0), value);
        }
    }

    #[test]
    fn a_list_from_90_percent_full_is_warned() {
        let room = |held| engine::targets::Room {
            list: "suspicious",
            bucket: "ip".into(),
            held,
            capacity: 10_000,
        };
        let mut html = Html(String::new());
        rooms_cell(&mut html, &[room(8_999), room(9_000)]);
        assert!(html.0.contains("<span class=\"room\" data-list=\"suspicious\" data-type=\"ip\">suspicious ip 8,999 / 10,000</span>"), "{}", html.0);
        assert!(html.0.contains("<span class=\"warn\""), "{}", html.0);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn item_counts_show_what_changed() {
        let run = |counts: serde_json::Value| RunRecord {
            id: 1,
            workflow: "w".into(),
            started_at: Utc::now(),
            finished_at: None,
            status: store::RunStatus::Succeeded,
            counts,
            errors: Vec::new(),
            subject: None,
        };
        let changed = serde_json::json!({ "added": 30, "updated": 0, "failed": 2, "api_calls": 4 });
        assert_eq!(counts(&run(changed)), "30 added, 2 failed");
        assert_eq!(
            counts(&run(serde_json::json!({ "added": 0 }))),
            "no changes"
        );
    }

    #[test]
    fn values_from_targets_and_the_library_cannot_inject_markup() {
        let hostile = "<img src=x onerror=alert(1)>";
        let run = RunRecord {
            id: 1,
            workflow: format!("hook:{hostile}"),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            status: store::RunStatus::Failed,
            counts: serde_json::json!({ "added": hostile }),
            errors: vec![hostile.to_owned()],
            subject: Some(hostile.to_owned()),
        };
        let status = Status {
            generated_at: Utc::now(),
            started_at: Utc::now(),
            stopping: true,
            feeds: Vec::new(),
            workflows: Vec::new(),
            targets: vec![TargetStatus {
                name: hostile.to_owned(),
                product: config::Product::Http,
                health: Health {
                    state: "down",
                    checked_at: None,
                    error: Some(hostile.to_owned()),
                },
                last_run: Some(run.clone()),
                ledger_entries: 0,
                rooms: Vec::new(),
            }],
            triggers: vec![TriggerCall {
                run,
                values: vec![RunItem {
                    outcome: hostile.to_owned(),
                    kind: None,
                    value: hostile.to_owned(),
                    detail: Some(hostile.to_owned()),
                    until: Some(Utc::now()),
                }],
            }],
            reload: Some(crate::serve::status::Reload {
                at: Utc::now(),
                accepted: false,
                error: Some(hostile.to_owned()),
            }),
            cluster: hostile_cluster(hostile),
        };
        let page = render(&status);
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("Shutting down"));
        assert!(page.contains("The library cannot be reached"));
    }

    /// A cluster view whose every text is `hostile`: a host name, a holder, a lease name and
    /// the library's error come from other processes.
    fn hostile_cluster(hostile: &str) -> View {
        let holder = store::LeaseHolder {
            holder: hostile.to_owned(),
            host: hostile.to_owned(),
            pid: 7,
            started: None,
        };
        View {
            this: holder.clone(),
            library: crate::serve::cluster::Reach {
                reachable: false,
                since: Utc::now(),
                error: Some(hostile.to_owned()),
            },
            daemons: vec![crate::serve::cluster::Daemon {
                holder: holder.clone(),
                seen_until: Utc::now(),
                holds: vec![hostile.to_owned()],
            }],
            others: vec![store::Lease {
                name: hostile.to_owned(),
                holder,
                taken_at: Utc::now(),
                expires_at: Utc::now(),
            }],
        }
    }

    #[test]
    fn text_is_escaped_everywhere_it_goes() {
        let mut html = Html(String::new());
        html.raw("<td title=\"")
            .text("\"><script>alert('x')</script>&")
            .raw("\">");
        assert_eq!(
            html.0,
            "<td title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;\">"
        );
    }
}
