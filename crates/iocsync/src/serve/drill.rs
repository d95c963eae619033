//! The pages a person drills down to from the status page: the run history (`/runs`, or one
//! workflow's or trigger's with `?name=`), one run with what it did item by item
//! (`/runs/{id}`: adds, removals, failures with the target's answer, guard refusals with the
//! rule, held removals, trigger values with their lift time), and the answer to "why is this
//! value (not) blocked?" (`/why?value=`, as `iocsync why` gives it). Server-rendered and
//! escaped like the status page ([`Html`]).

use store::{RunItem, RunRecord};

use super::page::{Html, counts, errors_cell, item_line, status_of};

/// The run history, newest first; `name` when it is one workflow's or trigger's.
pub fn history(name: Option<&str>, runs: &[RunRecord]) -> String {
    let title = name.map_or_else(|| "Runs".to_owned(), |name| format!("Runs of {name}"));
    let mut html = Html::document(&title, false);
    html.raw("<h2>").text(&title).raw("</h2>");
    if runs.is_empty() {
        html.raw("<p class=\"muted\">No run is recorded.</p>");
        return html.finish();
    }
    html.raw("<table id=\"runs\"><thead><tr><th>Run</th><th>Name</th><th>Status</th>")
        .raw("<th>Started</th><th>Finished</th><th>Items</th><th>Errors</th></tr></thead><tbody>");
    for run in runs {
        html.raw("<tr data-run=\"")
            .text(&run.id.to_string())
            .raw("\"><td>")
            .run_link(run.id, &format!("#{}", run.id))
            .raw("</td><td>")
            .link("/runs?name=", &run.workflow, &run.workflow)
            .raw("</td><td>");
        status_of(&mut html, run);
        html.raw("</td>")
            .when_cell(Some(run.started_at))
            .when_cell(run.finished_at)
            .cell(&counts(run));
        errors_cell(&mut html, &run.errors);
        html.raw("</tr>");
    }
    html.raw("</tbody></table>");
    html.finish()
}

/// One run: its record, then its items grouped by outcome, problems first.
pub fn run(run: &RunRecord, items: &[RunItem]) -> String {
    let mut html = Html::document(&format!("Run {} of {}", run.id, run.workflow), false);
    html.raw("<h2>Run ")
        .text(&run.id.to_string())
        .raw(" of ")
        .link("/runs?name=", &run.workflow, &run.workflow)
        .raw("</h2><p id=\"run\">");
    status_of(&mut html, run);
    html.raw(" · started ").when(run.started_at);
    if let Some(finished) = run.finished_at {
        html.raw(" · finished ").when(finished);
    }
    if let Some(subject) = &run.subject {
        html.raw(" · alert <code>").text(subject).raw("</code>");
    }
    html.raw("</p><p>").text(&counts(run)).raw("</p>");
    if !run.errors.is_empty() {
        html.raw("<h3>Errors</h3><ul id=\"errors\">");
        for error in &run.errors {
            html.raw("<li>").text(error).raw("</li>");
        }
        html.raw("</ul>");
    }
    outcomes(&mut html, run, items);
    html.finish()
}

/// The items under one heading per outcome, in the order the run recorded them.
fn outcomes(html: &mut Html, run: &RunRecord, items: &[RunItem]) {
    if items.is_empty() {
        html.raw("<p class=\"muted\">No item is recorded for this run.</p>");
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item.outcome.as_str()) {
            seen.push(&item.outcome);
        }
    }
    for outcome in seen {
        let of_outcome: Vec<&RunItem> = items.iter().filter(|i| i.outcome == outcome).collect();
        let total = run.counts.get(outcome).and_then(|v| v.as_u64());
        html.raw("<h3 data-outcome=\"")
            .text(outcome)
            .raw("\">")
            .text(outcome);
        match total {
            Some(total) if total > of_outcome.len() as u64 => {
                html.raw(" <span class=\"muted\">(the first ")
                    .text(&of_outcome.len().to_string())
                    .raw(" of ")
                    .text(&total.to_string())
                    .raw(")</span>");
            }
            _ => {
                html.raw(" <span class=\"muted\">(")
                    .text(&of_outcome.len().to_string())
                    .raw(")</span>");
            }
        }
        html.raw("</h3><ul class=\"items\">");
        for item in of_outcome {
            item_line(html, item);
        }
        html.raw("</ul>");
    }
}

