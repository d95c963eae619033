//! The bundled sample feeds (`examples/feeds/`), embedded so the binary works from any folder,
//! and their import into the quickstart library with the same readers as `iocsync import`.

use std::io::Cursor;

use anyhow::Context;
use feeds::{Columns, Defaults, Options, Severity};
use serde::Serialize;
use store::{Class, Library};

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
    /// Sightings merged into the library.
    pub sightings: u64,
    /// Records that were not indicators (with their reason in `problems`).
    pub invalid: u64,
    /// Records deliberately not imported (a STIX `AND` pattern, MISP context ...).
    pub skipped: u64,
    /// Indicators the library did not hold before.
    pub new: u64,
    pub problems: Vec<String>,
}

/// Reads every sample feed into `library`.
pub fn import_all(library: &mut Library) -> anyhow::Result<Vec<Imported>> {
    SAMPLES
        .iter()
        .map(|sample| import(library, sample))
        .collect()
}

fn import(library: &mut Library, sample: &Sample) -> anyhow::Result<Imported> {
    let columns = Columns::default();
    let format = feeds::detect(sample.name, sample.text.as_bytes(), &columns);
    let mut defaults = Defaults::new(sample.source);
    defaults.score = sample.score;
    defaults.class = sample.class;
    let options = Options { defaults, columns };
    let reader = feeds::open(format, sample.name, Cursor::new(sample.text), options);
    let mut imported = Imported {
        feed: sample.name,
        format: format.as_str(),
        source: sample.source,
        default_score: sample.score,
        class: sample.class,
        sightings: 0,
        invalid: 0,
        skipped: 0,
        new: 0,
        problems: Vec::new(),
    };
    let mut sightings = Vec::new();
    for record in reader {
        match record {
            Ok(sighting) => sightings.push(sighting),
            Err(problem) => {
                match problem.severity {
                    Severity::Invalid => imported.invalid += 1,
                    Severity::Skipped => imported.skipped += 1,
                }
                imported.problems.push(problem.to_string());
            }
        }
    }
    let report = library
        .merge(&sightings)
        .with_context(|| format!("cannot import {} into the library", sample.name))?;
    imported.sightings = sightings.len() as u64;
    imported.new = report.created as u64;
    imported.invalid += report.rejected.len() as u64;
    imported.problems.extend(
        report
            .rejected
            .iter()
            .map(|r| format!("{}: `{}` refused: {}", sample.name, r.value, r.reason)),
    );
    Ok(imported)
}
