//! Command-line front end shared by `tm-emulator` and `iocsync emulator`: flags (which win
//! over the TOML file given with `--emulator-config`), start-up banner, and serving until SIGINT or
//! SIGTERM, after which the state file (if any) is written.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::{Emulator, EmulatorConfig, server};

/// Address used when neither `--listen` nor the config file gives one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Options of the emulator command.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port) [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// API key accepted by every API for reads and writes (repeatable; also read from
    /// IOCSYNC_EMULATOR_API_KEY, comma-separated). With no key at all, one is generated and printed.
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "IOCSYNC_EMULATOR_API_KEY",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,

    /// API key that may read but gets 403 on every write (repeatable).
    #[arg(long = "read-only-key", value_name = "KEY")]
    pub read_only_keys: Vec<String>,

    /// TOML file with emulator options (customer settings, limits, rate limits, faults, ...).
    /// Named apart from iocsync's own global `--config`.
    #[arg(long = "emulator-config", id = "emulator_config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// JSON file to load the state from at start and save it to on shutdown.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Seed of the random generator behind probabilistic faults.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Base URL to use in nextLink and Operation-Location (default: http:// + Host header).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Probability (0-1) that a request gets a 500.
    #[arg(long, value_name = "P")]
    pub fault_error_rate: Option<f64>,

    /// Probability (0-1) that an item inside a 207 gets a 500.
    #[arg(long, value_name = "P")]
    pub fault_item_error_rate: Option<f64>,

    /// Latency added to every API request, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub fault_latency_ms: Option<u64>,

    /// Probability (0-1) that a connection is closed without a response.
    #[arg(long, value_name = "P")]
    pub fault_drop_rate: Option<f64>,

    /// The first N API requests get 429.
    #[arg(long = "fault-burst-429", value_name = "N")]
    pub fault_burst_429: Option<u32>,

    /// Vision One requests per key per 60 s (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub rate_limit_vision_one: Option<u32>,

    /// Deep Security requests per key per 60 s (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub rate_limit_deep_security: Option<u32>,

    /// XDR v2 requests per key per 60 s (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub rate_limit_xdr: Option<u32>,

    /// Apex Central requests per application per 60 s (0 = unlimited).
    #[arg(long, value_name = "N")]
    pub rate_limit_apex_central: Option<u32>,

    /// Seconds a block / restore task takes to succeed.
    #[arg(long, value_name = "S")]
    pub task_delay_seconds: Option<u64>,
}

impl ServeArgs {
    /// The configuration: the `--emulator-config` file (if any) with the flags applied on top.
    pub fn to_config(&self) -> anyhow::Result<EmulatorConfig> {
        let mut config = match &self.config {
            Some(path) => EmulatorConfig::from_toml_file(path)?,
            None => EmulatorConfig::default(),
        };
        let secrets = |keys: &[String]| -> Vec<SecretString> {
            keys.iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| SecretString::from(k.trim().to_owned()))
                .collect()
        };
        config.api_keys.extend(secrets(&self.api_keys));
        config.read_only_keys.extend(secrets(&self.read_only_keys));
        set(&mut config.listen, self.listen.map(Some));
        set(&mut config.state_file, self.state.clone().map(Some));
        set(&mut config.seed, self.seed);
        set(&mut config.public_url, self.public_url.clone().map(Some));
        set(&mut config.faults.error_rate, self.fault_error_rate);
        set(
            &mut config.faults.item_error_rate,
            self.fault_item_error_rate,
        );
        set(&mut config.faults.latency_ms, self.fault_latency_ms);
        set(&mut config.faults.drop_rate, self.fault_drop_rate);
        set(&mut config.faults.burst_429, self.fault_burst_429);
        set(
            &mut config.rate_limits.vision_one,
            self.rate_limit_vision_one,
        );
        set(
            &mut config.rate_limits.deep_security,
            self.rate_limit_deep_security,
        );
        set(&mut config.rate_limits.xdr, self.rate_limit_xdr);
        set(
            &mut config.rate_limits.apex_central,
            self.rate_limit_apex_central,
        );
        set(&mut config.tasks.delay_seconds, self.task_delay_seconds);
        config.validate()?;
        Ok(config)
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// Runs the emulator until SIGINT / SIGTERM, printing where it listens (and the generated key,
/// if one was generated) on stdout.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let addr = match config.listen {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let emulator = Emulator::new(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let banner_emulator = emulator.clone();
    runtime.block_on(server::run(
        addr,
        emulator,
        server::shutdown_signal(),
        move |bound| print_banner(&banner_emulator, bound),
    ))?;
    Ok(())
}

fn print_banner(emulator: &Emulator, bound: SocketAddr) {
    let base = format!("http://{bound}");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Trend Micro API emulator listening on {base}");
    let _ = writeln!(out, "  Vision One and XDR base URL: {base}");
    let _ = writeln!(out, "  Deep Security base URL:      {base}/api");
    let _ = writeln!(out, "  Apex Central base URL:       {base}");
    let _ = writeln!(
        out,
        "  State and controls:          {base}/_emulator/state (no key needed)"
    );
    if let Some(key) = emulator.generated_key() {
        let _ = writeln!(
            out,
            "  Generated API key:           {}",
            key.expose_secret()
        );
    }
    if let Some(app) = emulator.generated_apex_application() {
        let _ = writeln!(out, "  Apex Central application ID: {}", app.id);
        let _ = writeln!(
            out,
            "  Apex Central API key:        {}",
            app.api_key.expose_secret()
        );
    }
    if let Some(path) = &emulator.config().state_file {
        let _ = writeln!(out, "  State file (saved on exit):  {}", path.display());
    }
    let _ = writeln!(out, "Stop with Ctrl-C or SIGTERM.");
    let _ = out.flush();
}
