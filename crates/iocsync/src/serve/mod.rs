//! The daemon behind `iocsync serve`: scheduler, webhook triggers, status page, JSON API and
//! Prometheus metrics on one HTTP listener.
//!
//! - [`runner`]: the tick loop; each due workflow runs as `iocsync run` would, on its own
//!   thread and library handle, and stops after its batch in flight on shutdown.
//! - [`health`]: periodic cheap probes of every target.
//! - [`status`]: the data the page and the API show; [`page`] renders it as HTML; [`api`] is
//!   the router for `/`, `/api/*` and `/metrics`; [`metrics`] the Prometheus families;
//!   [`access`] the optional status token in front of them.
//! - [`triggers`]: `POST /hooks/{name}` webhook triggers.
//! - [`taxii`]: the TAXII 2.1 server of `[taxii]` under `/taxii2/`.
//! - [`cluster`]: this daemon's presence in the library, and the daemons sharing it.
//! - [`listener`]: the accept loop and HTTP/1 server, bounding slow and idle clients and the
//!   number of connections (`[serve]` limits).
//!
//! [`start`] runs all of it inside the caller's Tokio runtime and returns a [`RunningServer`]
//! (used by `iocsync serve`, `iocsync quickstart --serve` and tests).

mod access;
mod api;
mod cluster;
mod drill;
mod health;
mod listener;
mod metrics;
mod page;
mod pulls;
mod runner;
mod status;
mod taxii;
pub mod triggers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use config::Config;
use engine::schedule::Scheduler;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::access::StatusToken;
use self::health::Health;
use self::metrics::Metrics;
use self::runner::RunProgress;
use self::triggers::Triggers;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: Arc<Config>,
    /// Where the HTTP listener binds (port 0 picks a free port; see [`RunningServer::url`]).
    pub listen: SocketAddr,
    /// How often the scheduler looks for due workflows (and how soon a failed run is retried).
    pub tick: Duration,
    /// How often every target's health is probed.
    pub probe_every: Duration,
    /// Create the library when its file does not exist (otherwise the daemon refuses to start:
    /// a lost library would forget everything iocsync pushed).
    pub init_library: bool,
}

impl Options {
    /// The defaults `iocsync serve` uses: a one-second tick, a probe a minute.
    pub fn new(config: Arc<Config>, listen: SocketAddr) -> Options {
        Options {
            config,
            listen,
            tick: Duration::from_secs(1),
            probe_every: Duration::from_secs(60),
            init_library: false,
        }
    }
}

/// State shared by the scheduler, the probes and the HTTP handlers.
pub(crate) struct Shared {
    options: Options,
    /// The configuration in force: `options.config` until a reload replaces it.
    config: RwLock<Arc<Config>>,
    /// The token the status side requires, if any (replaced by a reload too).
    token: RwLock<Option<StatusToken>>,
    scheduler: Mutex<Scheduler>,
    /// When each feed is next pulled (one pull of a feed at a time).
    feed_scheduler: Mutex<Scheduler>,
    /// Runs in flight, by workflow.
    running: Mutex<BTreeMap<String, Arc<RunProgress>>>,
    /// The last probe of each target, by name.
    health: Mutex<BTreeMap<String, Health>>,
    metrics: Metrics,
    registry: Registry,
    triggers: Arc<Triggers>,
    /// The last SIGHUP reload and how it went (`None`: none since the start).
    last_reload: Mutex<Option<status::Reload>>,
    started_at: DateTime<Utc>,
    /// Cancelled when shutdown is requested.
    stop: CancellationToken,
    /// One permit per workflow run in flight (`serve.max_concurrent_runs`, read at the start).
    run_slots: tokio::sync::Semaphore,
    /// This daemon among those sharing the library.
    cluster: cluster::Cluster,
}

impl Shared {
    /// The configuration in force now.
    pub(crate) fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn token(&self) -> Option<StatusToken> {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A daemon running inside the caller's runtime.
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// The base URL of the status page, the API and the triggers (`http://127.0.0.1:8080`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks the daemon to stop: no run is started any more, runs in flight stop after the
    /// batch in flight. [`wait`](Self::wait) returns once they are recorded.
    pub fn request_shutdown(&self) {
        self.shared.stop.cancel();
    }

    /// A handle that reloads the daemon's configuration (see [`Reloader::reload`]).
    pub fn reloader(&self) -> Reloader {
        Reloader(Arc::clone(&self.shared))
    }

    /// Waits until the daemon has stopped (after [`request_shutdown`](Self::request_shutdown)).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the daemon task failed")?
    }

    /// Requests shutdown and waits for it: runs in flight finish their batch and are
    /// recorded, then the listener closes.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.request_shutdown();
        self.wait().await
    }
}

/// Reloads a running daemon's configuration; cheap to clone and send to a signal handler.
#[derive(Clone)]
pub struct Reloader(Arc<Shared>);