/// The look-up page: the form, and the answer for `input` when there is one (`Ok`: the
/// answer's lines; `Err`: why it could not be answered).
pub fn why(input: Option<&str>, answer: Option<Result<String, String>>) -> String {
    let mut html = Html::document("Why is a value (not) blocked?", false);
    let Some(input) = input else {
        html.raw("<p class=\"muted\">Enter a value above: an IP, a CIDR, a domain, a URL, a sender address or a hash; defanged forms are read too.</p>");
        return html.finish();
    };
    html.raw("<h2>Why: <code>").text(input).raw("</code></h2>");
    match answer {
        Some(Ok(lines)) => {
            html.raw("<pre id=\"why\">").text(&lines).raw("</pre>");
        }
        Some(Err(error)) => {
            html.raw("<p class=\"failed\" id=\"why\">")
                .text(&error)
                .raw("</p>");
        }
        None => {}
    }
    html.raw("<p class=\"muted\">The same answer as <code>iocsync why</code>, from the library, the guard and the ledger; <code>iocsync why --live</code> also reads Vision One targets back.</p>");
    html.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use indicator::Kind;

    fn record(counts: serde_json::Value) -> RunRecord {
        RunRecord {
            id: 7,
            workflow: "<b>w</b>".into(),
            started_at: Utc::now(),
            finished_at: Some(Utc::now()),
            status: store::RunStatus::Partial,
            counts,
            errors: vec!["<script>x</script>".into()],
            subject: Some("<i>alert</i>".into()),
        }
    }

    fn item(outcome: &str, value: &str, detail: Option<&str>) -> RunItem {
        RunItem {
            outcome: outcome.into(),
            kind: Some(Kind::Ipv4),
            value: value.into(),
            detail: detail.map(str::to_owned),
            until: None,
        }
    }

    #[test]
    fn a_run_page_groups_items_by_outcome_and_says_when_it_shows_a_sample() {
        let items = [
            item("failed", "198.51.100.9", Some("400 invalid value")),
            item(
                "refused",
                "10.0.0.1",
                Some("builtin:private: a private range"),
            ),
            item("added", "203.0.113.5", None),
            item("added", "203.0.113.6", None),
        ];
        let page = run(
            &record(serde_json::json!({"added": 900, "failed": 1, "refused": 1})),
            &items,
        );
        assert!(page.contains("(the first 2 of 900)"), "{page}");
        assert!(page.contains("<span class=\"refused\">refused</span>: builtin:private"));
        assert!(page.contains("<span class=\"failed\">failed</span>: 400 invalid value"));
        let failed = page.find("data-outcome=\"failed\"").unwrap();
        let added = page.find("data-outcome=\"added\"").unwrap();
        assert!(failed < added, "problems come first as recorded");
        assert!(
            !page.contains("<script>x") && !page.contains("<b>w") && !page.contains("<i>alert")
        );
        assert!(
            page.contains("href=\"/runs?name=%3Cb%3Ew%3C%2Fb%3E\""),
            "{page}"
        );
    }

    #[test]
    fn the_why_page_escapes_the_input_and_the_answer() {
        let page = why(Some("<img>"), Some(Ok("ipv4 <x>\n  guard: ok".into())));
        assert!(page.contains("<pre id=\"why\">ipv4 &lt;x&gt;"), "{page}");
        assert!(!page.contains("<img>"));
        assert!(why(None, None).contains("Enter a value"));
    }
}
