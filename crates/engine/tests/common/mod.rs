//! The compliance harness: an emulator on a free port, a library (a SQLite file in a
//! temporary directory, or a fresh PostgreSQL database: [`Backend`]) and a config file, and
//! helpers that make indicators and read the emulator's counters. [`suite`] is the one
//! compliance suite every target passes, on both backends.

#![allow(dead_code)]

pub mod suite;

use chrono::{DateTime, Duration, Utc};
use config::Config;
use emulator::{EmulatorConfig, RunningEmulator};
use engine::keys::WorkflowKeys;
use engine::{NoProgress, Progress, RunOptions, RunReport};
use indicator::Kind;
use serde_json::json;
use store::{Class, Library, Sighting};
use tempfile::TempDir;
use testkit::ConfigBuilder;

pub const KEY: &str = "compliance-test-key";
/// The Apex Central application the harness's `apex` target signs as (with [`KEY`]).
pub const APEX_APP: &str = "2C4B1F4A-0A4E-4C5B-9D5E-8A6E2D4B7C10";

/// The library a harness keeps.
pub enum Backend {
    /// `library.db` in the harness's folder.
    Sqlite,
    /// A database of its own on the test cluster, dropped with the harness.
    Postgres(TestPostgres),
}

impl Backend {
    /// A fresh PostgreSQL database, or `None` (saying why) when PostgreSQL is absent here and
    /// not required.
    pub fn postgres() -> Option<Backend> {
        // The synchronous client must not run on the test's async thread.
        let db = std::thread::scope(|scope| {
            scope
                .spawn(testkit::postgres::database)
                .join()
                .expect("creating the test database panicked")
        });
        db.map(|db| Backend::Postgres(TestPostgres(Some(db))))
    }

    /// The config's `[library]` for this backend.
    fn config(&self) -> ConfigBuilder {
        match self {
            Backend::Sqlite => ConfigBuilder::new("library.db"),
            Backend::Postgres(TestPostgres(Some(db))) => ConfigBuilder::postgres(db.url()),
            Backend::Postgres(TestPostgres(None)) => unreachable!("dropped"),
        }
    }
}

/// A test database dropped off the async thread (dropping it uses the synchronous client).
pub struct TestPostgres(Option<testkit::postgres::TestDatabase>);

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            let _ = std::thread::spawn(move || drop(db)).join();
        }
    }
}

pub struct Harness {
    pub dir: TempDir,
    pub emulator: RunningEmulator,
    pub library: Library,
    pub config: Config,
    pub now: DateTime<Utc>,
    /// Runs send removals past the brake (tests of what removals do, not of the brake).
    pub allow_removals: bool,
    /// Declared last: the library closes before its database is dropped.
    pub backend: Backend,
}

impl Harness {
    /// An emulator and a config file with targets `v1` and `ds` on it, collection `all` and
    /// the given workflows (TOML).
    pub async fn new(workflows: &str) -> Harness {
        Harness::with_emulator(EmulatorConfig::default(), workflows).await
    }

    /// Like [`Harness::new`], with the emulator configured by `settings` (its keys replaced).
    pub async fn with_emulator(settings: EmulatorConfig, workflows: &str) -> Harness {
        Harness::on(Backend::Sqlite, settings, workflows).await
    }

    /// Like [`Harness::with_emulator`], with the library on `backend`.
    pub async fn on(backend: Backend, settings: EmulatorConfig, workflows: &str) -> Harness {
        let settings = EmulatorConfig {
            api_keys: vec![KEY.into()],
            ..settings
        };
        let emulator = emulator::spawn(settings).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
        let text = config_text(&dir, &emulator, backend.config(), workflows);
        std::fs::write(dir.path().join("iocsync.toml"), &text).unwrap();
        let config = Config::load(&dir.path().join("iocsync.toml")).unwrap();
        let library = config.library.open().unwrap();
        Harness {
            dir,
            emulator,
            library,
            config,
            now: Utc::now(),
            allow_removals: false,
            backend,
        }
    }

    pub fn merge(&mut self, sightings: &[Sighting]) {
        let report = self.library.merge_at(sightings, self.now).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }

    pub async fn run(&mut self, workflow: &str) -> RunReport {
        self.run_with(workflow, false, false).await
    }

