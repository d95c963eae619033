//! When things run: a workflow's or feed's [`Schedule`] (an interval or a UTC cron
//! expression) and the positive durations other keys take (`"5m"`, `"24h"`).

use std::time::Duration;

use crate::error::{ConfigError, invalid};

/// When the daemon runs a workflow (parsed and checked here; the daemon acts on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Every(Duration),
    Cron(String),
}

/// `every 15m`, `cron 0 */6 * * * (UTC)`: as the status page, the API and `iocsync feeds`
/// show a schedule.
impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Every(every) => write!(f, "every {}", humantime::format_duration(*every)),
            Schedule::Cron(expression) => write!(f, "cron {expression} (UTC)"),
        }
    }
}

pub(crate) fn parse_schedule(text: &str) -> Result<Schedule, String> {
    if let Ok(every) = humantime::parse_duration(text) {
        return if every.is_zero() {
            Err("the interval must be longer than zero".to_owned())
        } else {
            Ok(Schedule::Every(every))
        };
    }
    text.parse::<croner::Cron>()
        .map(|_| Schedule::Cron(text.to_owned()))
        .map_err(|error| {
            format!("expected an interval (`15m`, `6h`) or a cron expression: {error}")
        })
}

pub(crate) fn positive_duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(invalid(key, "must be longer than zero")),
        Err(error) => Err(invalid(
            key,
            format!("expected a duration such as \"5m\" or \"24h\": {error}"),
        )),
    }
}
