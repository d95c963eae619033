//! Every reader on real feed text, good and broken: what it yields, and that problems carry
//! the right line or object id and do not stop the records after them.

use feeds::{Defaults, FeedError, Format, Options, Severity};
use indicator::Kind;
use store::{Class, Sighting};

fn options() -> Options {
    let mut defaults = Defaults::new("test-feed");
    defaults.score = Some(4);
    defaults.tags = vec!["feed-tag".to_owned()];
    Options::new(defaults)
}

struct Read {
    sightings: Vec<Sighting>,
    problems: Vec<FeedError>,
    records: u64,
}

impl Read {
    fn values(&self) -> Vec<(Kind, &str)> {
        self.sightings
            .iter()
            .map(|s| (s.kind, s.value.as_str()))
            .collect()
    }

    fn messages(&self) -> Vec<String> {
        self.problems.iter().map(ToString::to_string).collect()
    }

    fn invalid(&self) -> Vec<String> {
        self.problems
            .iter()
            .filter(|p| p.is_invalid())
            .map(ToString::to_string)
            .collect()
    }

    fn skipped(&self) -> Vec<String> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Skipped)
            .map(ToString::to_string)
            .collect()
    }
}

fn read_with(format: Format, origin: &str, input: &[u8], options: Options) -> Read {
    let mut reader = feeds::open(format, origin, input, options);
    let (mut sightings, mut problems) = (Vec::new(), Vec::new());
    for item in reader.by_ref() {
        match item {
            Ok(sighting) => sightings.push(sighting),
            Err(problem) => problems.push(problem),
        }
    }
    Read {
        sightings,
        problems,
        records: reader.records(),
    }
}

fn read(format: Format, origin: &str, input: &str) -> Read {
    read_with(format, origin, input.as_bytes(), options())
}

// --- plain text -------------------------------------------------------------------------

#[test]
fn text_reads_values_refangs_and_reports_bad_lines_in_place() {
    let feed = "# blocklist\n\n198.51.100.23\nevil-login[.]example\nhxxps://cdn.bad-site[.]example/payload.bin # dropper\nnot an indicator\n203.0.113.0/24 ; SBL1\n198.51.100.1 - 198.51.100.2\n";
    let out = read(Format::Text, "list.txt", feed);
    assert_eq!(
        out.values()[..4],
        [
            (Kind::Ipv4, "198.51.100.23"),
            (Kind::Domain, "evil-login.example"),
            (Kind::Url, "https://cdn.bad-site.example/payload.bin"),
            (Kind::Cidr, "203.0.113.0/24"),
        ]
    );
    assert_eq!(
        out.sightings.len(),
        6,
        "the range .1–.2 gives two blocks: {:?}",
        out.values()
    );
    assert_eq!(out.invalid().len(), 1);
    assert!(
        out.invalid()[0].starts_with("list.txt:6: "),
        "{:?}",
        out.invalid()
    );
    assert_eq!(out.records, 6);
    let first = &out.sightings[0];
    assert_eq!(
        (first.source.as_str(), first.score, first.class),
        ("test-feed", Some(4), Class::Indicator)
    );
    assert_eq!(first.tags, ["feed-tag"]);
}

#[test]
fn text_ip_port_gives_the_address_not_a_url() {
    let feed = "198.51.100.7:443\n[2001:db8::1]:8080\n198.51.100[.]8:8443\nc2.example:443\nhttp://198.51.100.9:80/x\n";
    let out = read(Format::Text, "c2.txt", feed);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    assert_eq!(
        out.values()[..3],
        [
            (Kind::Ipv4, "198.51.100.7"),
            (Kind::Ipv6, "2001:db8::1"),
            (Kind::Ipv4, "198.51.100.8"),
        ]
    );
    assert_eq!(
        out.values()[4],
        (Kind::Url, "http://198.51.100.9/x"),
        "a URL keeps its port rules"
    );
    assert_eq!(out.records, 5);
}

