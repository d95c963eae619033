//! iocsync as a TAXII 2.1 server (`[taxii]`): discovery at `/taxii2/`, one API root
//! (`/taxii2/api/`), its collections, and each collection's `objects/` (and `manifest/`) with `added_after`,
//! `limit` and `next` paging and the `X-TAXII-Date-Added-First/Last` headers, in the
//! `application/taxii+json;version=2.1` media type. Every request authenticates with HTTP Basic
//! as a reader of some collection; a collection is shown only to its readers. Before a poll is
//! answered, the collection's publication is brought up to date with the library
//! ([`engine::taxii::publish`]), one publication at a time.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use config::{Config, TaxiiCollection};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::access::{basic_credentials, same_secret};

/// The TAXII 2.1 media type, of every answer and of what a client must accept.
const TAXII: &str = "application/taxii+json;version=2.1";
/// The STIX media type of a collection's objects.
const STIX: &str = "application/stix+json;version=2.1";
/// Objects per page when the client names no limit, and the most it may ask for.
const DEFAULT_LIMIT: u64 = 1000;
const MAX_LIMIT: u64 = 10_000;
const ROOT: &str = "/taxii2/api/";

/// The TAXII routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let state = Arc::new(Taxii {
        shared,
        publishing: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/taxii2/", get(discovery))
        .route(ROOT, get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{id}/", get(collection))
        .route("/taxii2/api/collections/{id}/objects/", get(objects))
        .route("/taxii2/api/collections/{id}/manifest/", get(manifest))
        .with_state(state)
}

struct Taxii {
    shared: Arc<Shared>,
    /// One publication at a time (two polls at once must not both publish the same change),
    /// and what each collection's last one saw: see [`Seen`].
    publishing: Mutex<HashMap<String, Seen>>,
}

/// What a publication saw: the library's change counter and what defines the collection. A poll
/// that finds both the same, within [`REPUBLISH_EVERY`], has nothing new to publish and reads
/// the stored changes at once; time alone (an indicator's expiry) is caught by the periodic
/// publication.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    counter: u64,
    definition: u64,
    at: Instant,
}

/// How long a publication is trusted when nothing in the library changed.
const REPUBLISH_EVERY: Duration = Duration::from_secs(60);

/// A refusal, answered as a TAXII error message.
enum Refusal {
    /// No credentials, or not a reader's: nothing about the server is told.
    Unauthorized,
    /// The client does not accept the TAXII media type.
    NotAcceptable,
    NotFound,
    BadRequest(String),
    Failed(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title, description) = match self {
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "give the user name and password of a reader of a collection (HTTP Basic)"
                    .to_owned(),
            ),
            Refusal::NotAcceptable => (
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable",
                format!("this server answers in {TAXII}"),
            ),
            Refusal::NotFound => (
                StatusCode::NOT_FOUND,
                "Not Found",
                "no such collection for this user".to_owned(),
            ),
            Refusal::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad Request", why),
            Refusal::Failed(why) => (StatusCode::INTERNAL_SERVER_ERROR, "Server Error", why),
        };
        let body = json!({
            "title": title,
            "description": description,
            "http_status": status.as_u16().to_string(),
        });
        let mut response = taxii(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iocsync TAXII\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// `body` as a TAXII answer.
fn taxii(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    response
}

/// Who asked: the collections of the config in force the caller may read.
struct Caller {
    config: Arc<Config>,
    readable: Vec<TaxiiCollection>,
}

/// Checks the media type and the credentials of a request.
fn caller(taxii: &Taxii, headers: &HeaderMap) -> Result<Caller, Refusal> {
    if !accepts_taxii(headers) {
        return Err(Refusal::NotAcceptable);
    }
    let (user, password) = basic_credentials(headers).ok_or(Refusal::Unauthorized)?;
    let config = taxii.shared.config();
    let readable: Vec<TaxiiCollection> = config
        .taxii
        .collections
        .iter()
        .enumerate()
        .filter(|(i, served)| {
            served.readers.iter().enumerate().any(|(j, reader)| {
                let key = format!("taxii.collections[{i}].readers[{j}].password");
                reader.user.as_bytes() == user.as_slice()
                    && reader
                        .resolve_password(key)
                        .is_ok_and(|secret| same_secret(&secret, &password))
            })
        })
        .map(|(_, served)| served.clone())
        .collect();
    if readable.is_empty() {
        tracing::warn!("TAXII request refused: unknown user or wrong password");
        return Err(Refusal::Unauthorized);
    }
    Ok(Caller { config, readable })
}

/// Whether the client takes TAXII answers (no `Accept` at all counts as yes).
fn accepts_taxii(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or("").trim();
        matches!(
            media.to_ascii_lowercase().as_str(),
            "application/taxii+json" | "application/json" | "application/*" | "*/*"
        )
    })
}

