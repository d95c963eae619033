//! The shared HTTP policy's limits, seen from the emulator: client-side rate limit and
//! concurrency bound.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use trendmicro::vision_one::{VisionOneClient, VisionOneConfig};

use crate::common::{Emu, KEY, fast_policy};

const LIST: &str = "GET /v3.0/threatintel/suspiciousObjects";

fn client(emu: &Emu, tune: impl FnOnce(&mut VisionOneConfig)) -> Arc<VisionOneClient> {
    let mut config = VisionOneConfig::with_base_url(emu.base(), KEY.into());
    config.http = fast_policy();
    tune(&mut config);
    Arc::new(VisionOneClient::new(&config).unwrap())
}

#[tokio::test]
async fn requests_per_minute_holds_requests_back() {
    let emu = Emu::start().await;
    // 120 a minute: a burst of 120, then one every half second.
    let client = client(&emu, |config| {
        config.http.requests_per_minute = NonZeroU32::new(120);
    });
    let started = Instant::now();
    for _ in 0..121 {
        client.list_suspicious(None).await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "the 121st request should wait for the quota ({:?})",
        started.elapsed()
    );
    assert_eq!(emu.requests(LIST).await, 121);
}

#[tokio::test]
async fn max_concurrency_bounds_requests_on_the_wire() {
    let emu = Emu::start().await;
    emu.faults(json!({"latency_ms": 150})).await;
    let client = client(&emu, |config| config.http.max_concurrency = 1);
    let started = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.list_suspicious(None).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "three 150 ms requests one at a time ({:?})",
        started.elapsed()
    );
    assert_eq!(emu.requests(LIST).await, 3);
}
