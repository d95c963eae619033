//! When a scheduled run is a workflow's verifying pass (`run --verify`: the target read back,
//! what vanished restored, orphans taken back): timed on the library, not in a daemon, so N
//! daemons sharing one library verify a workflow once per `verify_every` between them.
//!
//! A pass is marked in the library when it starts (tried, not when it worked: a target that
//! keeps failing must not have its whole list read on every retry), by `iocsync run --verify`
//! as by a daemon. A daemon's run is a verifying pass when the workflow never had one or the
//! last is `verify_every` old, whichever daemon made it. A daemon's restart does not force
//! one: drift comes from consoles and evictions, which do not wait for a daemon to be down, so
//! the period alone bounds how long drift goes unseen. The caller holds the workflow's lease,
//! so two daemons never both find a pass due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use store::LibraryBackend;

use crate::error::EngineError;
use crate::keys;

/// When `workflow` last had a verifying pass, if the library knows (an unreadable mark counts
/// as none: the next run verifies).
fn last(
    library: &dyn LibraryBackend,
    workflow: &str,
) -> Result<Option<DateTime<Utc>>, EngineError> {
    let mark = library.cursor(&keys::verify_pass(workflow))?;
    Ok(mark
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|at| at.with_timezone(&Utc)))
}

/// Whether the run of `workflow` at `now` is its verifying pass, one every `every`.
pub fn due(
    library: &dyn LibraryBackend,
    workflow: &str,
    every: Duration,
    now: DateTime<Utc>,
) -> Result<bool, EngineError> {
    let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
    Ok(last(library, workflow)?.is_none_or(|at| now - at >= every))
}

/// Records that a verifying pass of `workflow` started at `at`.
pub fn mark(
    library: &mut dyn LibraryBackend,
    workflow: &str,
    at: DateTime<Utc>,
) -> Result<(), EngineError> {
    library.set_cursor(&keys::verify_pass(workflow), &at.to_rfc3339(), at)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration as Span;
    use store::SqliteLibrary;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_pass_is_due_first_then_once_a_period_whoever_made_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut library = SqliteLibrary::open(dir.path().join("l.db")).unwrap();
        let now = Utc::now();
        assert!(due(&library, "block", DAY, now).unwrap(), "never verified");

        mark(&mut library, "block", now).unwrap();
        assert_eq!(
            last(&library, "block")
                .unwrap()
                .map(|at| at.timestamp_millis()),
            Some(now.timestamp_millis())
        );
        assert!(!due(&library, "block", DAY, now + Span::hours(23)).unwrap());
        assert!(due(&library, "block", DAY, now + Span::days(1)).unwrap());
        // Other workflows keep their own marks.
        assert!(due(&library, "other", DAY, now).unwrap());
        // A mark left unreadable counts as none.
        library
            .set_cursor(&keys::verify_pass("block"), "garbage", now)
            .unwrap();
        assert!(due(&library, "block", DAY, now).unwrap());
    }
}
