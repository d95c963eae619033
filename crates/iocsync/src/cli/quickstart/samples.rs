//! The bundled sample feeds (`examples/feeds/`), embedded so the binary works from any folder,
//! published on loopback as a feed host would, and pulled through the quickstart config's
//! `[[feeds]]` with the code of `iocsync pull`.

use anyhow::Context;
use config::Config;
use feeds::Columns;
use serde::Serialize;
use store::{Class, Library, Outcome};

use ingest::problems::Quiet;
use ingest::pull::{PullOptions, pull};

/// One sample feed and how it is imported.
pub struct Sample {
    pub name: &'static str,
    pub text: &'static str,
    /// Source name in the library (collections select on it).
    pub source: &'static str,
    /// Score for records that carry none.
    pub score: Option<u8>,
    pub class: Class,
}

/// Every sample feed: threats in five formats, the company's own assets, and the allowlist the
/// exception workflow sends.
pub const SAMPLES: [Sample; 7] = [
    Sample {
        name: "blocklist.txt",
        text: include_str!("../../../../../examples/feeds/blocklist.txt"),
        source: "blocklist",
        score: Some(7),
        class: Class::Indicator,
    },
    Sample {
        name: "phishing.csv",
        text: include_str!("../../../../../examples/feeds/phishing.csv"),
        source: "phishing",
        score: None,
        class: Class::Indicator,
    },
    Sample {
        name: "c2-servers.jsonl",
        text: include_str!("../../../../../examples/feeds/c2-servers.jsonl"),
        source: "c2-servers",
        score: None,
        class: Class::Indicator,
    },
    Sample {
        name: "campaign.stix.json",
        text: include_str!("../../../../../examples/feeds/campaign.stix.json"),
        source: "campaign",
        score: None,
        class: Class::Indicator,
    },
    Sample {
        name: "misp-event.json",
        text: include_str!("../../../../../examples/feeds/misp-event.json"),
        source: "misp-event",
        score: None,
        class: Class::Indicator,
    },
    Sample {
        name: "assets.csv",
        text: include_str!("../../../../../examples/feeds/assets.csv"),
        source: "cmdb",
        score: None,
        class: Class::Asset,
    },
    Sample {
        name: "allowlist.txt",
        text: include_str!("../../../../../examples/feeds/allowlist.txt"),
        source: "allowlist",
        score: None,
        class: Class::Indicator,
    },
];

/// What one feed gave.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub feed: &'static str,
    pub format: &'static str,
    /// How it was imported: source name, score for records without one, class.
    pub source: &'static str,
    pub default_score: Option<u8>,
    pub class: Class,
    /// How the pull ended (a second quickstart finds the samples unchanged).
    pub outcome: Outcome,
    /// Values the pull listed.
    pub sightings: u64,
    /// Records that were not indicators (with their reason in `problems`).
    pub invalid: u64,
    /// Records deliberately not imported (a STIX `AND` pattern, MISP context ...).
    pub skipped: u64,
    /// Indicators the library did not hold before.
    pub new: u64,
    pub problems: Vec<String>,
}

/// Publishes every sample at `http://127.0.0.1:PORT/feeds/NAME`, as a feed host would;
/// returns the base URL and the server task (aborted when the quickstart ends).
pub async fn publish() -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    use axum::extract::Path;
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/feeds/{name}",
        axum::routing::get(|Path(name): Path<String>| async move {
            SAMPLES
                .iter()
                .find(|sample| sample.name == name)
                .map(|sample| sample.text)
                .ok_or(StatusCode::NOT_FOUND)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on loopback for the sample feeds")?;
    let url = format!("http://{}/feeds", listener.local_addr()?);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the sample feed server stopped");
        }
    });
    Ok((url, task))
}

/// Pulls every `[[feeds]]` entry of the quickstart config (the samples, from loopback) with
/// the code of `iocsync pull`.
pub fn pull_all(config: &Config, library: &mut Library) -> anyhow::Result<Vec<Imported>> {
    config
        .feeds
        .iter()
        .enumerate()
        .map(|(index, feed)| {
            let options = PullOptions::holding_in(config.library.held_dir(), false);
            let pulled = pull(library, feed, index, options, &mut Quiet)?;
            let sample = SAMPLES.iter().find(|s| s.source == feed.name);
            Ok(Imported {
                feed: sample.map_or("?", |s| s.name),
                format: sample.map_or("?", |s| {
                    feeds::detect(s.name, s.text.as_bytes(), &Columns::default()).as_str()
                }),
                source: sample.map_or("?", |s| s.source),
                default_score: feed.score,
                class: feed.class,
                outcome: pulled.outcome,
                sightings: pulled.listed,
                invalid: pulled.invalid,
                skipped: pulled.skipped,
                new: pulled.new,
                problems: pulled.problems,
            })
        })
        .collect()
}
