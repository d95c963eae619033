//! Scheduled feed pulls: each due feed is pulled as `iocsync pull` does it
//! ([`ingest::pull`]), on its own library handle and thread. A pull that changed what the feed
//! stands behind makes every workflow that follows the feed (`after`, `after-feeds`) due at
//! once, so a new indicator reaches the targets seconds after its feed listed it. A held pull
//! is logged at WARN and shown on the status page and in `iocsync_feed_held`.

use std::sync::Arc;

use chrono::Utc;
use config::Config;
use store::Outcome;

use super::Shared;
use super::runner::lock;
use ingest::problems::Logged;
use ingest::pull::{PullOptions, PullSummary, pull};

/// Pulls `feed` (due now) and tells the feed scheduler, the metrics and the workflows.
pub async fn pull_scheduled(shared: Arc<Shared>, feed: String) {
    let config = shared.config();
    let name = feed.clone();
    let pulled = tokio::task::spawn_blocking(move || pull_once(&config, &name))
        .await
        .unwrap_or_else(|error| Err(anyhow::anyhow!("the pull panicked: {error}")));
    let now = Utc::now();
    match pulled {
        Ok((summary, live)) => {
            log(&summary);
            shared
                .metrics
                .record_pull(&feed, summary.outcome, summary.withdrawn, live);
            if summary.changed() {
                follow(&shared, &feed, now);
            }
            let ok = summary.outcome != Outcome::Failed;
            lock(&shared.feed_scheduler).finished(&feed, ok, now);
        }
        Err(error) => {
            tracing::error!(feed, error = format!("{error:#}"), "pull failed");
            shared.metrics.record_pull(&feed, Outcome::Failed, 0, None);
            lock(&shared.feed_scheduler).finished(&feed, false, now);
        }
    }
}

/// One pull on its own handle; also returns what the feed stands behind afterwards.
fn pull_once(config: &Config, feed: &str) -> anyhow::Result<(PullSummary, Option<u64>)> {
    let Some(index) = config.feeds.iter().position(|f| f.name == feed) else {
        anyhow::bail!("the feed was removed by a reload");
    };
    let mut library = config.library.open_existing()?;
    let options = PullOptions::holding_in(config.library.held_dir(), false);
    let summary = pull(
        &mut library,
        &config.feeds[index],
        index,
        options,
        &mut Logged,
    )?;
    let live = library.feed_state(feed)?.map(|state| state.live);
    Ok((summary, live))
}

/// Makes every workflow that follows `feed` due now.
fn follow(shared: &Shared, feed: &str, now: chrono::DateTime<Utc>) {
    let config = shared.config();
    let mut scheduler = lock(&shared.scheduler);
    for workflow in config.workflows.iter().filter(|w| w.after.follows(feed)) {
        if scheduler.request(&workflow.name, now) {
            tracing::info!(feed, workflow = workflow.name, "feed changed: workflow due");
        }
    }
}

fn log(s: &PullSummary) {
    let reason = s.reason.as_deref().unwrap_or("");
    match s.outcome {
        Outcome::Applied => tracing::info!(
            feed = s.feed,
            listed = s.listed,
            new = s.new,
            withdrawn = s.withdrawn,
            invalid = s.invalid,
            seconds = s.seconds,
            "pull applied"
        ),
        Outcome::Unchanged => {
            tracing::info!(
                feed = s.feed,
                reason,
                withdrawn = s.withdrawn,
                "pull unchanged"
            )
        }
        Outcome::Held => tracing::warn!(
            feed = s.feed,
            reason,
            listed = s.listed,
            previous = s.previous,
            "pull HELD: nothing applied; look at the feed, then `iocsync pull {} --accept`",
            s.feed
        ),
        Outcome::Failed => tracing::warn!(feed = s.feed, reason, "pull failed"),
    }
}
