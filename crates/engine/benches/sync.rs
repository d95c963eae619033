//! Sync at scale against the emulator (release build, real HTTP, a real SQLite file), printing
//! wall time and API calls (from the emulator's request counts):
//! - Vision One: 60,000 indicators (10,000 of each type) synced, re-synced unchanged, then
//!   re-synced with 1% changed;
//! - Deep Security: 200,000 IPs into parts of 32,000 characters, then re-synced unchanged.
//!
//! For each 1% churn step it prints requests and objects written as a share of the full
//! sync's. `cargo bench -p engine --bench sync`. Figures, not assertions: speed is never
//! asserted.

use std::time::Instant;

use chrono::Utc;
use config::Config;
use emulator::EmulatorConfig;
use engine::{NoProgress, RunOptions};
use indicator::Kind;
use store::{Class, Library, Sighting};
use testkit::ConfigBuilder;

const KEY: &str = "bench-key";

fn sighting(kind: Kind, value: String, score: u8) -> Sighting {
    Sighting {
        kind,
        value,
        display: None,
        source: "bench".into(),
        score: Some(score),
        class: Class::Indicator,
        tags: vec![],
        description: Some("bench".into()),
        seen_at: Utc::now(),
        valid_until: None,
        revoked: false,
        reported_at: None,
    }
}

fn ip(i: u32) -> String {
    std::net::Ipv4Addr::from(0x0B00_0000 + i * 3).to_string()
}

fn vision_one_set(n: u32, offset: u32) -> Vec<Sighting> {
    let mut out = Vec::new();
    for i in offset..offset + n {
        let score = (i % 11) as u8;
        out.push(sighting(Kind::Ipv4, ip(i), score));
        out.push(sighting(Kind::Domain, format!("d{i}.example.com"), score));
        out.push(sighting(
            Kind::Url,
            format!("http://u{i}.example.com/p"),
            score,
        ));
        out.push(sighting(Kind::Email, format!("m{i}@example.com"), score));
        out.push(sighting(Kind::Sha1, format!("{i:040x}"), score));
        out.push(sighting(Kind::Sha256, format!("{i:064x}"), score));
    }
    out
}

fn requests(emu: &emulator::RunningEmulator) -> u64 {
    let stats = emu.emulator().request_stats();
    stats.endpoints.values().map(|e| e.requests).sum()
}

struct Bench {
    _dir: tempfile::TempDir,
    emu: emulator::RunningEmulator,
    config: Config,
    library: Library,
}

impl Bench {
    async fn new(workflow: &str) -> Bench {
        let emu = testkit::emulator(KEY, EmulatorConfig::default()).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let key = testkit::secret_file(dir.path(), "key", KEY);
        let path = ConfigBuilder::new("library.db")
            .vision_one("v1", &emu.base_url(), &key)
            .deep_security("ds", &emu.deep_security_url(), &key)
            .unset("auth_header") // Deep Security's default header
            .collection("all")
            .raw(workflow)
            .write(dir.path());
        let config = Config::load(&path).expect("config loads");
        let library = config.library.open().expect("library");
        Bench {
            _dir: dir,
            emu,
            config,
            library,
        }
    }

    /// Runs `workflow` once; returns the API calls it made and the objects it wrote.
    async fn run(&mut self, label: &str, workflow: &str) -> Step {
        let before = requests(&self.emu);
        let started = Instant::now();
        let options = RunOptions {
            now: Utc::now(),
            manual: false,
            dry_run: false,
            verify: false,
            allow_removals: false,
            all_skips: false,
        };
        let report = engine::run_workflow(
            &self.config,
            &mut *self.library,
            workflow,
            options,
            &NoProgress,
        )
        .await
        .expect("run");
        let calls = requests(&self.emu) - before;
        println!(
            "{label:<40} {:>8.2}s  {calls:>6} API calls  +{} ~{} -{} failed {}",
            started.elapsed().as_secs_f64(),
            report.added,
            report.updated,
            report.removed,
            report.failed.len()
        );
        Step {
            calls,
            objects: (report.added + report.updated + report.removed) as u64,
        }
    }
}

/// What one run cost.
struct Step {
    calls: u64,
    objects: u64,
}

fn percent(part: u64, whole: u64) -> f64 {
    part as f64 * 100.0 / whole.max(1) as f64
}

/// The churn step against the full sync: requests and objects written, each as a share.
fn shares(label: &str, churn: &Step, full: &Step) {
    println!(
        "{label}: 1% churn used {} of {} requests ({:.1}%) and wrote {} of {} objects ({:.1}%)",
        churn.calls,
        full.calls,
        percent(churn.calls, full.calls),
        churn.objects,
        full.objects,
        percent(churn.objects, full.objects),
    );
}

async fn vision_one() {
    let mut bench = Bench::new(
        "[[workflows]]\nname = \"block\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nparameters = { cap_per_type = 10000 }\n",
    )
    .await;
    let all = vision_one_set(10_000, 0);
    bench.library.merge(&all).expect("merge");
    let full = bench.run("vision one: 60,000 first sync", "block").await;
    bench.run("vision one: unchanged re-sync", "block").await;
    // 1% churn: 300 revoked, 300 new (50 of each type).
    let revoked: Vec<Sighting> = all
        .iter()
        .take(300)
        .map(|s| Sighting {
            revoked: true,
            ..s.clone()
        })
        .collect();
    bench.library.merge(&revoked).expect("merge");
    let fresh = vision_one_set(50, 20_000);
    bench.library.merge(&fresh).expect("merge");
    let churn = bench.run("vision one: 1% churn re-sync", "block").await;
    shares("vision one", &churn, &full);
}

async fn deep_security() {
    let mut bench = Bench::new(
        "[[workflows]]\nname = \"ips\"\ncollection = \"all\"\ntarget = \"ds\"\naction = \"ip-list\"\nparameters = { list_name = \"bench\", aggregate = false }\n",
    )
    .await;
    let all: Vec<Sighting> = (0..200_000)
        .map(|i| sighting(Kind::Ipv4, ip(i), 8))
        .collect();
    bench.library.merge(&all).expect("merge");
    let full = bench
        .run("deep security: 200,000 IPs first sync", "ips")
        .await;
    bench.run("deep security: unchanged re-sync", "ips").await;
    let revoked: Vec<Sighting> = all
        .iter()
        .step_by(100)
        .map(|s| Sighting {
            revoked: true,
            ..s.clone()
        })
        .take(2_000)
        .collect();
    bench.library.merge(&revoked).expect("merge");
    let churn = bench.run("deep security: 1% removed re-sync", "ips").await;
    shares("deep security", &churn, &full);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        vision_one().await;
        deep_security().await;
    });
}
