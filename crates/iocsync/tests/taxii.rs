//! `iocsync serve` as a TAXII 2.1 server, over real HTTP with the real binary and library: what
//! a reader polls (paging across thousands of objects, incremental polls that see only the
//! changes, revocations, a value that returns under a new id), what the guard keeps out, and
//! that wrong credentials are refused without being echoed.

mod support;

use std::collections::BTreeSet;

use chrono::Utc;
use indicator::Kind;
use serde_json::Value;
use store::{Class, Library, Sighting};
use support::{Daemon, seed};
use testkit::ConfigBuilder;

const USER: &str = "vision-one";
const PASSWORD: &str = "taxii-reader-password";
const TAXII: &str = "application/taxii+json;version=2.1";

fn write_config(dir: &std::path::Path) {
    let password = testkit::secret_file(dir, "taxii-password", PASSWORD);
    let taxii = format!(
        "[taxii]\ntitle = \"SOC feed\"\n[[taxii.collections]]\nname = \"blocklist\"\ncollection = \"all\"\ndescription = \"what we block\"\nreaders = [{{ user = \"{USER}\", password = \"{password}\" }}]\n"
    );
    ConfigBuilder::new(dir.join("library.db"))
        .collection("all")
        .raw(&taxii)
        .write(dir);
}

/// A sighting of `value` by the test feed (revoking it when `revoked`).
fn sighting(kind: Kind, value: &str, revoked: bool) -> Sighting {
    Sighting {
        kind,
        value: value.to_owned(),
        display: None,
        source: "feed".into(),
        score: Some(8),
        class: Class::Indicator,
        tags: vec!["c2".into()],
        description: None,
        seen_at: Utc::now(),
        valid_until: None,
        revoked,
        reported_at: None,
    }
}

fn merge(dir: &std::path::Path, sightings: &[Sighting]) {
    let mut library = Library::open(dir.join("library.db")).unwrap();
    library.merge(sightings).unwrap();
}

struct Reader {
    url: String,
    client: reqwest::Client,
}

impl Reader {
    async fn get(&self, path: &str, password: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .basic_auth(USER, Some(password))
            .header("Accept", TAXII)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> (Value, reqwest::header::HeaderMap) {
        let response = self.get(path, PASSWORD).await;
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(response.headers()["content-type"], TAXII);
        let headers = response.headers().clone();
        (response.json().await.unwrap(), headers)
    }

    /// Every object published after `added_after`, page by page (`limit` each); and the last
    /// page's `X-TAXII-Date-Added-Last`.
    async fn poll(
        &self,
        objects: &str,
        added_after: Option<&str>,
        limit: u32,
    ) -> (Vec<Value>, Option<String>) {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        let mut last = None;
        loop {
            let mut query = format!("?limit={limit}");
            if let Some(after) = added_after {
                query.push_str(&format!("&added_after={after}"));
            }
            if let Some(next) = &next {
                query.push_str(&format!("&next={next}"));
            }
            let (page, headers) = self.json(&format!("{objects}{query}")).await;
            let got = page["objects"].as_array().cloned().unwrap_or_default();
            assert!(got.len() <= limit as usize);
            if let Some(value) = headers.get("x-taxii-date-added-last") {
                last = Some(value.to_str().unwrap().to_owned());
            }
            all.extend(got);
            if page["more"] != true {
                assert!(page.get("next").is_none(), "{page}");
                return (all, last);
            }
            next = Some(page["next"].as_str().unwrap().to_owned());
        }
    }
}

fn ids(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn by_name<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no object named {name}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_poll_pages_changes_and_revocations_and_strangers_learn_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let values = seed(dir.path(), 2500);
    merge(dir.path(), &[sighting(Kind::Ipv4, "10.1.2.3", false)]);
    let mut daemon = Daemon::start(dir.path());
    let reader = Reader {
        url: daemon.url.clone(),
        client: reqwest::Client::new(),
    };

    // Strangers: no credentials, a wrong password, a media type the server does not speak.
    let anonymous = reqwest::get(format!("{}/taxii2/", daemon.url))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = reader.get("/taxii2/", "guessed-password-123").await;
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await.unwrap();
    assert!(
        !body.contains("guessed-password-123") && !body.contains(USER),
        "{body}"
    );
    let html = reqwest::Client::new()
        .get(format!("{}/taxii2/", daemon.url))
        .basic_auth(USER, Some(PASSWORD))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 406);