proptest::proptest! {
    /// Any IPv4 or IPv6 address with any port reads, in a text feed, as that address alone.
    #[test]
    fn text_any_ip_port_reads_as_its_address(
        ip in proptest::prelude::any::<std::net::IpAddr>(),
        port in proptest::prelude::any::<u16>(),
    ) {
        let line = std::net::SocketAddr::new(ip, port).to_string();
        let out = read(Format::Text, "p.txt", &line);
        let expected = indicator::parse(&ip.to_string()).unwrap();
        proptest::prop_assert!(out.problems.is_empty(), "{line}: {:?}", out.messages());
        proptest::prop_assert_eq!(out.sightings.len(), 1);
        proptest::prop_assert_eq!(&out.sightings[0].value, &expected[0].value);
        proptest::prop_assert_eq!(out.sightings[0].kind, expected[0].kind);
    }
}

#[test]
fn text_ranges_give_several_sightings_from_one_record() {
    let out = read(Format::Text, "r.txt", "198.51.100.0 - 198.51.100.4\n");
    assert_eq!(out.records, 1);
    assert!(out.sightings.len() >= 2, "{:?}", out.values());
    assert!(out.problems.is_empty());
}

#[test]
fn text_survives_binary_and_overlong_lines() {
    let mut feed = b"198.51.100.1\n\xFF\xFEgarbage\n".to_vec();
    feed.extend(vec![b'a'; 9000]);
    feed.extend(b"\n198.51.100.2");
    let out = read_with(Format::Text, "bin.txt", &feed, options());
    assert_eq!(
        out.values(),
        [(Kind::Ipv4, "198.51.100.1"), (Kind::Ipv4, "198.51.100.2")]
    );
    let messages = out.messages();
    assert!(
        messages[0].starts_with("bin.txt:2: line is not valid UTF-8"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("bin.txt:3: line is 9000 bytes long"),
        "{messages:?}"
    );
}

// --- CSV ----------------------------------------------------------------------------------

#[test]
fn csv_maps_aliases_and_converts_every_attribute() {
    let feed = "Indicator,Type,Confidence,Labels,Comment,Expiration\n\
                198.51.100.7,ip,85,c2|apt-x,Known C2,2030-01-01\n\
                evil[.]example,domain,,phishing; kit,,\n";
    let out = read(Format::Csv, "p.csv", feed);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    assert_eq!(
        out.values(),
        [(Kind::Ipv4, "198.51.100.7"), (Kind::Domain, "evil.example")]
    );
    let first = &out.sightings[0];
    assert_eq!(first.score, Some(9));
    assert_eq!(first.tags, ["feed-tag", "c2", "apt-x"]);
    assert_eq!(first.description.as_deref(), Some("Known C2"));
    assert_eq!(
        first.valid_until.unwrap().to_rfc3339(),
        "2030-01-01T00:00:00+00:00"
    );
    let second = &out.sightings[1];
    assert_eq!(
        second.score,
        Some(4),
        "default score when the cell is empty"
    );
    assert_eq!(second.tags, ["feed-tag", "phishing", "kit"]);
}

#[test]
fn csv_bad_rows_are_reported_with_their_line_and_the_rest_imported() {
    let feed = "value,type,score,valid_until\n\
                198.51.100.1,ipv4,5,\n\
                198.51.100.2,ipv4,eleven,\n\
                not-a-domain,domain,3,\n\
                198.51.100.3,ipv4,2,someday\n\
                payload.exe,filename,,\n\
                \"203.0.113.9\",ip,7,2031-05-05T00:00:00Z\n\
                a.example,url,1,\n";
    let out = read(Format::Csv, "f.csv", feed);
    assert_eq!(
        out.values(),
        [
            (Kind::Ipv4, "198.51.100.1"),
            (Kind::Ipv4, "203.0.113.9"),
            (Kind::Url, "a.example")
        ]
    );
    let invalid = out.invalid();
    assert_eq!(invalid.len(), 3, "{invalid:?}");
    assert!(
        invalid[0].starts_with("f.csv:3: `score`: score `eleven` is not a number"),
        "{invalid:?}"
    );
    assert!(invalid[1].starts_with("f.csv:4: "), "{invalid:?}");
    assert!(
        invalid[2].starts_with("f.csv:5: `valid_until`: `someday` is not a time"),
        "{invalid:?}"
    );
    assert_eq!(
        out.skipped(),
        ["f.csv:6: skipped: type `filename` is not a kind iocsync imports"]
    );
    assert_eq!(out.records, 7);
}

#[test]
fn csv_without_a_value_column_names_the_headers_and_the_flag() {
    let out = read(Format::Csv, "h.csv", "address,kind\n198.51.100.1,ipv4\n");
    assert_eq!(out.sightings.len(), 0);
    let messages = out.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("address, kind") && messages[0].contains("--csv-value-column"),
        "{messages:?}"
    );
}

