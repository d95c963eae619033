//! Per-key sliding 60-second windows, one per API family, on the emulator's clock. A refused
//! request does not count; the answer says how long until the oldest counted request leaves
//! the window.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Length of a rate window.
pub const WINDOW_MS: i64 = 60_000;

/// API families with separate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    VisionOne,
    DeepSecurity,
    Xdr,
    ApexCentral,
}

/// Sliding-window counters keyed by API family and caller.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(Api, usize), VecDeque<i64>>>,
}

impl RateLimiter {
    /// Counts a request at `now_ms`, or returns the seconds to wait if `limit` requests
    /// already happened in the last 60 s. A limit of 0 means unlimited.
    pub fn check(&self, api: Api, caller: usize, limit: u32, now_ms: i64) -> Result<(), u64> {
        if limit == 0 {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry((api, caller)).or_default();
        while window.front().is_some_and(|&t| t <= now_ms - WINDOW_MS) {
            window.pop_front();
        }
        if window.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            let oldest = window.front().copied().unwrap_or(now_ms);
            let wait_ms = (oldest + WINDOW_MS - now_ms).max(1);
            return Err(u64::try_from(wait_ms.div_euclid(1000) + 1)
                .unwrap_or(1)
                .min(60));
        }
        window.push_back(now_ms);
        Ok(())
    }

    /// Forgets every window.
    pub fn reset(&self) {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let limiter = RateLimiter::default();
        for i in 0..3 {
            assert_eq!(limiter.check(Api::VisionOne, 0, 3, i * 1000), Ok(()));
        }
        let wait = limiter.check(Api::VisionOne, 0, 3, 10_000).unwrap_err();
        assert_eq!(wait, 51);
        // Another caller and another API have their own windows.
        assert_eq!(limiter.check(Api::VisionOne, 1, 3, 10_000), Ok(()));
        assert_eq!(limiter.check(Api::DeepSecurity, 0, 3, 10_000), Ok(()));
        // The first request leaves the window at 60 s.
        assert_eq!(limiter.check(Api::VisionOne, 0, 3, 60_000), Ok(()));
        assert!(limiter.check(Api::VisionOne, 0, 3, 60_500).is_err());
        assert_eq!(limiter.check(Api::VisionOne, 0, 0, 60_500), Ok(()));
    }
}
