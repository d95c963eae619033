//! Reading indicators back from PostgreSQL: one indicator, its votes, and a collection's
//! members streamed in order from a portal, a page of rows at a time, so a scan holds one
//! page in memory and a visitor that stops early stops the reading. Also the stored
//! collection definitions.
//!
//! Orders are SQLite's: `score DESC NULLS LAST` (SQLite sorts NULL lowest), ties broken by
//! last seen, kind and value in byte order (the columns are `COLLATE "C"`).

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row};

use super::{changes, count_of, from_millis, millis, parse_kind, score_of};
use crate::collection::{Collection, Order};
use crate::error::{Error, Result};
use crate::model::{Class, IndicatorRecord, SourceVote, Status};

/// Rows fetched from a scan's portal per round trip.
const PAGE: i32 = 2_000;

/// The status as of `$1` without writing: an active indicator whose validity has passed reads
/// as expired even before `refresh_status` runs.
const EFFECTIVE_STATUS: &str =
    "CASE WHEN i.status = 'active' AND i.valid_until < $1 THEN 'expired' ELSE i.status END";

fn select_record(lean: bool) -> String {
    let tags_and_sources = if lean {
        "ARRAY[]::text[], ARRAY[]::text[]"
    } else {
        "ARRAY(SELECT tag FROM indicator_tags WHERE indicator_id = i.id),
         ARRAY(SELECT source FROM indicator_sources WHERE indicator_id = i.id)"
    };
    format!(
        "SELECT i.kind, i.value, i.display, i.score, i.class, {EFFECTIVE_STATUS} AS effective_status,
                i.description, i.first_seen, i.last_seen, i.valid_until, i.sightings,
                {tags_and_sources}
         FROM indicators i"
    )
}

fn read_record(row: &Row) -> Result<IndicatorRecord> {
    let kind: &str = row.try_get(0)?;
    let class: &str = row.try_get(4)?;
    let status: &str = row.try_get(5)?;
    let valid_until: Option<i64> = row.try_get(9)?;
    let sightings: i64 = row.try_get(10)?;
    let mut tags: Vec<String> = row.try_get(11)?;
    let mut sources: Vec<String> = row.try_get(12)?;
    tags.sort_unstable();
    sources.sort_unstable();
    Ok(IndicatorRecord {
        kind: parse_kind(kind)?,
        value: row.try_get(1)?,
        display: row.try_get(2)?,
        score: score_of("score", row.try_get(3)?)?,
        class: class
            .parse::<Class>()
            .map_err(|e| Error::corrupt("class", class, e))?,
        status: status
            .parse::<Status>()
            .map_err(|e| Error::corrupt("status", status, e))?,
        tags,
        sources,
        description: row.try_get(6)?,
        first_seen: from_millis(row.try_get(7)?)?,
        last_seen: from_millis(row.try_get(8)?)?,
        valid_until: valid_until.map(from_millis).transpose()?,
        sightings: count_of(sightings),
    })
}

