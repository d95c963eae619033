//! Injected faults: a 500 per request with some probability, a 500 per item inside a 207,
//! added latency, dropped connections (the socket closes with no response), bursts of 429, a
//! 400 for any request that names a given value (a value the product will not take),
//! and per value the final status of the tasks that block or restore it (a task that fails,
//! is rejected, canceled, times out, is skipped or waits for approval). Probabilities draw
//! from one generator seeded by `--seed`, so a given seed and request order give the same
//! faults. The middleware applies to the Trend APIs only, never to `/_emulator/*`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Emulator;
use crate::apex_central::error::ApexError;
use crate::deep_security::error::DsError;
use crate::tasks::{Outcome, TaskOrigin};
use crate::vision_one::CONNECTIVITY_PATH;
use crate::vision_one::error::V1Error;

/// `RateLimit-Limit` reported by injected 429s when no Vision One rate limit is configured.
const REPORTED_LIMIT_WHEN_UNLIMITED: u32 = 1000;

/// Fault settings, from the configuration or `POST /_emulator/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Probability (0–1) that a request gets a whole-request 500.
    pub error_rate: f64,
    /// Probability (0–1) that an item inside a 207 gets a 500 (and is not applied).
    pub item_error_rate: f64,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Probability (0–1) that the connection is closed without any response.
    pub drop_rate: f64,
    /// The next N requests get 429.
    pub burst_429: u32,
    /// `Retry-After` seconds sent with injected (burst) 429s.
    pub retry_after_seconds: u64,
    /// The next N requests (after any 429 burst) get 500.
    pub burst_500: u32,
    /// A request whose body (for Apex Central, also its query string, as sent, percent-escapes
    /// included) contains one of these strings is refused with HTTP 400, every time: a
    /// deterministic per-call failure (one XDR block, one IP-list write, one UDSO add or delete).
    pub reject_values: Vec<String>,
    /// Values (as sent) whose v3 response tasks end `failed`, `rejected` or `canceled`, or wait
    /// in `pendingApproval`, instead of succeeding. Decided when the task is created.
    pub response_task_outcomes: BTreeMap<String, Outcome>,
    /// Values (as sent) whose XDR v2 tasks end `failed`, `timeout` or `skipped` instead of
    /// `success`. Decided when the task is created.
    pub xdr_task_outcomes: BTreeMap<String, Outcome>,
}