async fn discovery(State(taxii): State<Arc<Taxii>>, headers: HeaderMap) -> Response {
    match caller(&taxii, &headers) {
        Ok(caller) => taxii_ok(json!({
            "title": caller.config.taxii.title,
            "description": "Threat indicators kept by iocsync",
            "default": ROOT,
            "api_roots": [ROOT],
        })),
        Err(refusal) => refusal.into_response(),
    }
}

async fn api_root(State(taxii): State<Arc<Taxii>>, headers: HeaderMap) -> Response {
    match caller(&taxii, &headers) {
        Ok(caller) => taxii_ok(json!({
            "title": caller.config.taxii.title,
            "versions": [TAXII],
            "max_content_length": 0,
        })),
        Err(refusal) => refusal.into_response(),
    }
}

async fn collections(State(taxii): State<Arc<Taxii>>, headers: HeaderMap) -> Response {
    match caller(&taxii, &headers) {
        Ok(caller) => {
            let listed: Vec<Value> = caller.readable.iter().map(describe).collect();
            taxii_ok(json!({ "collections": listed }))
        }
        Err(refusal) => refusal.into_response(),
    }
}

async fn collection(
    State(taxii): State<Arc<Taxii>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match caller(&taxii, &headers).and_then(|caller| served(&caller, &id)) {
        Ok(served) => taxii_ok(describe(&served)),
        Err(refusal) => refusal.into_response(),
    }
}

fn taxii_ok(body: Value) -> Response {
    taxii(StatusCode::OK, &body)
}

/// A collection resource.
fn describe(served: &TaxiiCollection) -> Value {
    let mut resource = json!({
        "id": engine::taxii::collection_id(&served.name),
        "title": served.name,
        "can_read": true,
        "can_write": false,
        "media_types": [STIX],
    });
    if let (Some(map), Some(description)) = (resource.as_object_mut(), &served.description) {
        map.insert("description".into(), json!(description));
    }
    resource
}

/// The collection `id` names, if the caller may read it.
fn served(caller: &Caller, id: &str) -> Result<TaxiiCollection, Refusal> {
    caller
        .readable
        .iter()
        .find(|served| engine::taxii::collection_id(&served.name) == id)
        .cloned()
        .ok_or(Refusal::NotFound)
}

/// The filters and paging of an `objects/` request.
#[derive(Debug, Deserialize)]
struct ObjectsQuery {
    added_after: Option<String>,
    limit: Option<u64>,
    next: Option<String>,
    #[serde(rename = "match[type]")]
    match_type: Option<String>,
}

async fn objects(
    State(taxii): State<Arc<Taxii>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ObjectsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    listing(taxii, id, headers, query, Listing::Objects).await
}

/// `manifest/`: what `objects/` would give, as id, `date_added` and version only.
async fn manifest(
    State(taxii): State<Arc<Taxii>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ObjectsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    listing(taxii, id, headers, query, Listing::Manifest).await
}

/// What a page lists of each object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Objects,
    Manifest,
}