impl Reloader {
    /// Puts `config` in force without stopping: workflows and their schedules (an unchanged
    /// schedule keeps its next time; runs in flight finish with the configuration they
    /// started with), triggers, targets and the status token. All or nothing: when anything
    /// in `config` cannot be set up the daemon keeps the configuration it has and the error
    /// says why. The library, the listen address and the `[serve]` limits need a restart.
    pub fn reload(&self, config: Config) -> anyhow::Result<()> {
        self.reload_loaded(Ok(config))
    }

    /// [`reload`](Self::reload) with a config file as it was loaded, remembering the outcome
    /// (a file that did not load is a rejected reload too) for the status page and the API.
    pub fn reload_loaded(&self, loaded: anyhow::Result<Config>) -> anyhow::Result<()> {
        let outcome = loaded.and_then(|config| self.put_in_force(config));
        *runner::lock(&self.0.last_reload) = Some(status::Reload {
            at: Utc::now(),
            accepted: outcome.is_ok(),
            error: outcome.as_ref().err().map(|error| format!("{error:#}")),
        });
        outcome
    }

    fn put_in_force(&self, config: Config) -> anyhow::Result<()> {
        let shared = &self.0;
        let current = shared.config();
        if config.library != current.library {
            anyhow::bail!(
                "library: a reload cannot move the library ({} → {}); restart the daemon",
                current.library,
                config.library
            );
        }
        let triggers = Triggers::arm(&config)?;
        let token = status_token(&config, shared.options.listen)?;
        // Every schedule is checked here, so the swap below cannot fail half-way.
        Scheduler::new(&config.workflows, Utc::now(), shared.options.tick)?;
        Scheduler::new(&config.feeds, Utc::now(), shared.options.tick)?;
        let config = Arc::new(config);
        // The configuration first: a workflow the new scheduler finds due must be in it.
        *shared.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&config);
        *shared.token.write().unwrap_or_else(|e| e.into_inner()) = token;
        shared.triggers.rearm(triggers);
        runner::lock(&shared.health)
            .retain(|name, _| config.targets.iter().any(|t| t.name == *name));
        // Under one lock, so no run the tick loop starts or ends meanwhile is lost.
        let mut scheduler = runner::lock(&shared.scheduler);
        *scheduler = scheduler.reconfigure(&config.workflows, Utc::now())?;
        let mut feeds = runner::lock(&shared.feed_scheduler);
        *feeds = feeds.reconfigure(&config.feeds, Utc::now())?;
        Ok(())
    }
}

/// Starts the daemon: checks the library and the schedules, binds the listener, then runs the
/// scheduler, the health probes and the HTTP server until shutdown is requested.
pub async fn start(options: Options) -> anyhow::Result<RunningServer> {
    let config = Arc::clone(&options.config);
    check_library(&config, options.init_library).await?;
    let now = Utc::now();
    let scheduler = Scheduler::new(&config.workflows, now, options.tick)?;
    let feed_scheduler = Scheduler::new(&config.feeds, now, options.tick)?;
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let triggers = Triggers::new(Arc::clone(&config), &mut registry)?;
    let token = status_token(&config, options.listen)?;
    let listener = listener::bind(options.listen)
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        config: RwLock::new(Arc::clone(&options.config)),
        token: RwLock::new(token),
        run_slots: tokio::sync::Semaphore::new(options.config.serve.max_concurrent_runs),
        options,
        scheduler: Mutex::new(scheduler),
        feed_scheduler: Mutex::new(feed_scheduler),
        running: Mutex::new(BTreeMap::new()),
        health: Mutex::new(BTreeMap::new()),
        metrics,
        registry,
        triggers: Arc::clone(&triggers),
        last_reload: Mutex::new(None),
        started_at: now,
        stop: CancellationToken::new(),
        cluster: cluster::Cluster::new(now),
    });
    let app = api::router(Arc::clone(&shared))
        .merge(triggers.router())
        .merge(taxii::router(Arc::clone(&shared)));
    let task = tokio::spawn(run(Arc::clone(&shared), listener, app));
    tracing::info!(%addr, "iocsync serve listening");
    Ok(RunningServer { addr, shared, task })
}

/// The status token, when `[serve] token` names one; a warning when there is none and the
/// listener is reachable from other hosts.
fn status_token(config: &Config, listen: SocketAddr) -> anyhow::Result<Option<StatusToken>> {
    let token = config.serve.resolve_token()?;
    if token.is_none() && !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "the status page, /api/ and /metrics are open to every host that can reach {listen}: \
             set [serve] token, or keep the listener on loopback"
        );
    }
    Ok(token.as_ref().map(StatusToken::new))
}

/// Opens the library once so a bad path fails at start, not at the first run; a library
/// that does not exist is created only when `init` says so.
async fn check_library(config: &Config, init: bool) -> anyhow::Result<()> {
    let location = config.library.clone();
    tokio::task::spawn_blocking(move || {
        let opened = if init {
            location.open()
        } else {
            location.open_existing()
        };
        match opened {
            Ok(_) => Ok(()),
            Err(error) if config::LibraryLocation::is_missing(&error) => Err(error.into()),
            Err(error) => {
                Err(anyhow::Error::new(error)
                    .context(format!("cannot open the library {location}")))
            }
        }
    })
    .await?
}

