//! The HTTP side of the daemon: the status page, the JSON API under `/api/`, `/metrics` (behind
//! the status token when there is one, see [`access`](super::access)) and `/healthz`.
//! Handlers read the library on the blocking pool (a library handle per request).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Shared;
use super::access::require_token;
use super::status::{self, Status};

/// Runs listed by `/api/runs` when no limit is given, and the most it lists.
const DEFAULT_RUNS: u64 = 50;
const MAX_RUNS: u64 = 1000;

/// The routes of the status page, the JSON API and the metrics; all but `/healthz` require
/// the status token when there is one.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/status", get(api_status))
        .route("/api/workflows", get(api_workflows))
        .route("/api/targets", get(api_targets))
        .route("/api/triggers", get(api_triggers))
        .route("/api/feeds", get(api_feeds))
        .route("/api/cluster", get(api_cluster))
        .route("/api/runs", get(api_runs))
        .route("/api/runs/{id}", get(api_run))
        .route("/runs", get(history_page))
        .route("/runs/{id}", get(run_page))
        .route("/why", get(why_page))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            require_token,
        ))
        .route("/healthz", get(healthz))
        .with_state(shared)
}

/// An error answered as `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1 });
        (self.0, Json(body)).into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "status request failed");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}"))
    }
}

/// Runs `read` on the blocking pool.
async fn blocking<T: Send + 'static>(
    shared: Arc<Shared>,
    read: impl FnOnce(&Shared) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || read(&shared))
        .await
        .map_err(|error| anyhow::anyhow!("status task failed: {error}"))?
        .map_err(ApiError::from)
}

async fn status(shared: Arc<Shared>) -> Result<Status, ApiError> {
    blocking(shared, status::gather).await
}

/// The status page; while the library cannot be reached, a page that says so (503).
async fn page(State(shared): State<Arc<Shared>>) -> Response {
    match status(Arc::clone(&shared)).await {
        Ok(status) => Html(super::page::render(&status)).into_response(),
        Err(ApiError(_, error)) => {
            super::cluster::unreachable(&shared, &anyhow::anyhow!(error.clone()));
            let reach = super::cluster::reach(&shared);
            let page = super::page::render_unreachable(&error, reach.since);
            (StatusCode::SERVICE_UNAVAILABLE, Html(page)).into_response()
        }
    }
}

async fn api_status(State(shared): State<Arc<Shared>>) -> Result<Json<Status>, ApiError> {
    Ok(Json(status(shared).await?))
}

async fn api_workflows(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    Ok(Json(status(shared).await?.workflows).into_response())
}

async fn api_targets(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    Ok(Json(status(shared).await?.targets).into_response())
}

/// The cluster view; answered from this daemon's own state when the library cannot be reached.
async fn api_cluster(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let view = blocking(shared, |shared| Ok(super::cluster::view_or_reach(shared))).await?;
    Ok(Json(view).into_response())
}

async fn api_feeds(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    Ok(Json(status(shared).await?.feeds).into_response())
}

async fn api_triggers(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    Ok(Json(status(shared).await?.triggers).into_response())
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    limit: Option<u64>,
}

async fn api_runs(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_RUNS);
    if !(1..=MAX_RUNS).contains(&limit) {
        let message = format!("limit must be between 1 and {MAX_RUNS}");
        return Err(ApiError(StatusCode::BAD_REQUEST, message));
    }
    let runs = blocking(shared, move |shared| {
        let library = shared.config().library.open()?;
        Ok(library.runs(limit)?)
    })
    .await?;
    Ok(Json(runs).into_response())
}

/// Items listed for one run (the run keeps at most a sample per outcome anyway).
const RUN_ITEMS: u64 = 10_000;
/// Runs listed on the history page.
const HISTORY_RUNS: u64 = 200;

/// A run and what it did, item by item.
#[derive(Debug, serde::Serialize)]
struct RunDetail {
    run: store::RunRecord,
    items: Vec<store::RunItem>,
}