    pub async fn run_with(&mut self, workflow: &str, manual: bool, verify: bool) -> RunReport {
        self.run_watched(workflow, manual, verify, &NoProgress)
            .await
    }

    /// A run whose progress hook is `progress` (which may ask it to stop).
    pub async fn run_watched(
        &mut self,
        workflow: &str,
        manual: bool,
        verify: bool,
        progress: &dyn Progress,
    ) -> RunReport {
        let options = RunOptions {
            now: self.now,
            manual,
            dry_run: false,
            verify,
            allow_removals: self.allow_removals,
            all_skips: false,
        };
        engine::run_workflow(
            &self.config,
            &mut *self.library,
            workflow,
            options,
            progress,
        )
        .await
        .unwrap()
    }

    /// The values the ledger holds for `workflow`, sorted.
    pub fn ledger_values(&self, workflow: &str) -> Vec<String> {
        let key = self.config.workflow(workflow).unwrap().ledger_key();
        let mut values: Vec<String> = self
            .library
            .ledger(&key)
            .unwrap()
            .into_iter()
            .map(|e| e.value)
            .collect();
        values.sort();
        values
    }

    /// Requests the emulator answered with `status`, all endpoints.
    pub fn answered(&self, status: &str) -> u64 {
        let stats = self.emulator.emulator().request_stats();
        stats
            .endpoints
            .keys()
            .map(|endpoint| stats.count(endpoint, status))
            .sum()
    }

    /// What XDR v2 holds blocked, sorted.
    pub fn xdr_blocked(&self) -> Vec<String> {
        let mut values: Vec<String> = self
            .emulator
            .emulator()
            .snapshot()
            .xdr_blocked
            .into_iter()
            .map(|b| b.target_value)
            .collect();
        values.sort();
        values
    }

    /// The user-defined suspicious objects Apex Central holds, as their content, sorted.
    pub fn udso(&self) -> Vec<String> {
        let mut values: Vec<String> = self
            .emulator
            .emulator()
            .snapshot()
            .udso
            .into_iter()
            .map(|o| o.content)
            .collect();
        values.sort();
        values
    }

    /// Requests the emulator has answered, all endpoints and statuses.
    pub fn requests(&self) -> u64 {
        let stats = self.emulator.emulator().request_stats();
        stats.endpoints.values().map(|e| e.requests).sum()
    }

    /// Write requests (POST/PUT/DELETE) the emulator has answered, except searches.
    pub fn writes(&self) -> u64 {
        let stats = self.emulator.emulator().request_stats();
        stats
            .endpoints
            .iter()
            .filter(|(name, _)| {
                (name.starts_with("POST") || name.starts_with("PUT") || name.starts_with("DELETE"))
                    && !name.ends_with("/search")
            })
            .map(|(_, e)| e.requests)
            .sum()
    }

    /// Moves both clocks (the emulator's and the engine's) forward.
    pub fn advance(&mut self, by: Duration) {
        self.emulator.emulator().clock().advance(by.num_seconds());
        self.now += by;
    }

    /// The suspicious objects the emulator holds, as `value` strings, sorted.
    pub fn suspicious(&self) -> Vec<String> {
        let mut values: Vec<String> = self
            .emulator
            .emulator()
            .snapshot()
            .suspicious_objects
            .into_iter()
            .map(|o| o.value)
            .collect();
        values.sort();
        values
    }

    /// Every item on the emulator's IP lists named `<name>_N`, with repeats, sorted.
    pub fn ip_list_items(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}_");
        let mut items: Vec<String> = self
            .emulator
            .emulator()
            .snapshot()
            .ip_lists
            .into_iter()
            .filter(|l| l.name.starts_with(&prefix))
            .flat_map(|l| l.items)
            .collect();
        items.sort();
        items
    }
}