#[test]
fn csv_column_overrides_and_other_delimiters() {
    let mut options = options();
    options.columns.value = Some("address".into());
    options.columns.score = Some("weight".into());
    let out = read_with(
        Format::Csv,
        "o.tsv",
        b"address\tweight\tconfidence\n198.51.100.1\t6\t100\n",
        options,
    );
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    assert_eq!(out.sightings[0].score, Some(6));
}

#[test]
fn csv_line_numbers_count_quoted_newlines() {
    let feed = "value,description\n198.51.100.1,\"two\nlines\"\nbad-value,x\n\"198.51.100.2\n";
    let out = read(Format::Csv, "q.csv", feed);
    assert_eq!(
        out.values(),
        [(Kind::Ipv4, "198.51.100.1"), (Kind::Ipv4, "198.51.100.2")]
    );
    assert_eq!(out.sightings[0].description.as_deref(), Some("two\nlines"));
    assert_eq!(out.invalid().len(), 1);
    assert!(
        out.invalid()[0].starts_with("q.csv:4: "),
        "{:?}",
        out.invalid()
    );
}

#[test]
fn csv_public_feeds_with_their_header_in_a_comment() {
    // The shapes of abuse.ch dumps (values replaced by documentation ones): a banner of
    // comments, the header as the last comment, quoted cells.
    let urlhaus = "################################################################\n\
        # abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #\n\
        # Last updated: 2026-11-23 10:00:05 UTC                        #\n\
        ################################################################\n\
        #\n\
        # id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
        \"3203573\",\"2026-11-23 09:31:06\",\"http://198.51.100.7:41066/i\",\"online\",\"2026-11-23 09:31:06\",\"malware_download\",\"32-bit,elf,mips,Mozi\",\"https://urlhaus.abuse.ch/url/3203573/\",\"geenensp\"\n\
        \"3203572\",\"2026-11-23 09:30:05\",\"not a url at all\",\"online\",\"\",\"malware_download\",\"\",\"https://urlhaus.abuse.ch/url/3203572/\",\"x\"\n";
    let out = read(Format::Csv, "urlhaus.csv", urlhaus);
    assert_eq!(out.values(), [(Kind::Url, "http://198.51.100.7:41066/i")]);
    let first = &out.sightings[0];
    assert_eq!(first.tags, ["feed-tag", "32-bit", "elf", "mips", "Mozi"]);
    assert_eq!(
        first.reported_at.unwrap().to_rfc3339(),
        "2026-11-23T09:31:06+00:00"
    );
    assert_eq!(out.invalid().len(), 1, "{:?}", out.messages());
    assert!(
        out.invalid()[0].starts_with("urlhaus.csv:8: "),
        "{:?}",
        out.invalid()
    );

    let feodo = "#####\n# Feodo Tracker: Botnet C2 IP Blocklist (CSV)\n#####\n\
        # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
        \"2026-10-17 07:30:05\",\"203.0.113.205\",\"443\",\"online\",\"2026-11-22\",\"QakBot\"\n\
        # Number of entries: 1\n";
    let out = read(Format::Csv, "feodo.csv", feodo);
    assert_eq!(out.values(), [(Kind::Ipv4, "203.0.113.205")]);
    assert_eq!(out.sightings[0].tags, ["feed-tag", "QakBot"]);
    assert!(out.problems.is_empty(), "{:?}", out.messages());

    // ThreatFox: a blank after every comma hides the quotes from the CSV parser; `ip:port`
    // values keep the address; the 0–100 confidence becomes the score.
    let threatfox = "# ThreatFox IOCs: CSV\n\
        # \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n\
        \"2026-11-23 09:00:00\", \"1333333\", \"198.51.100.9:443\", \"ip:port\", \"botnet_cc\", \"win.cobalt_strike\", \"None\", \"Cobalt Strike\", \"\", \"100\", \"\", \"c2,CobaltStrike\", \"0\", \"x\"\n\
        \"2026-11-23 09:00:01\", \"1333334\", \"[2001:db8::9]:8443\", \"ip:port\", \"botnet_cc\", \"win.x\", \"None\", \"X\", \"\", \"50\", \"\", \"\", \"0\", \"x\"\n\
        \"2026-11-23 09:00:02\", \"1333335\", \"bad-c2[.]example\", \"domain\", \"botnet_cc\", \"win.x\", \"None\", \"X\", \"\", \"75\", \"\", \"\", \"0\", \"x\"\n\
        \"2026-11-23 09:00:03\", \"1333336\", \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"sha256_hash\", \"payload\", \"win.x\", \"None\", \"X\", \"\", \"75\", \"\", \"\", \"0\", \"x\"\n";
    let out = read(Format::Csv, "threatfox.csv", threatfox);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    assert_eq!(
        out.values(),
        [
            (Kind::Ipv4, "198.51.100.9"),
            (Kind::Ipv6, "2001:db8::9"),
            (Kind::Domain, "bad-c2.example"),
            (
                Kind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
        ]
    );
    assert_eq!(out.sightings[0].score, Some(10));
    assert_eq!(out.sightings[0].tags, ["feed-tag", "c2", "CobaltStrike"]);
    assert_eq!(out.sightings[1].score, Some(5));
}

/// A ThreatFox CSV export as downloaded (values replaced by documentation ones): the banner,
/// the commented header, then `rows`.
fn threatfox_dump(rows: &[(&str, &str)]) -> String {
    let mut dump = String::from(
        "################################################################\n\
         # ThreatFox IOCs: CSV export                                   #\n\
         # Last updated: 2026-11-23 10:00:05 UTC                        #\n\
         #                                                              #\n\
         # Terms Of Use: https://threatfox.abuse.ch/faq/#tos            #\n\
         # For questions please contact threatfox [at] abuse.ch         #\n\
         ################################################################\n\
         #\n\
         # \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n",
    );
    for (i, (value, kind)) in rows.iter().enumerate() {
        dump.push_str(&format!(
            "\"2026-11-23 09:00:0{i}\", \"13333{i}\", \"{value}\", \"{kind}\", \"botnet_cc\", \"win.x\", \"None\", \"X\", \"\", \"75\", \"\", \"c2\", \"0\", \"x\"\n"
        ));
    }
    dump
}

#[test]
fn csv_threatfox_commented_header_wins_over_a_first_row_that_names_a_column() {
    let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let rest = [
        ("198.51.100.9:443", "ip:port"),
        ("https://c2.example/gate.php", "url"),
        ("bad-c2.example", "domain"),
        (sha, "sha256_hash"),
    ];
    for first in [
        ("first-c2.example", "domain"),
        ("http://first.example/x", "url"),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856",
            "sha256_hash",
        ),
        ("203.0.113.5:8080", "ip:port"),
    ] {
        let rows: Vec<(&str, &str)> = std::iter::once(first).chain(rest).collect();
        let out = read(Format::Csv, "threatfox.csv", &threatfox_dump(&rows));
        assert!(out.problems.is_empty(), "{first:?}: {:?}", out.messages());
        assert_eq!(out.records, 5, "{first:?}: every data row is a record");
        assert_eq!(out.sightings.len(), 5, "{first:?}");
        let first_value = out.sightings[0].value.as_str();
        assert!(first.0.starts_with(first_value), "{first:?}: {first_value}");
        assert_eq!(out.sightings[0].score, Some(8), "confidence 75 → 8");
        assert_eq!(out.sightings[0].tags, ["feed-tag", "c2"]);
    }
}