/// Reads run `id` and its items; 404 when there is no such run.
async fn run_detail(shared: Arc<Shared>, id: i64) -> Result<RunDetail, ApiError> {
    let found = blocking(shared, move |shared| {
        let library = shared.config().library.open()?;
        let Some(run) = library.run(id)? else {
            return Ok(None);
        };
        let items = library.run_items(id, RUN_ITEMS)?;
        Ok(Some(RunDetail { run, items }))
    })
    .await?;
    found.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no run {id}")))
}

async fn api_run(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, ApiError> {
    Ok(Json(run_detail(shared, id).await?))
}

async fn run_page(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<i64>,
) -> Result<Html<String>, ApiError> {
    let detail = run_detail(shared, id).await?;
    Ok(Html(super::drill::run(&detail.run, &detail.items)))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    name: Option<String>,
}

async fn history_page(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HistoryQuery>,
) -> Result<Html<String>, ApiError> {
    let name = query.name.filter(|name| !name.is_empty());
    let wanted = name.clone();
    let runs = blocking(shared, move |shared| {
        let library = shared.config().library.open()?;
        Ok(match &wanted {
            Some(name) => library.runs_named(name, HISTORY_RUNS)?,
            None => library.runs(HISTORY_RUNS)?,
        })
    })
    .await?;
    Ok(Html(super::drill::history(name.as_deref(), &runs)))
}

#[derive(Debug, Deserialize)]
struct WhyQuery {
    value: Option<String>,
}

/// The longest value looked up (a URL can be long; a page of text is no indicator).
const WHY_MAX: usize = 4096;

async fn why_page(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<WhyQuery>,
) -> Result<Html<String>, ApiError> {
    let Some(value) = query
        .value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return Ok(Html(super::drill::why(None, None)));
    };
    if value.len() > WHY_MAX {
        let error = format!("the value is longer than {WHY_MAX} bytes");
        return Ok(Html(super::drill::why(
            Some("(too long)"),
            Some(Err(error)),
        )));
    }
    let input = value.clone();
    let answer = blocking(shared, move |shared| {
        let config = shared.config();
        let library = config.library.open()?;
        let now = chrono::Utc::now();
        let why = engine::why::why(&config, &*library, &input, now);
        Ok(tokio::runtime::Handle::current()
            .block_on(why)
            .map(|answer| answer.to_string())
            .map_err(|error| format!("cannot answer: {error}")))
    })
    .await?;
    Ok(Html(super::drill::why(Some(&value), Some(answer))))
}

/// Liveness for process supervisors: answers without touching the library or any target;
/// 503 once shutdown was requested.
async fn healthz(State(shared): State<Arc<Shared>>) -> (StatusCode, &'static str) {
    if shared.stop.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    // The library's size, how full the capped lists are, and when workflows and feeds last
    // succeeded are read from the library at each scrape.
    blocking(Arc::clone(&shared), |shared| {
        let config = shared.config();
        let library = config.library.open()?;
        for target in &config.targets {
            let rooms = engine::targets::rooms(target, &*library)?;
            shared.metrics.record_rooms(&target.name, &rooms);
        }
        // A PostgreSQL library's size is the database server's to report.
        let files = ["", "-wal"].map(|suffix| {
            let Some(file) = config.library.file() else {
                return 0;
            };
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(path).map_or(0, |meta| meta.len())
        });
        shared
            .metrics
            .record_library(library.count()?, files.iter().sum());
        let runs = library.runs(1000)?;
        for (workflow, at) in super::status::last_successes(&runs) {
            if config.workflows.iter().any(|w| w.name == workflow) {
                shared.metrics.record_last_success(workflow, at);
            }
        }
        for feed in &config.feeds {
            if let Some(at) = library.feed_state(&feed.name)?.and_then(|s| s.confirmed_at) {
                shared.metrics.record_feed_success(&feed.name, at);
            }
        }
        Ok(())
    })
    .await?;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &shared.registry)
        .map_err(|error| anyhow::anyhow!("cannot encode the metrics: {error}"))?;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}
