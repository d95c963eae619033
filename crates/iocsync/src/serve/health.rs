//! Target health: every target is probed at start and then periodically with the cheapest call
//! that changes nothing (the one `iocsync check` makes). Targets with no such call (HTTP
//! templates) are shown as not probed; their last run tells how they are.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Shared;
use super::runner::lock;
use crate::cli::check;

/// How long a probe may take before the target counts as down.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the last probe of a target found.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `up`, `down`, `unknown` (not probed yet) or `not-probed` (no side-effect-free call).
    pub state: &'static str,
    pub checked_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl Health {
    /// The health of a target before its first probe.
    pub fn initial(probeable: bool) -> Health {
        Health {
            state: if probeable { "unknown" } else { "not-probed" },
            checked_at: None,
            error: None,
        }
    }
}

/// Probes every probeable target each `probe_every` until the daemon stops.
pub async fn watch(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(shared.options.probe_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let config = shared.config();
        let probes = config
            .targets
            .iter()
            .filter(|target| check::probeable(target.product()))
            .map(|target| async move {
                let probe = tokio::time::timeout(PROBE_TIMEOUT, check::probe(target)).await;
                let result = probe.unwrap_or_else(|_| Err(anyhow::anyhow!("no answer in time")));
                (target.name.as_str(), result)
            });
        let results = futures::future::join_all(probes).await;
        for (name, result) in results {
            record(&shared, name, result);
        }
    }
}

fn record(shared: &Shared, target: &str, result: anyhow::Result<()>) {
    shared.metrics.record_probe(target, result.is_ok());
    let health = Health {
        state: if result.is_ok() { "up" } else { "down" },
        checked_at: Some(Utc::now()),
        error: result.err().map(|error| format!("{error:#}")),
    };
    if let Some(error) = &health.error {
        tracing::warn!(target, error, "health probe failed");
    }
    lock(&shared.health).insert(target.to_owned(), health);
}