#[test]
fn csv_a_plain_header_repeating_a_commented_one_is_still_the_header() {
    let feed = "# value,type\nvalue,type\n198.51.100.3,ip\n";
    let out = read(Format::Csv, "h.csv", feed);
    assert_eq!(out.values(), [(Kind::Ipv4, "198.51.100.3")]);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    assert_eq!(out.records, 1);
}

#[test]
fn banner_only_files_read_as_zero_records() {
    let threatfox = threatfox_dump(&[]);
    let feodo = "#####\n# Feodo Tracker: Botnet C2 IP Blocklist (CSV)\n#####\n\
        # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
        # Number of entries: 0\n";
    let header_only = "value,type,tags\n\n";
    for (format, name, feed) in [
        (Format::Csv, "threatfox.csv", threatfox.as_str()),
        (Format::Csv, "feodo.csv", feodo),
        (Format::Csv, "plain.csv", header_only),
        (
            Format::Text,
            "list.txt",
            "# Spamhaus DROP\n; nothing listed today\n\n#\n",
        ),
        (
            Format::MispApi,
            "answer.json",
            r#"{"response": {"Attribute": []}}"#,
        ),
        (Format::Misp, "events.json", r#"{"response": []}"#),
    ] {
        let out = read(format, name, feed);
        assert_eq!(
            (out.records, out.sightings.len()),
            (0, 0),
            "{name}: {:?}",
            out.messages()
        );
        assert!(out.problems.is_empty(), "{name}: {:?}", out.messages());
    }
}

#[test]
fn csv_quote_never_closed_is_reported_not_swallowed() {
    let feed = "value,description\n198.51.100.1,\"unterminated\n198.51.100.2,ok\n198.51.100.3,ok\n";
    let out = read(Format::Csv, "u.csv", feed);
    assert_eq!(out.values(), [(Kind::Ipv4, "198.51.100.1")]);
    let invalid = out.invalid();
    assert_eq!(invalid.len(), 1, "{invalid:?}");
    assert!(
        invalid[0].starts_with("u.csv:2: a quote opened in this row is never closed"),
        "{invalid:?}"
    );
    let fine = read(
        Format::Csv,
        "f.csv",
        "value,description\n198.51.100.3,O\"Brien\n",
    );
    assert!(
        fine.problems.is_empty(),
        "a quote inside a cell is text: {:?}",
        fine.messages()
    );
}

#[test]
fn csv_plain_header_after_comments_wins() {
    let feed = "# value,type\n# exported by hand\nindicator,type\n198.51.100.3,ip\n";
    let out = read(Format::Csv, "h.csv", feed);
    assert_eq!(out.values(), [(Kind::Ipv4, "198.51.100.3")]);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
}

// --- JSON lines ---------------------------------------------------------------------------

#[test]
fn jsonl_reads_typed_fields_and_reports_broken_lines() {
    let feed = concat!(
        r#"{"value": "198.51.100.5", "score": 8, "tags": ["c2", "x"], "valid_until": "2030-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"ioc": "bad[.]example", "type": "domain", "confidence": "high", "revoked": true}"#,
        "\n",
        r#"{"value": "198.51.100.6", "score": "a lot"}"#,
        "\n",
        "{\"value\": \"truncated\n",
        "[1, 2]\n",
        r#"{"value": 12345}"#,
        "\n",
        r#"{"value": "198.51.100.7", "tags": {"a": 1}}"#,
        "\n",
        "\n",
        r#"{"value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "seen_at": 1700000000}"#,
        "\n",
    );
    let out = read(Format::Jsonl, "f.jsonl", feed);
    assert_eq!(
        out.values(),
        [
            (Kind::Ipv4, "198.51.100.5"),
            (Kind::Domain, "bad.example"),
            (
                Kind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
        ]
    );
    assert_eq!(out.sightings[0].score, Some(8));
    assert_eq!(out.sightings[0].tags, ["feed-tag", "c2", "x"]);
    assert_eq!(
        (out.sightings[1].score, out.sightings[1].revoked),
        (Some(9), true)
    );
    assert_eq!(
        out.sightings[2].reported_at.unwrap().timestamp(),
        1_700_000_000
    );
    let invalid = out.invalid();
    let lines: Vec<&str> = invalid
        .iter()
        .map(|m| m.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "f.jsonl:3",
            "f.jsonl:4",
            "f.jsonl:5",
            "f.jsonl:6",
            "f.jsonl:7"
        ],
        "{invalid:?}"
    );
    assert!(
        invalid[2].contains("expected a JSON object, found an array"),
        "{invalid:?}"
    );
    assert!(
        invalid[4].contains("`tags`: expected text or a list of text, found an object"),
        "{invalid:?}"
    );
    assert_eq!(out.records, 8);
}

// --- STIX ---------------------------------------------------------------------------------

const BUNDLE: &str = r#"{
  "type": "bundle",
  "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  "objects": [
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z",
      "name": "C2 address", "description": "Beacon target",
      "pattern": "[ipv4-addr:value = '198.51.100.77']", "pattern_type": "stix",
      "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2031-01-01T00:00:00Z",
      "confidence": 73, "labels": ["c2", "apt-x"]
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--revoked",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-03T00:00:00.000Z",
      "pattern": "[domain-name:value = 'old-c2.example' OR url:value = 'http://old-c2.example/gate.php']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z", "revoked": true
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--and",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
      "pattern": "[file:name = 'a.exe' AND file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']",
      "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--sigma",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
      "pattern": "title: x", "pattern_type": "sigma", "valid_from": "2026-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--broken-pattern",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
      "pattern": "[ipv4-addr:value = '198.51.100.1'", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1", "id": "indicator--wrong-type",
      "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
      "pattern": "[ipv4-addr:value = '198.51.100.2']", "pattern_type": "stix",
      "valid_from": "2026-01-01T00:00:00Z", "confidence": "high"
    },
    {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--1", "value": "203.0.113.50"},
    {"type": "file", "spec_version": "2.1", "id": "file--1",
     "hashes": {"SHA-256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "SSDEEP": "3:x"}},
    {"type": "identity", "spec_version": "2.1", "id": "identity--1", "name": "ACME CERT", "identity_class": "organization"},
    {"type": "relationship", "spec_version": "2.1", "id": "relationship--1", "relationship_type": "indicates"}
  ]
}"#;

/// The line of `marker` in `text` (1-based).
fn line_of(text: &str, marker: &str) -> usize {
    text[..text.find(marker).unwrap()].matches('\n').count() + 1
}

#[test]
fn stix_bundle_gives_indicators_observables_and_reasons() {
    let out = read(Format::Stix, "b.json", BUNDLE);
    assert_eq!(
        out.values(),
        [
            (Kind::Ipv4, "198.51.100.77"),
            (Kind::Domain, "old-c2.example"),
            (Kind::Url, "http://old-c2.example/gate.php"),
            (Kind::Ipv4, "203.0.113.50"),
            (
                Kind::Sha256,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            ),
        ]
    );
    let c2 = &out.sightings[0];
    assert_eq!(c2.score, Some(7), "confidence 73 is 7 on the 0–10 scale");
    assert_eq!(c2.tags, ["feed-tag", "c2", "apt-x"]);
    assert_eq!(c2.description.as_deref(), Some("Beacon target"));
    assert_eq!(
        c2.valid_until.unwrap().to_rfc3339(),
        "2031-01-01T00:00:00+00:00"
    );
    assert_eq!(
        c2.reported_at.unwrap().to_rfc3339(),
        "2026-01-02T00:00:00+00:00"
    );
    assert!(!c2.revoked);
    assert!(out.sightings[1].revoked && out.sightings[2].revoked);
    assert_eq!(
        out.sightings[3].score,
        Some(4),
        "observables take the default score"
    );

    let skipped = out.skipped();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    // Objects are located by the line of their opening brace, the one before their id.
    let and_line = line_of(BUNDLE, "indicator--and") - 1;
    let prefix = format!("b.json:{and_line}: indicator--and: skipped: ");
    assert!(
        skipped[0].starts_with(&prefix) && skipped[0].contains("AND"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].contains("indicator--sigma: skipped: pattern_type is `sigma`"),
        "{skipped:?}"
    );
    let invalid = out.invalid();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    let broken_line = line_of(BUNDLE, "indicator--broken-pattern") - 1;
    let prefix = format!("b.json:{broken_line}: indicator--broken-pattern: invalid STIX pattern");
    assert!(invalid[0].starts_with(&prefix), "{invalid:?}");
    assert!(
        invalid[1].contains(
            "indicator--wrong-type: `confidence` should be an integer 0–100, found a string"
        ),
        "{invalid:?}"
    );
    assert_eq!(
        out.records, 8,
        "6 indicators and 2 observables; identity and relationship are not records"
    );
}

#[test]
fn stix_truncated_bundle_keeps_what_came_before() {
    let cut = &BUNDLE[..BUNDLE.find("indicator--and").unwrap()];
    let out = read(Format::Stix, "cut.json", cut);
    assert_eq!(out.sightings.len(), 3);
    let messages = out.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let end = format!(
        "cut.json: not a readable STIX bundle: line {}: ",
        line_of(BUNDLE, "indicator--and")
    );
    assert!(
        messages[0].starts_with(&end) && messages[0].contains("truncated"),
        "{messages:?}"
    );
}

#[test]
fn stix_bad_object_is_reported_by_line_and_the_next_one_read() {
    let feed = "{\"type\": \"bundle\", \"objects\": [\n{\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--a\", \"value\": 7},\n{\"type\": \"url\", \"value\": \"http://x.example/\"},\n42,\n{\"type\": \"domain-name\", \"id\": \"domain-name--b\", \"value\": \"ok.example\"}\n]}";
    let out = read(Format::Stix, "o.json", feed);
    assert_eq!(
        out.values(),
        [
            (Kind::Url, "http://x.example/"),
            (Kind::Domain, "ok.example")
        ]
    );
    assert_eq!(
        out.messages(),
        [
            "o.json:2: ipv4-addr--a: `value` should be a string, found a number",
            "o.json:4: expected a STIX object, found a number",
        ]
    );
}

#[test]
fn stix_document_that_is_not_a_bundle_is_refused() {
    let out = read(
        Format::Stix,
        "r.json",
        r#"{"type": "report", "objects": []}"#,
    );
    assert_eq!(
        out.messages(),
        [r#"r.json:1: not a STIX bundle: its type is "report", not "bundle""#]
    );
}

// --- MISP ---------------------------------------------------------------------------------

const MISP_EVENT: &str = r#"{"Event": {
  "id": "42", "uuid": "5f1c1c1c-0000-4000-8000-000000000042", "info": "Phishing wave",
  "timestamp": "1767225600",
  "Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:threat-actor=\"X\""}],
  "Attribute": [
    {"uuid": "a1", "type": "ip-dst", "value": "198.51.100.90", "to_ids": true, "deleted": false, "timestamp": "1767312000", "Tag": [{"name": "c2"}]},
    {"uuid": "a2", "type": "domain|ip", "value": "mal.example|203.0.113.90", "to_ids": true, "comment": "resolves"},
    {"uuid": "a3", "type": "ip-dst|port", "value": "198.51.100.91|8443", "to_ids": "1"},
    {"uuid": "a4", "type": "filename|sha256", "value": "inv.pdf.exe|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "to_ids": true},
    {"uuid": "a5", "type": "url", "value": "https://mal.example/login", "to_ids": false},
    {"uuid": "a6", "type": "md5", "value": "44d88612fea8a8f36de82e1278abb02f", "to_ids": true, "deleted": true},
    {"uuid": "a7", "type": "ip-src", "value": "999.1.1.1", "to_ids": true},
    {"uuid": "a8", "type": "regkey", "value": "HKLM\\Run", "to_ids": true},
    {"uuid": "a9", "type": "email-src", "value": "boss@mal.example", "to_ids": 1}
  ],
  "Object": [
    {"name": "file", "Attribute": [
      {"uuid": "o1", "type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "to_ids": true}
    ]}
  ]
}}"#;

