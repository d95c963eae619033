//! `iocsync guard test`: which guard rule would keep each value out of an export, and why.
//! Each value is parsed like `iocsync parse` (refanged, canonicalised) and checked against the
//! built-in rules plus whatever allowlists and warninglists the flags or `--config` name.

use super::Exit;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use comfy_table::{ContentArrangement, Table, presets};
use guard::{Guard, GuardConfig, ListKind, Verdict};
use serde::{Deserialize, Serialize};

use super::GlobalArgs;

/// Arguments of `iocsync guard`.
#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Say which guard rule would stop each value, and why. Exit status: 0 when every value
    /// parsed (whatever the verdicts), 3 when some did not.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Values to test: addresses, networks, domains, URLs, e-mail addresses or hashes
    /// (defanged forms such as `hxxp://x[.]com` are fine).
    #[arg(value_name = "VALUE", required = true)]
    pub values: Vec<String>,
    /// Print one JSON object per value instead of a table.
    #[arg(long)]
    pub json: bool,
    /// A network or address never to block; repeat for several.
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    pub allow_cidrs: Vec<String>,
    /// A domain never to block, with its subdomains and the URLs and e-mail addresses on it;
    /// repeat for several.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    pub allow_domains: Vec<String>,
    /// A URL never to block (exact match); repeat for several.
    #[arg(long = "allow-url", value_name = "URL")]
    pub allow_urls: Vec<String>,
    /// A file hash never to block; repeat for several.
    #[arg(long = "allow-hash", value_name = "HASH")]
    pub allow_hashes: Vec<String>,
    /// A MISP warninglist file, or a directory of them; repeat for several.
    #[arg(long = "warninglist", value_name = "PATH")]
    pub warninglists: Vec<PathBuf>,
    /// Refuse IPv4 networks broader than this prefix (default 16).
    #[arg(long, value_name = "BITS")]
    pub max_prefix_v4: Option<u8>,
    /// Refuse IPv6 networks broader than this prefix (default 48).
    #[arg(long, value_name = "BITS")]
    pub max_prefix_v6: Option<u8>,
    /// Test for an exception list (values let through) rather than a blocklist: only the
    /// broad-network rule applies.
    #[arg(long)]
    pub exception_list: bool,
}

/// Runs `iocsync guard`.
pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<Exit> {
    match args {
        Args::Test(args) => test(&args, global),
    }
}

fn test(args: &TestArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let config = settings(args, global)?;
    let guard = Guard::new(&config).context("cannot build the guard")?;
    if !global.quiet {
        for note in guard.notes() {
            eprintln!("note: {note}");
        }
    }
    let outcomes: Vec<Outcome> = args.values.iter().flat_map(|v| judge(&guard, v)).collect();
    let written = if args.json {
        write_json(&outcomes)
    } else {
        write_table(&outcomes)
    };
    match written {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            return Err(err).context("cannot write to standard output");
        }
        _ => {}
    }
    let invalid = outcomes.iter().any(|o| o.verdict == "invalid");
    Ok(if invalid {
        Exit::Partial
    } else {
        Exit::Success
    })
}

/// The `[guard]` table of a config file, plus the flags.
fn settings(args: &TestArgs, global: &GlobalArgs) -> anyhow::Result<GuardConfig> {
    let mut config = match &global.optional_config() {
        Some(path) => read_config(path)?,
        None => GuardConfig::default(),
    };
    config.allow_cidrs.extend(args.allow_cidrs.iter().cloned());
    config
        .allow_domains
        .extend(args.allow_domains.iter().cloned());
    config.allow_urls.extend(args.allow_urls.iter().cloned());
    config
        .allow_hashes
        .extend(args.allow_hashes.iter().cloned());
    config
        .warninglists
        .extend(args.warninglists.iter().cloned());
    if let Some(bits) = args.max_prefix_v4 {
        config.max_prefix_v4 = bits;
    }
    if let Some(bits) = args.max_prefix_v6 {
        config.max_prefix_v6 = bits;
    }
    if args.exception_list {
        config.list = ListKind::ExceptionList;
    }
    Ok(config)
}

/// Only the `[guard]` table is read; the rest of the file belongs to other commands.
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    guard: GuardConfig,
}

fn read_config(path: &Path) -> anyhow::Result<GuardConfig> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|err| anyhow!("{}: {}", path.display(), err.to_string().trim_end()))?;
    let mut config = file.guard;
    let base = path.parent().unwrap_or(Path::new("."));
    for list in &mut config.warninglists {
        if list.is_relative() {
            *list = base.join(&*list);
        }
    }
    Ok(config)
}

/// One line of the answer.
#[derive(Debug, Serialize)]
struct Outcome {
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// `allow`, `stop` or `invalid` (the value did not parse).
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    /// Why it is stopped, or why it did not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The verdicts for one input (an address range gives one per network).
fn judge(guard: &Guard, input: &str) -> Vec<Outcome> {
    let parsed = match indicator::parse(input) {
        Ok(parsed) => parsed,
        Err(err) => {
            return vec![Outcome {
                input: input.to_owned(),
                kind: None,
                value: None,
                verdict: "invalid",
                rule: None,
                reason: Some(err.to_string()),
            }];
        }
    };
    parsed
        .into_iter()
        .map(|indicator| {
            let (verdict, rule, reason) = match guard.check(&indicator) {
                Verdict::Allow => ("allow", None, None),
                Verdict::Stop { rule, reason } => ("stop", Some(rule), Some(reason)),
            };
            Outcome {
                input: input.to_owned(),
                kind: Some(indicator.kind.as_str()),
                value: Some(indicator.value),
                verdict,
                rule,
                reason,
            }
        })
        .collect()
}

fn write_json(outcomes: &[Outcome]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for outcome in outcomes {
        serde_json::to_writer(&mut out, outcome)?;
        writeln!(out)?;
    }
    out.flush()
}

fn write_table(outcomes: &[Outcome]) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["VALUE", "KIND", "VERDICT", "RULE", "REASON"]);
    for o in outcomes {
        table.add_row([
            o.value.as_deref().unwrap_or(&o.input),
            o.kind.unwrap_or("-"),
            o.verdict,
            o.rule.as_deref().unwrap_or(""),
            o.reason.as_deref().unwrap_or(""),
        ]);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "{table}")?;
    out.flush()
}
