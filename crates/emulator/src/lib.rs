#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! A faithful emulator of the Trend Micro APIs iocsync talks to, for trying iocsync before
//! pointing it at a tenant and for every test of iocsync.
//!
//! One HTTP server answers, on the same port:
//! - Vision One v3 (`/v3.0/...`): suspicious-object list and exception list (add, list with
//!   `TMV1-Filter`, `orderBy`, date range and `nextLink` paging, delete), the v3 response
//!   block list with its tasks, and the connectivity check ([`vision_one`], [`response`]);
//! - Deep Security / Workload Security IP lists under `/api/` ([`deep_security`]);
//! - the legacy XDR v2 block / restore / getTask ([`xdr`]);
//! - Apex Central's Automation API for the User-Defined Suspicious Object list under
//!   `/WebApp/api/` ([`apex_central`]), with its JWT and request-checksum authentication;
//! - `/_emulator/*` to inspect and steer it: state, request counts, reset, clock, faults
//!   ([`inspect`]). These need no credentials: they exist only on the emulator.
//!
//! Behaviour follows Trend's published specs and SDKs; where no source settles a question the
//! choice is configurable ([`EmulatorConfig`]) and documented on the item concerned. The state
//! lives in memory behind one lock and can be persisted to a JSON file. Time is the
//! emulator's own [`clock::Clock`], which tests move forward to expire objects and finish tasks.
//!
//! # Choices where Trend's documents are silent
//! - Never-expiring objects (`daysToExpiration: -1`) report `expiredDateTime`
//!   `9999-12-31T23:59:59Z` ([`clock::NEVER_EXPIRES`]); the field is always present.
//! - `daysToExpiration: 0` is refused with a per-item 400 (undocumented; clients must not send it).
//! - Omitted settings take the configurable customer settings: `block`, `medium`, 30 days.
//! - Re-adding a value replaces its settings (upsert by value; hashes, domains and addresses
//!   compare without case); duplicates within one request: the last wins, each gets 201.
//! - A full suspicious-object type evicts the objects closest to expiry; when the request
//!   cannot fit even after evicting every expiring object it does not touch, the whole request
//!   is a 400 with number 4000018 ("The number of objects exceeds the maximum limit ...") and
//!   nothing is applied. A full exception list (5,000) is refused the same way.
//! - Exceptions accept a leading `*.` on domains, and in URLs a `*` as the host's first label
//!   or as the last character; sender addresses only fully qualified (no `*`); IP exceptions
//!   are single addresses (full match) — all as the spec says.
//! - `TMV1-Filter` values compare without ASCII case and `*` is a wildcard.
//! - 413 bodies are JSON `{"error":{"code":"RequestEntityTooLarge",...}}`; the limit is
//!   1,000,000 bytes.
//! - Deep Security: names are unique (case-sensitive) and at most 254 characters; search
//!   compares without ASCII case, sorts by name unless `sortByObjectID`, refuses `maxItems`
//!   outside 0–5000; built-in lists may be modified and deleted.
//! - XDR v2 blocks are kept apart from the Suspicious Object List (`xdrBlocked` in the state);
//!   v3 response blocks land in the Suspicious Object List when their task succeeds.
//! - A v3 response block or restore is a "Task duplication." only while the same task on the
//!   same value is still open (queued, running, pending approval); blocking a value already
//!   listed starts a new task. XDR v2 `getTask` reports `executedTime` and `finishedTime` as 0
//!   until the task has started or ended.

pub mod apex_central;
pub mod auth;
mod body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod deep_security;
pub mod error;
pub mod faults;
pub mod inspect;
pub mod rate_limit;
pub mod response;
pub mod server;
pub mod state;
pub mod tasks;
pub mod vision_one;
mod wildcard;
pub mod xdr;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use rand::RngExt;
use secrecy::SecretString;

pub use config::EmulatorConfig;
pub use error::EmulatorError;
pub use server::{RunningEmulator, spawn};
pub use state::{Snapshot, State};

use auth::{Caller, Keys};
use clock::Clock;
use faults::{Decision, FaultSettings, Faults};
use inspect::RequestStats;
use rate_limit::{Api, RateLimiter};