/// The daemon's life: serve HTTP while the scheduler and the probes run; once shutdown is
/// requested and the runs in flight are recorded, close the listener.
async fn run(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> anyhow::Result<()> {
    let closing = CancellationToken::new();
    // The limits in force at start: a reload cannot change them (like the listen address).
    let limits = shared.options.config.serve.limits;
    let http = tokio::spawn(listener::serve(
        listener,
        app,
        limits,
        closing.clone().cancelled_owned(),
    ));
    let probes = tokio::spawn(health::watch(Arc::clone(&shared)));
    runner::schedule(Arc::clone(&shared)).await;
    if let Err(error) = probes.await {
        tracing::error!(%error, "the health probes panicked");
    }
    let leaving = Arc::clone(&shared);
    if let Err(error) = tokio::task::spawn_blocking(move || cluster::leave(&leaving)).await {
        tracing::error!(%error, "leaving the cluster view panicked");
    }
    closing.cancel();
    http.await.context("the HTTP server panicked")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "in-process-key";

    fn config(dir: &std::path::Path, library: &std::path::Path, base_url: &str) -> Arc<Config> {
        std::fs::write(dir.join("key"), KEY).unwrap();
        let text = format!(
            "[library]\npath = \"{}\"\n[[targets]]\nname = \"v1\"\nproduct = \"vision-one\"\n\
             base_url = \"{base_url}\"\napi_key = \"file:{}\"\nproxy = \"none\"\n\
             [[collections]]\nname = \"all\"\n[[workflows]]\nname = \"block\"\n\
             collection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nschedule = \"1h\"\n",
            library.display(),
            dir.join("key").display()
        );
        Arc::new(Config::from_toml(&text).unwrap())
    }

    fn options(config: Arc<Config>) -> Options {
        Options {
            tick: Duration::from_millis(50),
            init_library: true,
            ..Options::new(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn starts_runs_serves_and_shuts_down_in_process() {
        let settings = emulator::EmulatorConfig {
            api_keys: vec![KEY.into()],
            ..emulator::EmulatorConfig::default()
        };
        let emu = emulator::spawn(settings).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &dir.path().join("l.db"), &emu.base_url());
        let server = start(options(config)).await.unwrap();
        let url = server.url();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let runs = loop {
            let runs: serde_json::Value = reqwest::get(format!("{url}/api/runs"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if runs[0]["status"] == "succeeded" {
                break runs;
            }
            assert!(std::time::Instant::now() < deadline, "no run: {runs}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(runs[0]["workflow"], "block");
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        server.shutdown().await.unwrap();
        assert!(
            reqwest::get(&url).await.is_err(),
            "the listener is closed after shutdown"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn while_a_batch_is_in_flight_shutdown_waits_and_healthz_says_stopping() {
        let settings = emulator::EmulatorConfig {
            api_keys: vec![KEY.into()],
            ..emulator::EmulatorConfig::default()
        };
        let emu = emulator::spawn(settings).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("l.db");
        let sighting = store::Sighting {
            kind: indicator::Kind::Domain,
            value: "slow.example.com".into(),
            display: None,
            source: "test".into(),
            score: Some(9),
            class: store::Class::Indicator,
            tags: Vec::new(),
            description: None,
            seen_at: Utc::now(),
            valid_until: None,
            revoked: false,
            reported_at: None,
        };
        store::Library::open(&library)
            .unwrap()
            .merge(&[sighting])
            .unwrap();
        emu.emulator().set_faults(emulator::faults::FaultSettings {
            latency_ms: 1500,
            ..Default::default()
        });
        let server = start(options(config(dir.path(), &library, &emu.base_url())))
            .await
            .unwrap();
        let url = server.url();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status: serde_json::Value = reqwest::get(format!("{url}/api/status"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if status["workflows"][0]["running"]["total"] == 1 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no run: {status}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.request_shutdown();
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(
            health.status(),
            503,
            "the batch in flight keeps the daemon up"
        );
        server.wait().await.unwrap();
        let recorded = store::Library::open(&library).unwrap().runs(1).unwrap();
        assert_eq!(
            recorded[0].counts["added"], 1,
            "the batch in flight finished"
        );
        assert_ne!(recorded[0].status, store::RunStatus::Running);
    }

    #[tokio::test]
    async fn start_names_what_it_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("no-such-dir").join("l.db");
        let error = start(options(config(dir.path(), &library, "http://127.0.0.1:9")))
            .await
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("no-such-dir"), "{error:#}");

        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = config(dir.path(), &dir.path().join("l.db"), "http://127.0.0.1:9");
        let options = Options {
            listen: taken.local_addr().unwrap(),
            ..options(config)
        };
        let error = start(options).await.err().unwrap();
        assert!(error.to_string().contains("cannot listen on"), "{error:#}");
    }
}