#[test]
fn misp_event_attributes_composites_and_skips() {
    let out = read(Format::Misp, "e.json", MISP_EVENT);
    assert_eq!(
        out.values(),
        [
            (Kind::Ipv4, "198.51.100.90"),
            (Kind::Domain, "mal.example"),
            (Kind::Ipv4, "203.0.113.90"),
            (Kind::Ipv4, "198.51.100.91"),
            (
                Kind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f"),
            (Kind::Email, "boss@mal.example"),
            (Kind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ]
    );
    let first = &out.sightings[0];
    assert_eq!(
        first.tags,
        [
            "feed-tag",
            "tlp:green",
            "misp-galaxy:threat-actor=\"X\"",
            "c2"
        ]
    );
    assert_eq!(first.description.as_deref(), Some("Phishing wave"));
    assert_eq!(first.reported_at.unwrap().timestamp(), 1_767_312_000);
    assert_eq!(
        out.sightings[1].description.as_deref(),
        Some("Phishing wave — resolves")
    );
    assert_eq!(
        out.sightings[1].reported_at.unwrap().timestamp(),
        1_767_225_600,
        "event timestamp when the attribute has none"
    );
    assert!(out.sightings[5].revoked, "deleted → revoked");
    assert_eq!(out.skipped().len(), 2, "{:?}", out.skipped());
    assert!(out.skipped()[0].contains(
        "attribute a5: skipped: url `https://mal.example/login` is not marked for detection"
    ));
    let invalid = out.invalid();
    assert_eq!(invalid.len(), 1);
    assert!(
        invalid[0].starts_with("e.json:1: attribute a7: "),
        "{invalid:?}"
    );
    assert_eq!(out.records, 10);
}

/// One event per threat level, each with one domain attribute (`l<level>.example`).
fn misp_threat_levels(levels: &[&str]) -> String {
    let events: Vec<String> = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            format!(
                r#"{{"Event": {{"uuid": "e{i}", "info": "level {i}", "threat_level_id": {level}, "Attribute": [{{"uuid": "a{i}", "type": "domain", "value": "l{i}.example", "to_ids": true}}]}}}}"#
            )
        })
        .collect();
    format!("[{}]", events.join(",\n"))
}

