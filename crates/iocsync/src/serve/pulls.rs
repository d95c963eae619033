//! Scheduled feed pulls: each due feed is pulled as `iocsync pull` does it
//! ([`ingest::pull`]), on its own library handle and thread. A pull that changed what the feed
//! stands behind makes every workflow that follows the feed (`after`, `after-feeds`) due at
//! once, so a new indicator reaches the targets seconds after its feed listed it. A held pull
//! is logged at WARN and shown on the status page and in `iocsync_feed_held`.
//!
//! Daemons sharing a library pull each due feed once between them: the pull is taken first
//! ([`occurrence::take`], under the lease `feed:<name>`, renewed while the pull goes on); a
//! feed another daemon pulled since it fell due is not pulled again here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use config::Config;
use engine::occurrence::{self, Taken, Work};
use engine::schedule::Due;
use store::Outcome;

use super::Shared;
use super::runner::lock;
use ingest::problems::Logged;
use ingest::pull::{PullOptions, PullSummary, pull};

/// What became of a due pull.
enum Pulled {
    /// Pulled here: what it did, and what the feed stands behind afterwards.
    Here(PullSummary, Option<u64>),
    /// Another daemon has it.
    Elsewhere(Taken),
}

/// Pulls `feed` (due now) unless another daemon has it, and tells the feed scheduler, the
/// metrics and the workflows.
pub async fn pull_scheduled(shared: Arc<Shared>, due: Due) {
    let Due { name: feed, since } = due;
    let config = shared.config();
    let name = feed.clone();
    let pulled = tokio::task::spawn_blocking(move || pull_if_ours(&config, &name, since))
        .await
        .unwrap_or_else(|error| Err(anyhow::anyhow!("the pull panicked: {error}")));
    let now = Utc::now();
    match pulled {
        Ok(Pulled::Elsewhere(taken)) => elsewhere(&shared, &feed, since, taken, now),
        Ok(Pulled::Here(summary, live)) => {
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

/// Tells the feed scheduler that another daemon pulled `feed` (or is pulling it).
fn elsewhere(shared: &Shared, feed: &str, since: DateTime<Utc>, taken: Taken, now: DateTime<Utc>) {
    let mut scheduler = lock(&shared.feed_scheduler);
    match taken {
        Taken::Done { at } => {
            tracing::info!(feed, %at, "pull not needed: another process pulled the feed");
            scheduler.ran_elsewhere(feed, at);
        }
        Taken::Running(lease) => {
            tracing::info!(feed, holder = %lease.holder, "pull skipped: another process is pulling the feed");
            scheduler.running_elsewhere(feed, since, now);
        }
        Taken::Mine => {
            scheduler.running_elsewhere(feed, since, now);
        }
    }
}

/// Takes the pull of `feed` due `since` and pulls it on this thread's own handle when it is
/// this daemon's, holding its lease meanwhile.
fn pull_if_ours(config: &Config, feed: &str, since: DateTime<Utc>) -> anyhow::Result<Pulled> {
    let Some(index) = config.feeds.iter().position(|f| f.name == feed) else {
        anyhow::bail!("the feed was removed by a reload");
    };
    let mut library = config.library.open_existing()?;
    let work = Work::Feed(feed);
    match occurrence::take(&mut *library, work, since)? {
        Taken::Mine => {}
        taken => return Ok(Pulled::Elsewhere(taken)),
    }
    let keeper = occurrence::keep(&*library, work);
    let options = PullOptions::holding_in(config.library.held_dir(), false);
    let summary = pull(
        &mut library,
        &config.feeds[index],
        index,
        options,
        &mut Logged,
    );
    keeper.stop();
    if let Err(error) = occurrence::release(&mut *library, work) {
        tracing::warn!(feed, %error, "cannot give the feed's lease back; it lapses");
    }
    let live = library.feed_state(feed)?.map(|state| state.live);
    Ok(Pulled::Here(summary?, live))
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
