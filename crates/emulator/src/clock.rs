//! The emulator's clock: wall time plus an offset that tests move forward with
//! `POST /_emulator/clock`, so expiry, task progress and rate-limit windows can be exercised
//! without waiting. Times are whole Unix seconds (milliseconds for rate windows).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `expiredDateTime` reported for objects that never expire (`daysToExpiration: -1`): the
/// API always sends the field, so the emulator uses the largest ISO 8601 time, 9999-12-31T23:59:59Z.
pub const NEVER_EXPIRES: i64 = 253_402_300_799;

/// Wall clock plus an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Current emulated time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Current emulated time in whole seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward (or back, for a negative value) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
    }

    /// Returns to wall time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

/// Formats Unix seconds the way Trend's APIs do: `2019-03-15T07:44:27Z`.
pub fn format_iso(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

/// Parses an ISO 8601 / RFC 3339 timestamp into Unix seconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_api() {
        assert_eq!(format_iso(1_552_635_867), "2019-03-15T07:44:27Z");
        assert_eq!(format_iso(NEVER_EXPIRES), "9999-12-31T23:59:59Z");
        assert_eq!(parse_iso("2019-03-15T07:44:27Z"), Some(1_552_635_867));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn advancing_moves_now() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(86_400);
        assert!(clock.now() >= before + 86_400);
        clock.reset();
        assert!(clock.now() < before + 86_400);
    }
}