pub(super) fn indicator(
    conn: &mut Client,
    kind: Kind,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Option<IndicatorRecord>> {
    let sql = format!(
        "{} WHERE i.kind = $2 AND i.value = $3",
        select_record(false)
    );
    conn.query_opt(&sql, &[&millis(now), &kind.as_str(), &value])?
        .as_ref()
        .map(read_record)
        .transpose()
}

pub(super) fn votes(conn: &mut Client, kind: Kind, value: &str) -> Result<Vec<SourceVote>> {
    let rows = conn.query(
        "SELECT s.source, s.score, s.revoked, s.first_seen, s.last_seen, s.reported_at
         FROM indicator_sources s JOIN indicators i ON i.id = s.indicator_id
         WHERE i.kind = $1 AND i.value = $2 ORDER BY s.source",
        &[&kind.as_str(), &value],
    )?;
    rows.iter()
        .map(|row| {
            Ok(SourceVote {
                source: row.try_get(0)?,
                score: score_of("vote score", row.try_get(1)?)?,
                revoked: row.try_get(2)?,
                first_seen: from_millis(row.try_get(3)?)?,
                last_seen: from_millis(row.try_get(4)?)?,
                reported_at: row
                    .try_get::<_, Option<i64>>(5)?
                    .map(from_millis)
                    .transpose()?,
            })
        })
        .collect()
}

pub(super) fn count(conn: &mut Client) -> Result<u64> {
    let n: i64 = conn
        .query_one("SELECT count(*) FROM indicators", &[])?
        .try_get(0)?;
    Ok(count_of(n))
}

pub(super) fn scan(
    conn: &mut Client,
    collection: &Collection,
    now: DateTime<Utc>,
    limit: Option<u64>,
    lean: bool,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    // One kind in priority order is the rank index's order: read it there rather than sort
    // every member (the 10,000 best domains of 3,333,334: 2.6 s sorted, see scripts/bench-pg-query).
    if let (Order::Priority, [kind]) = (collection.order, collection.kinds.as_slice()) {
        return ranked(conn, collection, *kind, now, limit, lean, visit);
    }
    let mut q = filtered(collection, now, None, &select_record(lean));
    q.sql.push_str(match collection.order {
        Order::Priority => " ORDER BY i.score DESC NULLS LAST, i.last_seen DESC, i.kind, i.value",
        Order::Recent => " ORDER BY i.last_seen DESC, i.score DESC NULLS LAST, i.kind, i.value",
    });
    if let Some(limit) = limit {
        q.and_limit(limit);
    }
    visit_rows(conn, q, Plan::AsPlanned, visit)
}

pub(super) fn scan_kind(
    conn: &mut Client,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
    limit: Option<u64>,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    if !collection.kinds.is_empty() && !collection.kinds.contains(&kind) {
        return Ok(0);
    }
    ranked(conn, collection, kind, now, limit, false, visit)
}

/// The members of one kind in the collection's order; for `priority`, the order of the
/// `indicators_by_rank` index, read from it.
fn ranked(
    conn: &mut Client,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
    limit: Option<u64>,
    lean: bool,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    let mut q = filtered(collection, now, Some(kind), &select_record(lean));
    q.sql.push_str(match collection.order {
        Order::Priority => " ORDER BY i.score DESC NULLS LAST, i.last_seen DESC, i.value",
        Order::Recent => " ORDER BY i.last_seen DESC, i.score DESC NULLS LAST, i.value",
    });
    if let Some(limit) = limit {
        q.and_limit(limit);
    }
    let plan = match collection.order {
        Order::Priority => Plan::InIndexOrder,
        Order::Recent => Plan::AsPlanned,
    };
    visit_rows(conn, q, plan, visit)
}

pub(super) fn count_kind(
    conn: &mut Client,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<u64> {
    if !collection.kinds.is_empty() && !collection.kinds.contains(&kind) {
        return Ok(0);
    }
    if collection.counted_from_totals() {
        return super::counts::count_from_totals(conn, collection, kind, now);
    }
    let q = filtered(
        collection,
        now,
        Some(kind),
        "SELECT count(*) FROM indicators i",
    );
    let n: i64 = conn.query_one(&q.sql, &q.params())?.try_get(0)?;
    Ok(count_of(n))
}

/// How a scan's query is to be planned.
enum Plan {
    AsPlanned,
    /// Read in the order of the `indicators_by_rank` index, not sorted. A portal is planned
    /// for all its rows, so for a kind of 450,000 members PostgreSQL sorts them all (a second
    /// or more) although a capped workflow stops after its cap: without sorting it walks the
    /// index and the first rows come at once (a capped plan on a 1,000,000-indicator library:
    /// 3.7 s before, 1.2 s after).
    InIndexOrder,
}

/// Runs the query in a read-only transaction through a portal, handing each indicator to
/// `visit` until it breaks; returns how many were visited.
fn visit_rows(
    conn: &mut Client,
    q: QueryBuilder,
    plan: Plan,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    let mut tx = conn.build_transaction().read_only(true).start()?;
    if let Plan::InIndexOrder = plan {
        tx.batch_execute("SET LOCAL enable_sort = off")?;
    }
    let portal = tx.bind(q.sql.as_str(), &q.params())?;
    let mut visited = 0;
    'pages: loop {
        let rows = tx.query_portal(&portal, PAGE)?;
        let last_page = rows.len() < PAGE as usize;
        for row in &rows {
            visited += 1;
            if visit(read_record(row)?).is_break() {
                break 'pages;
            }
        }
        if last_page {
            break;
        }
    }
    drop(portal);
    tx.commit()?;
    Ok(visited)
}

/// `head` (a select from `indicators i`) filtered by every condition of the collection, not
/// yet ordered; with `kind`, only that kind. `$1` is always now; every value is bound.
fn filtered(c: &Collection, now: DateTime<Utc>, kind: Option<Kind>, head: &str) -> QueryBuilder {
    let mut q = QueryBuilder {
        // `$1` is named even when no filter uses it, so its type is always known.
        sql: format!("{head} WHERE $1::int8 IS NOT NULL"),
        values: vec![Box::new(millis(now))],
    };
    if let Some(condition) = status_condition(&c.status) {
        q.sql.push_str(&format!(" AND ({condition})"));
    }
    match kind {
        Some(kind) => q.and_bound("i.kind = ", Box::new(kind.as_str())),
        None => {
            let kinds: Vec<String> = c.kinds.iter().map(|k| k.as_str().to_owned()).collect();
            q.and_any("i.kind", kinds);
        }
    }
    if let Some(class) = c.class {
        q.and_bound("i.class = ", Box::new(class.as_str()));
    }
    if let Some(score) = c.min_score {
        q.and_bound("i.score >= ", Box::new(i32::from(score)));
    }
    if let Some(window) = c.seen_within {
        let cutoff = chrono::Duration::from_std(window.0)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .map_or(i64::MIN, millis);
        q.and_bound("i.last_seen >= ", Box::new(cutoff));
    }
    if !c.tags_any.is_empty() {
        let mark = q.placeholder(Box::new(c.tags_any.clone()));
        q.sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM indicator_tags t WHERE t.indicator_id = i.id
                          AND t.tag = ANY({mark}::text[]))"
        ));
    }
    let mut all = c.tags_all.clone();
    all.sort();
    all.dedup();
    if !all.is_empty() {
        let wanted = all.len() as i64;
        let mark = q.placeholder(Box::new(all));
        q.sql.push_str(&format!(
            " AND (SELECT count(*) FROM indicator_tags t WHERE t.indicator_id = i.id
                   AND t.tag = ANY({mark}::text[])) = {wanted}"
        ));
    }
    if !c.tags_none.is_empty() {
        let mark = q.placeholder(Box::new(c.tags_none.clone()));
        q.sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM indicator_tags t WHERE t.indicator_id = i.id
                              AND t.tag = ANY({mark}::text[]))"
        ));
    }
    // A source that revoked its vote no longer counts, unless every source did.
    if !c.sources.is_empty() {
        let mark = q.placeholder(Box::new(c.sources.clone()));
        q.sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM indicator_sources s WHERE s.indicator_id = i.id
                          AND (NOT s.revoked OR i.revoked) AND s.source = ANY({mark}::text[]))"
        ));
    }
    q
}

