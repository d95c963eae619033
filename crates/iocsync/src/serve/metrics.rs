//! The daemon's Prometheus metrics (`/metrics`): runs by workflow and status, items by outcome,
//! API calls by target, endpoint and status, retries, rate-limit pauses, run duration and target
//! health. The triggers register their own families into the same [`Registry`].

use engine::RunReport;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};
use store::RunStatus;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    workflow: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ItemLabels {
    workflow: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    target: String,
    endpoint: String,
    /// The HTTP status, or `none` when no response came.
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoomLabels {
    target: String,
    list: String,
    r#type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkflowLabels {
    workflow: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    feed: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PullLabels {
    feed: String,
    outcome: &'static str,
}

/// Every family the daemon itself updates.
pub struct Metrics {
    runs: Family<RunLabels, Counter>,
    items: Family<ItemLabels, Counter>,
    api_calls: Family<CallLabels, Counter>,
    retries: Family<TargetLabels, Counter>,
    rate_limit_pauses: Family<TargetLabels, Counter>,
    rate_limit_paused_seconds: Family<TargetLabels, Counter<f64>>,
    run_duration: Family<WorkflowLabels, Histogram>,
    target_up: Family<TargetLabels, Gauge>,
    target_objects: Family<RoomLabels, Gauge>,
    workflow_last_success: Family<WorkflowLabels, Gauge>,
    library_indicators: Gauge,
    library_bytes: Gauge,
    feed_last_success: Family<FeedLabels, Gauge>,
    target_capacity: Family<RoomLabels, Gauge>,
    removals_held: Family<WorkflowLabels, Gauge>,
    pulls: Family<PullLabels, Counter>,
    feed_held: Family<FeedLabels, Gauge>,
    feed_live: Family<FeedLabels, Gauge>,
    feed_withdrawn: Family<FeedLabels, Counter>,
}

impl Metrics {
    /// Creates the families and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Metrics {
        Metrics {
            library_indicators: registered(
                registry,
                "iocsync_library_indicators",
                "Indicators the library holds (every status)",
                Gauge::default(),
            ),
            library_bytes: registered(
                registry,
                "iocsync_library_bytes",
                "Size of the library file and its write-ahead log on disk",
                Gauge::default(),
            ),
            workflow_last_success: registered(
                registry,
                "iocsync_workflow_last_success_timestamp_seconds",
                "When the workflow's latest successful run finished (Unix seconds; absent until one has): alert when it grows old",
                Family::default(),
            ),
            feed_last_success: registered(
                registry,
                "iocsync_feed_last_success_timestamp_seconds",
                "When the feed was last pulled and applied or found unchanged (Unix seconds)",
                Family::default(),
            ),
            target_objects: registered(
                registry,
                "iocsync_target_objects",
                "Objects iocsync's claims hold on a capped target list, by target, list and object type (as of the last scrape)",
                Family::default(),
            ),
            target_capacity: registered(
                registry,
                "iocsync_target_capacity",
                "How many objects of that type the list holds at most (Vision One: 10,000 per type, 5,000 exceptions)",
                Family::default(),
            ),
            runs: registered(
                registry,
                "iocsync_runs",
                "Workflow runs by workflow and final status",
                Family::default(),
            ),
            removals_held: registered(
                registry,
                "iocsync_removals_held",
                "Removals the brake held in the workflow's last run (0 once released or gone): a person must review them with `iocsync plan` and release them with `iocsync run --allow-removals`",
                Family::default(),
            ),
            items: registered(
                registry,
                "iocsync_items",
                "Items of workflow runs by outcome (added, updated, removed, skipped, deferred, failed), summed over runs: a value skipped by every run counts once per run",
                Family::default(),
            ),
            api_calls: registered(
                registry,
                "iocsync_api_calls",
                "Requests sent to targets by workflow runs, by target, endpoint and HTTP status",
                Family::default(),
            ),
            retries: registered(
                registry,
                "iocsync_retries",
                "Requests retried after server errors, timeouts or dropped connections",
                Family::default(),
            ),
            rate_limit_pauses: registered(
                registry,
                "iocsync_rate_limit_pauses",
                "Pauses of a whole target after HTTP 429",
                Family::default(),
            ),
            rate_limit_paused_seconds: registered(
                registry,
                "iocsync_rate_limit_paused_seconds",
                "Time spent paused after HTTP 429",
                Family::default(),
            ),
            // 10 ms to ~45 min: a run is anything from an empty diff to a first full sync.
            run_duration: registered(
                registry,
                "iocsync_run_duration_seconds",
                "Duration of workflow runs",
                Family::<WorkflowLabels, Histogram>::new_with_constructor(|| {
                    Histogram::new(exponential_buckets(0.01, 3.0, 14))
                }),
            ),
            pulls: registered(
                registry,
                "iocsync_feed_pulls",
                "Feed pulls by feed and outcome (applied, unchanged, held, failed)",
                Family::default(),
            ),
            feed_held: registered(
                registry,
                "iocsync_feed_held",
                "1 while the feed's last pull was held (it looked broken; nothing was applied): a person must look and run `iocsync pull FEED --accept`",
                Family::default(),
            ),
            feed_live: registered(
                registry,
                "iocsync_feed_values",
                "Values the feed stands behind after its last pull",
                Family::default(),
            ),
            feed_withdrawn: registered(
                registry,
                "iocsync_feed_withdrawn",
                "Values withdrawn from a feed: a snapshot stopped listing them, or expire_after",
                Family::default(),
            ),
            target_up: registered(
                registry,
                "iocsync_target_up",
                "Whether the last health probe of a target succeeded (1) or failed (0)",
                Family::default(),
            ),
        }
    }

    /// Counts one finished run of `workflow` (`report` is `None` when it failed before the
    /// engine could report anything).
    pub fn record_run(
        &self,
        workflow: &str,
        status: RunStatus,
        report: Option<&RunReport>,
        seconds: f64,
    ) {
        let labels = RunLabels {
            workflow: workflow.to_owned(),
            status: status.to_string(),
        };
        self.runs.get_or_create(&labels).inc();
        let duration = WorkflowLabels {
            workflow: workflow.to_owned(),
        };
        self.run_duration.get_or_create(&duration).observe(seconds);
        if let Some(report) = report {
            self.removals_held
                .get_or_create(&duration)
                .set(i64::try_from(report.held).unwrap_or(i64::MAX));
            self.record_report(report);
        }
    }

    fn record_report(&self, report: &RunReport) {
        let outcomes = [
            ("added", report.added),
            ("updated", report.updated),
            ("removed", report.removed),
            ("skipped", report.skipped),
            ("deferred", report.deferred),
            ("failed", report.failed.len()),
        ];
        for (outcome, count) in outcomes {
            let labels = ItemLabels {
                workflow: report.workflow.clone(),
                outcome,
            };
            self.items.get_or_create(&labels).inc_by(count as u64);
        }
        for call in &report.calls {
            let labels = CallLabels {
                target: report.target.clone(),
                endpoint: call.endpoint.clone(),
                status: call
                    .status
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            };
            self.api_calls.get_or_create(&labels).inc_by(call.count);
        }
        let target = TargetLabels {
            target: report.target.clone(),
        };
        self.retries.get_or_create(&target).inc_by(report.retries);
        self.rate_limit_pauses
            .get_or_create(&target)
            .inc_by(report.rate_limit_pauses);
        self.rate_limit_paused_seconds
            .get_or_create(&target)
            .inc_by(report.paused_ms as f64 / 1000.0);
    }

    /// Counts one pull of a feed; `live` is what the feed stands behind afterwards.
    pub fn record_pull(
        &self,
        feed: &str,
        outcome: store::Outcome,
        withdrawn: u64,
        live: Option<u64>,
    ) {
        let labels = FeedLabels {
            feed: feed.to_owned(),
        };
        self.pulls
            .get_or_create(&PullLabels {
                feed: feed.to_owned(),
                outcome: outcome.as_str(),
            })
            .inc();
        self.feed_held
            .get_or_create(&labels)
            .set(i64::from(outcome == store::Outcome::Held));
        self.feed_withdrawn.get_or_create(&labels).inc_by(withdrawn);
        if let Some(live) = live {
            self.feed_live
                .get_or_create(&labels)
                .set(i64::try_from(live).unwrap_or(i64::MAX));
        }
    }

    /// Sets how full `target`'s capped lists are.
    pub fn record_rooms(&self, target: &str, rooms: &[engine::targets::Room]) {
        for room in rooms {
            let labels = RoomLabels {
                target: target.to_owned(),
                list: room.list.to_owned(),
                r#type: room.bucket.clone(),
            };
            let as_gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            self.target_objects
                .get_or_create(&labels)
                .set(as_gauge(room.held));
            self.target_capacity
                .get_or_create(&labels)
                .set(as_gauge(room.capacity));
        }
    }

    /// Sets the library's size: its indicators, and its files' bytes.
    pub fn record_library(&self, indicators: u64, bytes: u64) {
        let as_gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.library_indicators.set(as_gauge(indicators));
        self.library_bytes.set(as_gauge(bytes));
    }

    /// Sets when `workflow` last succeeded.
    pub fn record_last_success(&self, workflow: &str, at: chrono::DateTime<chrono::Utc>) {
        let labels = WorkflowLabels {
            workflow: workflow.to_owned(),
        };
        self.workflow_last_success
            .get_or_create(&labels)
            .set(at.timestamp());
    }

    /// Sets when `feed` was last applied (or found unchanged).
    pub fn record_feed_success(&self, feed: &str, at: chrono::DateTime<chrono::Utc>) {
        let labels = FeedLabels {
            feed: feed.to_owned(),
        };
        self.feed_last_success
            .get_or_create(&labels)
            .set(at.timestamp());
    }

    /// Records the outcome of a health probe.
    pub fn record_probe(&self, target: &str, up: bool) {
        let labels = TargetLabels {
            target: target.to_owned(),
        };
        self.target_up.get_or_create(&labels).set(i64::from(up));
    }
}

/// Registers `metric` under `name` and returns it: the registry keeps a clone, and clones of a
/// family share their series, so the daemon updates what `/metrics` encodes.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}