/// A handle on one emulator instance: configuration, state, clock, faults and counters.
/// Cloning is cheap; every clone sees the same instance.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    keys: Keys,
    generated_key: Option<SecretString>,
    /// Whether the (only) Apex Central application was generated.
    generated_apex: bool,
    clock: Clock,
    state: Mutex<State>,
    initial_state: State,
    faults: Mutex<Faults>,
    stats: Mutex<RequestStats>,
    limiter: RateLimiter,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Emulator {
    /// Builds an emulator from its configuration, loading the state file if it exists and
    /// generating an API key if none is configured.
    pub fn new(mut config: EmulatorConfig) -> Result<Self, EmulatorError> {
        config.validate()?;
        let generated_apex = config.apex_central.applications.is_empty();
        if generated_apex {
            config
                .apex_central
                .applications
                .push(generate_apex_application());
        }
        let initial_state = match &config.state_file {
            Some(path) if path.exists() => State::load(path)?,
            _ => State::default(),
        };
        let generated_key =
            (config.api_keys.is_empty() && config.read_only_keys.is_empty()).then(generate_key);
        let full_keys = match &generated_key {
            Some(key) => vec![key.clone()],
            None => config.api_keys.clone(),
        };
        let keys = Keys::new(full_keys, config.read_only_keys.clone());
        let faults = Faults::new(config.faults.clone(), config.seed);
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                generated_key,
                generated_apex,
                clock: Clock::default(),
                state: Mutex::new(initial_state.clone()),
                initial_state,
                faults: Mutex::new(faults),
                stats: Mutex::new(RequestStats::default()),
                limiter: RateLimiter::default(),
                config,
            }),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The key generated because none was configured (print it for the user).
    pub fn generated_key(&self) -> Option<&SecretString> {
        self.inner.generated_key.as_ref()
    }

    /// The Apex Central application generated because none was configured (print its ID and
    /// key for the user).
    pub fn generated_apex_application(&self) -> Option<&config::ApexApplication> {
        if !self.inner.generated_apex {
            return None;
        }
        self.inner.config.apex_central.applications.first()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Current emulated time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Runs `f` on the state after dropping expired objects and finishing due tasks.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let now = self.now();
        let mut state = lock(&self.inner.state);
        state.purge_expired(now);
        tasks::settle(
            &mut state,
            now,
            self.inner.config.tasks.delay_seconds,
            &self.inner.config.customer_settings,
        );
        f(&mut state)
    }

    /// The whole state as JSON-ready data.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now();
        self.with_state(|state| state.snapshot(now))
    }

    /// Back to the start: the state loaded at start-up (or the built-ins), the configured
    /// faults, wall-clock time, empty counters and rate windows.
    pub fn reset(&self) {
        *lock(&self.inner.state) = self.inner.initial_state.clone();
        lock(&self.inner.faults).set(self.inner.config.faults.clone());
        *lock(&self.inner.stats) = RequestStats::default();
        self.inner.clock.reset();
        self.inner.limiter.reset();
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, settings: FaultSettings) {
        lock(&self.inner.faults).set(settings);
    }

    /// The current fault settings.
    pub fn fault_settings(&self) -> FaultSettings {
        lock(&self.inner.faults).settings().clone()
    }

    pub(crate) fn draw_faults(&self) -> Decision {
        lock(&self.inner.faults).decide()
    }

    /// Whether one item of a 207 gets an injected 500.
    pub(crate) fn item_fails(&self) -> bool {
        lock(&self.inner.faults).item_fails()
    }

    /// How a task of `origin` on `value` ends, when the fault settings say it does not succeed.
    pub(crate) fn task_outcome(
        &self,
        origin: tasks::TaskOrigin,
        value: &str,
    ) -> Option<tasks::Outcome> {
        let faults = lock(&self.inner.faults);
        let outcomes = match origin {
            tasks::TaskOrigin::Response => &faults.settings().response_task_outcomes,
            tasks::TaskOrigin::Xdr => &faults.settings().xdr_task_outcomes,
        };
        outcomes.get(value).copied()
    }

    /// Counts a request against the caller's window; `Err((retry_after, limit))` when over.
    pub(crate) fn rate_check(&self, api: Api, caller: Caller) -> Result<(), (u64, u32)> {
        let limits = &self.inner.config.rate_limits;
        let limit = match api {
            Api::VisionOne => limits.vision_one,
            Api::DeepSecurity => limits.deep_security,
            Api::Xdr => limits.xdr,
            Api::ApexCentral => limits.apex_central,
        };
        self.inner
            .limiter
            .check(api, caller.id, limit, self.inner.clock.now_ms())
            .map_err(|retry_after| (retry_after, limit))
    }

    /// Request counters by endpoint and status.
    pub fn request_stats(&self) -> RequestStats {
        lock(&self.inner.stats).clone()
    }

    pub(crate) fn record_request(&self, endpoint: String, outcome: inspect::Outcome) {
        lock(&self.inner.stats).record(endpoint, outcome);
    }

    /// Writes the state to the configured state file, if any.
    pub fn save_state(&self) -> Result<(), EmulatorError> {
        match &self.inner.config.state_file {
            Some(path) => {
                let now = self.now();
                self.with_state(|state| state.save(path, now))
            }
            None => Ok(()),
        }
    }
}

/// `len` random digits of base `radix`.
fn random_digits(len: usize, radix: u8) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let n: u8 = rng.random_range(0..radix);
            char::from_digit(u32::from(n), u32::from(radix)).unwrap_or('0')
        })
        .collect()
}

fn generate_key() -> SecretString {
    SecretString::from(format!("emu-{}", random_digits(40, 36)))
}

/// An application with an ID shaped like the console's (upper-case hex groups) and a random key.
fn generate_apex_application() -> config::ApexApplication {
    let groups: Vec<String> = [8, 4, 4, 4, 12]
        .iter()
        .map(|&len| random_digits(len, 16).to_ascii_uppercase())
        .collect();
    config::ApexApplication {
        id: groups.join("-"),
        api_key: SecretString::from(random_digits(36, 16).to_ascii_uppercase()),
        read_only: false,
    }
}

/// The router serving every emulated API and `/_emulator/*` for `emulator`.
pub fn app(emulator: Emulator) -> Router {
    let apis = Router::new()
        .merge(vision_one::routes())
        .merge(response::routes())
        .merge(xdr::routes())
        .merge(deep_security::routes())
        .merge(apex_central::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            emulator.clone(),
            faults::inject,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            emulator.clone(),
            inspect::record,
        ));
    Router::new()
        .merge(apis)
        .merge(inspect::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            emulator.clone(),
            deep_security::stamp_version,
        ))
        .with_state(emulator)
}

/// Unknown paths: a Deep Security 404 under `/api/`, a Vision One 404 elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"message": "Not found."})),
        )
            .into_response()
    } else {
        vision_one::error::V1Error::NotFound.into_response()
    }
}