impl FaultSettings {
    /// Checks that probabilities are within 0–1 and task outcomes exist in their API.
    pub fn validate(&self) -> Result<(), String> {
        for (name, outcomes, origin) in [
            (
                "response_task_outcomes",
                &self.response_task_outcomes,
                TaskOrigin::Response,
            ),
            (
                "xdr_task_outcomes",
                &self.xdr_task_outcomes,
                TaskOrigin::Xdr,
            ),
        ] {
            if let Some((value, outcome)) = outcomes.iter().find(|(_, o)| !o.fits(origin)) {
                return Err(format!(
                    "{name}: `{}` (for `{value}`) is not a final status of that API",
                    outcome.as_str()
                ));
            }
        }
        for (name, p) in [
            ("error_rate", self.error_rate),
            ("item_error_rate", self.item_error_rate),
            ("drop_rate", self.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0 and 1, got {p}"));
            }
        }
        Ok(())
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decision {
    pub latency_ms: u64,
    pub drop: bool,
    pub too_many: bool,
    pub internal_error: bool,
}

/// Current fault settings, the burst still to serve, and the seeded generator.
#[derive(Debug)]
pub struct Faults {
    settings: FaultSettings,
    burst_remaining: u32,
    burst_500_remaining: u32,
    rng: StdRng,
}

impl Faults {
    pub fn new(settings: FaultSettings, seed: u64) -> Self {
        Self {
            burst_remaining: settings.burst_429,
            burst_500_remaining: settings.burst_500,
            settings,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn settings(&self) -> &FaultSettings {
        &self.settings
    }

    /// Replaces the settings; a non-zero `burst_429` or `burst_500` starts a new burst.
    pub fn set(&mut self, settings: FaultSettings) {
        self.burst_remaining = settings.burst_429;
        self.burst_500_remaining = settings.burst_500;
        self.settings = settings;
    }

    /// Draws the faults of one request.
    pub fn decide(&mut self) -> Decision {
        let drop = self.draw(self.settings.drop_rate);
        let too_many = !drop && self.burst_remaining > 0;
        if too_many {
            self.burst_remaining -= 1;
        }
        let burst_500 = !drop && !too_many && self.burst_500_remaining > 0;
        if burst_500 {
            self.burst_500_remaining -= 1;
        }
        let internal_error =
            burst_500 || (!drop && !too_many && self.draw(self.settings.error_rate));
        Decision {
            latency_ms: self.settings.latency_ms,
            drop,
            too_many,
            internal_error,
        }
    }

    /// Whether one item of a 207 fails.
    pub fn item_fails(&mut self) -> bool {
        self.draw(self.settings.item_error_rate)
    }

    fn draw(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.rng.random_bool(probability.min(1.0))
    }
}

/// Marker on a response telling the server to close the connection instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The API family a path belongs to: each answers faults in its own error format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    VisionOne,
    DeepSecurity,
    ApexCentral,
}

impl Family {
    fn of(path: &str) -> Self {
        if path.starts_with("/api/") {
            Family::DeepSecurity
        } else if path.starts_with("/WebApp/") {
            Family::ApexCentral
        } else {
            Family::VisionOne
        }
    }

    fn too_many(self, emulator: &Emulator) -> Response {
        let retry_after = decision_retry_after(emulator);
        match self {
            Family::DeepSecurity => DsError::TooManyRequests.into_response(),
            Family::ApexCentral => ApexError::TooManyRequests { retry_after }.into_response(),
            Family::VisionOne => {
                let limit = match emulator.config().rate_limits.vision_one {
                    0 => REPORTED_LIMIT_WHEN_UNLIMITED,
                    n => n,
                };
                V1Error::TooManyRequests { retry_after, limit }.into_response()
            }
        }
    }

    fn internal(self, path: &str) -> Response {
        match self {
            Family::DeepSecurity => DsError::Internal.into_response(),
            Family::ApexCentral => ApexError::Internal.into_response(),
            Family::VisionOne if path == CONNECTIVITY_PATH => {
                V1Error::ConnectivityInternal.into_response()
            }
            Family::VisionOne => V1Error::Internal.into_response(),
        }
    }

    fn rejected(self, value: &str) -> Response {
        let message = format!("Invalid request - the value `{value}` is refused.");
        match self {
            Family::DeepSecurity => DsError::BadRequest(message).into_response(),
            Family::ApexCentral => ApexError::IncorrectParameter(message).into_response(),
            Family::VisionOne => V1Error::BadRequest(message).into_response(),
        }
    }
}

/// Middleware applying the drawn faults before the request reaches its handler.
pub async fn inject(State(emulator): State<Emulator>, request: Request, next: Next) -> Response {
    let decision = emulator.draw_faults();
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }
    let family = Family::of(request.uri().path());
    if decision.drop {
        let mut response = ().into_response();
        response.extensions_mut().insert(DropConnection);
        return response;
    }
    if decision.too_many {
        return family.too_many(&emulator);
    }
    if decision.internal_error {
        return family.internal(request.uri().path());
    }
    let rejected = emulator.fault_settings().reject_values;
    if rejected.is_empty() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) =
        axum::body::to_bytes(body, emulator.config().limits.deep_security_body_bytes).await
    else {
        return DsError::PayloadTooLarge.into_response();
    };
    // Apex Central's deletes name their value in the query string: it counts there.
    let query = match family {
        Family::ApexCentral => parts.uri.query().unwrap_or_default(),
        Family::VisionOne | Family::DeepSecurity => "",
    };
    let text = format!("{query}{}", String::from_utf8_lossy(&bytes));
    if let Some(value) = rejected.iter().find(|v| text.contains(v.as_str())) {
        return family.rejected(value);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn decision_retry_after(emulator: &Emulator) -> u64 {
    emulator.fault_settings().retry_after_seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let settings = FaultSettings {
            error_rate: 0.3,
            drop_rate: 0.1,
            ..FaultSettings::default()
        };
        let draws = |seed| {
            let mut faults = Faults::new(settings.clone(), seed);
            (0..200).map(|_| faults.decide()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let errors = draws(7).iter().filter(|d| d.internal_error).count();
        assert!(
            (30..=90).contains(&errors),
            "{errors} errors of 200 at p=0.3"
        );
    }

    #[test]
    fn burst_serves_exactly_n() {
        let mut faults = Faults::new(
            FaultSettings {
                burst_429: 3,
                ..FaultSettings::default()
            },
            1,
        );
        let hits: Vec<bool> = (0..5).map(|_| faults.decide().too_many).collect();
        assert_eq!(hits, [true, true, true, false, false]);
    }

    #[test]
    fn a_500_burst_follows_the_429_burst() {
        let mut faults = Faults::new(
            FaultSettings {
                burst_429: 1,
                burst_500: 2,
                ..FaultSettings::default()
            },
            1,
        );
        let hits: Vec<(bool, bool)> = (0..4)
            .map(|_| faults.decide())
            .map(|d| (d.too_many, d.internal_error))
            .collect();
        assert_eq!(
            hits,
            [(true, false), (false, true), (false, true), (false, false)]
        );
    }

    #[test]
    fn probabilities_are_checked() {
        let bad = FaultSettings {
            drop_rate: 1.5,
            ..FaultSettings::default()
        };
        assert!(bad.validate().unwrap_err().contains("drop_rate"));
    }

    #[test]
    fn task_outcomes_must_be_statuses_of_their_api() {
        let xdr = |outcome| FaultSettings {
            xdr_task_outcomes: [("1.2.3.4".to_owned(), outcome)].into(),
            ..FaultSettings::default()
        };
        assert!(xdr(Outcome::Timeout).validate().is_ok());
        let error = xdr(Outcome::PendingApproval).validate().unwrap_err();
        assert!(
            error.contains("xdr_task_outcomes") && error.contains("pendingApproval"),
            "{error}"
        );
        let response = FaultSettings {
            response_task_outcomes: [("1.2.3.4".to_owned(), Outcome::Skipped)].into(),
            ..FaultSettings::default()
        };
        assert!(
            response
                .validate()
                .unwrap_err()
                .contains("response_task_outcomes")
        );
    }
}