/// The members whose [`EFFECTIVE_STATUS`] as of `$1` is one of `statuses` (`None`: any), said
/// so that the planner can estimate it and read it from the rank index: compared as a `CASE`,
/// it was estimated at a thousandth of its rows and counted by a full scan (200 ms a kind on a
/// 3,000,000-indicator library, measured).
fn status_condition(statuses: &[Status]) -> Option<String> {
    let parts: Vec<&str> = statuses
        .iter()
        .map(|status| match status {
            Status::Active => {
                "(i.status = 'active' AND (i.valid_until IS NULL OR i.valid_until >= $1))"
            }
            Status::Expired => {
                "(i.status = 'expired' OR (i.status = 'active' AND i.valid_until < $1))"
            }
            Status::Revoked => "i.status = 'revoked'",
            Status::Disabled => "i.status = 'disabled'",
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" OR "))
}

struct QueryBuilder {
    sql: String,
    values: Vec<Box<dyn ToSql + Sync>>,
}

impl QueryBuilder {
    fn placeholder(&mut self, value: Box<dyn ToSql + Sync>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    fn and_bound(&mut self, condition: &str, value: Box<dyn ToSql + Sync>) {
        let mark = self.placeholder(value);
        self.sql.push_str(&format!(" AND {condition}{mark}"));
    }

    /// `AND <expr> = ANY(items)`, skipped when the filter lists nothing.
    fn and_any(&mut self, expr: &str, items: Vec<String>) {
        if !items.is_empty() {
            let mark = self.placeholder(Box::new(items));
            self.sql
                .push_str(&format!(" AND {expr} = ANY({mark}::text[])"));
        }
    }

    fn and_limit(&mut self, limit: u64) {
        let mark = self.placeholder(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
        self.sql.push_str(&format!(" LIMIT {mark}"));
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(|v| v.as_ref()).collect()
    }
}

pub(super) fn save_collection(
    conn: &mut Client,
    collection: &Collection,
    replace: bool,
) -> Result<()> {
    collection
        .validate()
        .map_err(|source| Error::InvalidCollection {
            name: collection.name.clone(),
            source,
        })?;
    let definition = serde_json::to_string(collection).map_err(|source| Error::Json {
        what: "collection",
        source,
    })?;
    let sql = if replace {
        "INSERT INTO collections (name, definition, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
                                          updated_at = excluded.updated_at"
    } else {
        "INSERT INTO collections (name, definition, updated_at) VALUES ($1, $2, $3)"
    };
    let mut tx = conn.transaction()?;
    match tx.execute(sql, &[&collection.name, &definition, &millis(Utc::now())]) {
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            return Err(Error::CollectionExists(collection.name.clone()));
        }
        other => other.map(drop)?,
    }
    changes::bump(&mut tx)?;
    tx.commit()?;
    Ok(())
}

fn parse_collection(name: &str, definition: &str) -> Result<Collection> {
    serde_json::from_str(definition).map_err(|e| Error::corrupt("collection", name, e))
}

pub(super) fn collection(conn: &mut Client, name: &str) -> Result<Option<Collection>> {
    let row = conn.query_opt(
        "SELECT definition FROM collections WHERE name = $1",
        &[&name],
    )?;
    row.map(|row| parse_collection(name, row.try_get(0)?))
        .transpose()
}

pub(super) fn collections(conn: &mut Client) -> Result<Vec<Collection>> {
    let rows = conn.query(
        "SELECT name, definition FROM collections ORDER BY name",
        &[],
    )?;
    rows.iter()
        .map(|row| parse_collection(row.try_get(0)?, row.try_get(1)?))
        .collect()
}

pub(super) fn remove_collection(conn: &mut Client, name: &str) -> Result<bool> {
    let mut tx = conn.transaction()?;
    let removed = tx.execute("DELETE FROM collections WHERE name = $1", &[&name])? > 0;
    if removed {
        changes::bump(&mut tx)?;
    }
    tx.commit()?;
    Ok(removed)
}