/// The harness's config: its targets and collection, then `workflows` (any TOML; `@V1@` in it
/// stands for the emulator's Vision One URL and `@KEY@` for the key file, for extra targets).
fn config_text(
    dir: &TempDir,
    emulator: &RunningEmulator,
    library: ConfigBuilder,
    workflows: &str,
) -> String {
    let key = dir.path().join("key");
    let v1 = emulator.base_url();
    let workflows = workflows
        .replace("@V1@", &v1)
        .replace("@KEY@", &key.display().to_string());
    let key = testkit::file_ref(&key);
    let objects = format!("{v1}/v3.0/threatintel/suspiciousObjects");
    let payload = r#"[{"ip": "$value", "description": "$description"}]"#;
    let bearer = format!("Bearer ${{{key}}}");
    library
        .vision_one("v1", &v1, &key)
        .vision_one("v1b", &v1, &key)
        .set("batch_size", 10)
        // Two batches in flight per window: windows of 20, so a run of 30 can stop between.
        .set("max_concurrency", 2)
        .http("webhook", &objects, payload)
        .header("Authorization", &bearer)
        .http("webhook-undo", &objects, payload)
        .set("remove_url", format!("{objects}/delete"))
        .set("remove_payload", r#"[{"ip": "$value"}]"#)
        .header("Authorization", &bearer)
        .deep_security("ds", &emulator.deep_security_url(), &key)
        // Two parts written at once: a run of a few parts can still stop between windows.
        .set("max_concurrency", 2)
        .xdr_v2("xdr", &v1, &key)
        .target("apex", "apex-central")
        .set("base_url", v1.as_str())
        .set("application_id", APEX_APP)
        .set("api_key", key.as_str())
        .collection("all")
        .raw("[guard]\nallow_cidrs = [\"198.51.100.0/24\"]\n")
        .raw(&workflows)
        .toml()
}

/// A sighting of `value` from source `feed`.
pub fn sighting(kind: Kind, value: &str, score: u8, now: DateTime<Utc>) -> Sighting {
    Sighting {
        kind,
        value: value.to_owned(),
        display: None,
        source: "feed".to_owned(),
        score: Some(score),
        class: Class::Indicator,
        tags: Vec::new(),
        description: Some("compliance".to_owned()),
        seen_at: now,
        valid_until: None,
        revoked: false,
        reported_at: None,
    }
}

/// `n` public IPv4 addresses from 11.0.0.0 on.
pub fn ips(n: u32, score: u8, now: DateTime<Utc>) -> Vec<Sighting> {
    (0..n)
        .map(|i| {
            let addr = std::net::Ipv4Addr::from(0x0B00_0000 + i * 3);
            sighting(Kind::Ipv4, &addr.to_string(), score, now)
        })
        .collect()
}

/// `n` indicators of each Vision One kind.
pub fn mixed(n: u32, now: DateTime<Utc>) -> Vec<Sighting> {
    let mut out = ips(n, 8, now);
    for i in 0..n {
        out.push(sighting(
            Kind::Domain,
            &format!("bad{i}.example.com"),
            5,
            now,
        ));
        out.push(sighting(
            Kind::Url,
            &format!("http://bad{i}.example.com/x"),
            3,
            now,
        ));
        out.push(sighting(
            Kind::Email,
            &format!("phish{i}@example.com"),
            9,
            now,
        ));
        out.push(sighting(Kind::Sha1, &format!("{i:040x}"), 7, now));
        out.push(sighting(Kind::Sha256, &format!("{i:064x}"), 7, now));
    }
    out
}

/// The same sightings, revoked by their source.
pub fn revoke(sightings: &[Sighting], now: DateTime<Utc>) -> Vec<Sighting> {
    sightings
        .iter()
        .map(|s| Sighting {
            revoked: true,
            seen_at: now,
            ..s.clone()
        })
        .collect()
}

/// The suspicious object holding `value`, if any.
pub fn object(h: &Harness, value: &str) -> Option<emulator::vision_one::model::SuspiciousObject> {
    h.emulator
        .emulator()
        .snapshot()
        .suspicious_objects
        .into_iter()
        .find(|o| o.value == value)
}

/// Adds objects to the list the way an analyst does in the console (or another tool does).
pub async fn console_add(h: &Harness, objects: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v3.0/threatintel/suspiciousObjects",
            h.emulator.base_url()
        ))
        .bearer_auth(KEY)
        .json(&objects)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 207);
}

/// Deletes an object from the list as a console user does.
pub async fn console_delete(h: &Harness, value: &str) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v3.0/threatintel/suspiciousObjects/delete",
            h.emulator.base_url()
        ))
        .bearer_auth(KEY)
        .json(&json!([{ "ip": value }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 207);
}