#[test]
fn misp_threat_level_gives_the_score_when_the_feed_has_none() {
    let feed = misp_threat_levels(&[
        r#""1""#, r#""2""#, r#""3""#, r#""4""#, "1", "null", r#""9""#,
    ]);
    let out = read_with(
        Format::Misp,
        "t.json",
        feed.as_bytes(),
        Options::new(Defaults::new("misp")),
    );
    let scores: Vec<Option<u8>> = out.sightings.iter().map(|s| s.score).collect();
    assert_eq!(
        scores,
        [Some(9), Some(6), Some(3), None, Some(9), None],
        "high, medium, low, undefined, numeric high, absent"
    );
    assert_eq!(
        out.messages(),
        [
            "t.json:7: event e6: `threat_level_id` should be 1 (high), 2 (medium), 3 (low) or \
             4 (undefined), found \"9\""
        ]
    );
}

#[test]
fn misp_feed_default_score_wins_over_the_threat_level() {
    let feed = misp_threat_levels(&[r#""1""#, r#""3""#, r#""bogus""#]);
    let out = read(Format::Misp, "t.json", &feed);
    assert!(out.problems.is_empty(), "{:?}", out.messages());
    let scores: Vec<Option<u8>> = out.sightings.iter().map(|s| s.score).collect();
    assert_eq!(scores, [Some(4), Some(4), Some(4)]);
}

#[test]
fn misp_lists_and_response_wrappers_stream_event_by_event() {
    let list = r#"[{"Event": {"info": "one", "Attribute": [{"type": "domain", "value": "one.example", "to_ids": true}]}},
{"Event": {"info": "two", "Attribute": "not a list"}},
{"Event": {"info": "three", "Attribute": [{"type": "domain", "value": "three.example", "to_ids": true}]}}]"#;
    let out = read(Format::Misp, "l.json", list);
    assert_eq!(
        out.values(),
        [
            (Kind::Domain, "one.example"),
            (Kind::Domain, "three.example")
        ]
    );
    assert_eq!(
        out.messages(),
        ["l.json:2: event event: `Attribute` should be a list of objects, found a string"]
    );
    let response = format!("{{\"response\": {list}}}");
    assert_eq!(read(Format::Misp, "r.json", &response).sightings.len(), 2);
}

#[test]
fn misp_truncated_document_reports_the_end() {
    let out = read(Format::Misp, "t.json", &MISP_EVENT[..200]);
    assert!(out.sightings.is_empty());
    assert_eq!(out.problems.len(), 1);
    assert!(
        out.messages()[0].contains("truncated"),
        "{:?}",
        out.messages()
    );
}

// --- formats and detection ----------------------------------------------------------------

#[test]
fn format_names_parse_and_print() {
    for format in Format::ALL {
        assert_eq!(format.to_string().parse::<Format>().unwrap(), format);
    }
    assert_eq!("ndjson".parse::<Format>().unwrap(), Format::Jsonl);
    assert!(
        "xml"
            .parse::<Format>()
            .unwrap_err()
            .to_string()
            .contains("text, csv, jsonl, stix, misp")
    );
}

#[test]
fn a_reader_never_panics_on_any_format_mismatch() {
    let inputs: [&[u8]; 5] = [
        BUNDLE.as_bytes(),
        MISP_EVENT.as_bytes(),
        b"value\n1.2.3.4\n",
        b"\x00\x01\xFF",
        b"",
    ];
    for format in Format::ALL {
        for input in inputs {
            let out = read_with(format, "x", input, options());
            assert!(out.sightings.len() + out.problems.len() < 100);
        }
    }
}