async fn listing(
    taxii: Arc<Taxii>,
    id: String,
    headers: HeaderMap,
    query: Result<Query<ObjectsQuery>, axum::extract::rejection::QueryRejection>,
    listing: Listing,
) -> Response {
    let answer = async {
        let caller = caller(&taxii, &headers)?;
        let served = served(&caller, &id)?;
        let Query(query) = query.map_err(|rejection| Refusal::BadRequest(rejection.body_text()))?;
        let request = PageRequest::of(&query)?;
        let taxii = Arc::clone(&taxii);
        tokio::task::spawn_blocking(move || {
            page(&taxii, &caller.config, &served, &request, listing)
        })
        .await
        .map_err(|error| Refusal::Failed(format!("the TAXII task failed: {error}")))?
    };
    match answer.await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

/// What one `objects/` request asks for.
struct PageRequest {
    added_after: Option<DateTime<Utc>>,
    after_seq: u64,
    limit: u64,
    /// `match[type]` names no indicator: the answer is empty.
    nothing: bool,
}

impl PageRequest {
    fn of(query: &ObjectsQuery) -> Result<PageRequest, Refusal> {
        let added_after = query
            .added_after
            .as_deref()
            .map(|text| {
                DateTime::parse_from_rfc3339(text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|_| Refusal::BadRequest("added_after: not an RFC 3339 time".into()))
            })
            .transpose()?;
        let after_seq = match query.next.as_deref() {
            None => 0,
            Some(text) => text
                .parse()
                .map_err(|_| Refusal::BadRequest("next: not a value this server gave".into()))?,
        };
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Refusal::BadRequest(format!(
                "limit: between 1 and {MAX_LIMIT}"
            )));
        }
        let nothing = query
            .match_type
            .as_deref()
            .is_some_and(|types| !types.split(',').any(|t| t.trim() == "indicator"));
        Ok(PageRequest {
            added_after,
            after_seq,
            limit,
            nothing,
        })
    }
}

/// A digest of what defines `served`'s publication besides the library: its settings, its
/// collection as the config writes it, and the guard.
fn definition(config: &Config, served: &TaxiiCollection) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!(
        "{served:?}{:?}{:?}",
        config.collection(&served.collection),
        config.guard
    )
    .hash(&mut hasher);
    hasher.finish()
}

/// Publishes what changed, then reads the page (on the blocking pool).
fn page(
    taxii: &Taxii,
    config: &Config,
    served: &TaxiiCollection,
    request: &PageRequest,
    listing: Listing,
) -> Result<Response, Refusal> {
    let failed = |error: &dyn std::fmt::Display| {
        tracing::error!(collection = served.name, %error, "TAXII poll failed");
        Refusal::Failed(format!("the collection could not be read: {error}"))
    };
    let mut library = config.library.open_existing().map_err(|e| failed(&e))?;
    {
        let mut seen = taxii.publishing.lock().unwrap_or_else(|e| e.into_inner());
        let counter = library.change_counter().map_err(|e| failed(&e))?;
        let definition = definition(config, served);
        let fresh = seen.get(&served.name).is_some_and(|last| {
            last.counter == counter
                && last.definition == definition
                && last.at.elapsed() < REPUBLISH_EVERY
        });
        let publication = if fresh {
            engine::taxii::Publication::default()
        } else {
            let publication = engine::taxii::publish(config, &mut *library, served, Utc::now())
                .map_err(|e| failed(&e))?;
            let at = Instant::now();
            seen.insert(
                served.name.clone(),
                Seen {
                    counter,
                    definition,
                    at,
                },
            );
            publication
        };
        if publication != engine::taxii::Publication::default() {
            tracing::info!(
                collection = served.name,
                added = publication.added,
                updated = publication.updated,
                revoked = publication.revoked,
                "TAXII collection published"
            );
        }
    }
    if request.nothing {
        return Ok(taxii_ok(json!({ "more": false })));
    }
    let page = library
        .published_page(
            &served.name,
            request.added_after,
            request.after_seq,
            request.limit,
        )
        .map_err(|e| failed(&e))?;
    let objects: Vec<Value> = page
        .objects
        .iter()
        .filter_map(|p| {
            let object: Value = serde_json::from_str(&p.object).ok()?;
            Some(match listing {
                Listing::Objects => object,
                Listing::Manifest => json!({
                    "id": object["id"],
                    "date_added": engine::taxii::date_added(p.added),
                    "version": object["modified"],
                    "media_type": STIX,
                }),
            })
        })
        .collect();
    let mut body = json!({ "more": page.more });
    if let Some(map) = body.as_object_mut() {
        if page.more
            && let Some(last) = page.objects.last()
        {
            map.insert("next".into(), json!(last.seq.to_string()));
        }
        if !objects.is_empty() {
            map.insert("objects".into(), Value::Array(objects));
        }
    }
    let mut response = taxii_ok(body);
    let times = [
        ("X-TAXII-Date-Added-First", page.objects.first()),
        ("X-TAXII-Date-Added-Last", page.objects.last()),
    ];
    for (name, object) in times {
        if let Some(value) = object
            .map(|o| engine::taxii::date_added(o.added))
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