    // Discovery, the API root, the collection.
    let (discovery, _) = reader.json("/taxii2/").await;
    assert_eq!(discovery["title"], "SOC feed");
    assert_eq!(discovery["api_roots"][0], "/taxii2/api/");
    let (root, _) = reader.json("/taxii2/api/").await;
    assert_eq!(root["versions"][0], TAXII);
    let (collections, _) = reader.json("/taxii2/api/collections/").await;
    let collection = &collections["collections"][0];
    assert_eq!(collection["title"], "blocklist");
    assert_eq!(collection["can_read"], true);
    assert_eq!(collection["can_write"], false);
    let id = collection["id"].as_str().unwrap().to_owned();
    let objects = format!("/taxii2/api/collections/{id}/objects/");
    let unknown = reader
        .get(
            "/taxii2/api/collections/not-a-collection/objects/",
            PASSWORD,
        )
        .await;
    assert_eq!(unknown.status(), 404);

    // A full poll, in pages of 1,000: every value once, the guarded private address never.
    let (first, last) = reader.poll(&objects, None, 1000).await;
    assert_eq!(first.len(), 2500);
    assert_eq!(
        ids(&first).len(),
        2500,
        "one object per value, each id once"
    );
    let names: BTreeSet<&str> = first.iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, values.iter().map(String::as_str).collect());
    let sample = by_name(&first, &values[7]);
    assert_eq!(sample["type"], "indicator");
    assert_eq!(sample["spec_version"], "2.1");
    assert_eq!(
        sample["pattern"],
        format!("[domain-name:value = '{}']", values[7])
    );
    assert_eq!(sample["confidence"], 80);
    assert!(
        sample.get("labels").is_none(),
        "no tags, no (empty) labels: {sample}"
    );
    assert_eq!(sample["revoked"], false);
    let last = last.expect("X-TAXII-Date-Added-Last");

    // The manifest lists the same objects: id, version (= modified) and when each was added.
    let manifest = format!("/taxii2/api/collections/{id}/manifest/");
    let (listed, _) = reader.poll(&manifest, None, 1000).await;
    assert_eq!(ids(&listed), ids(&first));
    let entry = listed.iter().find(|m| m["id"] == sample["id"]).unwrap();
    assert_eq!(entry["version"], sample["modified"]);
    assert_eq!(entry["media_type"], "application/stix+json;version=2.1");
    assert!(entry["date_added"].as_str().unwrap().ends_with('Z'));

    // Nothing changed: an incremental poll gets nothing; the ids stay the same.
    let (none, _) = reader.poll(&objects, Some(&last), 1000).await;
    assert!(none.is_empty(), "{none:?}");
    let (again, _) = reader.poll(&objects, None, 1000).await;
    assert_eq!(ids(&again), ids(&first));

    // One value revoked by its source, one new: the next poll sees exactly those two.
    merge(
        dir.path(),
        &[
            sighting(Kind::Domain, &values[3], true),
            sighting(Kind::Domain, "fresh.example.net", false),
        ],
    );
    let (changes, last) = reader.poll(&objects, Some(&last), 1000).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    let gone = by_name(&changes, &values[3]);
    assert_eq!(gone["revoked"], true);
    assert_eq!(
        gone["id"],
        by_name(&first, &values[3])["id"],
        "revoked under its own id"
    );
    assert!(
        gone["modified"].as_str().unwrap()
            > by_name(&first, &values[3])["modified"].as_str().unwrap()
    );
    let fresh = by_name(&changes, "fresh.example.net");
    assert_eq!(
        (&fresh["revoked"], &fresh["labels"][0]),
        (&Value::Bool(false), &Value::from("c2"))
    );

    // The revoked value comes back: a new object, under a new id (a revocation is final).
    merge(dir.path(), &[sighting(Kind::Domain, &values[3], false)]);
    let (back, _) = reader.poll(&objects, last.as_deref(), 1000).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["revoked"], false);
    assert_ne!(back[0]["id"], gone["id"]);

    daemon.terminate();
}
