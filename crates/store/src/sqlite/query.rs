//! Reading indicators back: one indicator, its votes, and a collection's members streamed in
//! order straight from the cursor. Also the stored collection definitions.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use indicator::Kind;
use rusqlite::types::Value;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params, params_from_iter,
};

use super::merge::kind_name;
use super::{changes, from_millis, millis, parse_kind};
use crate::collection::{Collection, Order};
use crate::error::{Error, Result};
use crate::model::{Class, IndicatorRecord, SourceVote, Status};

/// The status as of `?now` without writing: an active indicator whose validity has passed reads
/// as expired even before `refresh_status` runs. (No other status changes with time alone.)
const EFFECTIVE_STATUS: &str =
    "CASE WHEN i.status = 'active' AND i.valid_until < ?1 THEN 'expired' ELSE i.status END";

/// Columns of an indicator record, in the order `read_record` expects; `?1` is now.
fn select_record() -> String {
    select_with(
        "(SELECT json_group_array(tag) FROM indicator_tags WHERE indicator_id = i.id),
         (SELECT json_group_array(source) FROM indicator_sources WHERE indicator_id = i.id)",
    )
}

/// [`select_record`] with empty tag and source lists: the two look-ups per row are most of
/// the cost of reading a million members that need neither.
fn select_lean() -> String {
    select_with("'[]', '[]'")
}

fn select_with(tags_and_sources: &str) -> String {
    format!(
        "SELECT i.kind, i.value, i.display, i.score, i.class, {EFFECTIVE_STATUS} AS effective_status,
                i.description, i.first_seen, i.last_seen, i.valid_until, i.sightings,
                {tags_and_sources}
         FROM indicators i"
    )
}

fn read_record(row: &Row<'_>) -> Result<IndicatorRecord> {
    let kind: String = row.get(0)?;
    let class: String = row.get(4)?;
    let status: String = row.get(5)?;
    let valid_until: Option<i64> = row.get(9)?;
    let sightings: i64 = row.get(10)?;
    Ok(IndicatorRecord {
        kind: parse_kind(&kind)?,
        value: row.get(1)?,
        display: row.get(2)?,
        score: row.get(3)?,
        class: class
            .parse::<Class>()
            .map_err(|e| Error::corrupt("class", &class, e))?,
        status: status
            .parse::<Status>()
            .map_err(|e| Error::corrupt("status", &status, e))?,
        tags: json_list(row, 11, "tag list")?,
        sources: json_list(row, 12, "source list")?,
        description: row.get(6)?,
        first_seen: from_millis(row.get(7)?)?,
        last_seen: from_millis(row.get(8)?)?,
        valid_until: valid_until.map(from_millis).transpose()?,
        sightings: u64::try_from(sightings).unwrap_or(0),
    })
}

/// A `json_group_array` column, sorted (SQLite does not promise an order within the group).
fn json_list(row: &Row<'_>, index: usize, what: &'static str) -> Result<Vec<String>> {
    let text: String = row.get(index)?;
    let mut list: Vec<String> =
        serde_json::from_str(&text).map_err(|e| Error::corrupt(what, text, e))?;
    list.sort_unstable();
    Ok(list)
}

pub(super) fn indicator(
    conn: &Connection,
    kind: Kind,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Option<IndicatorRecord>> {
    let sql = format!("{} WHERE i.kind = ?2 AND i.value = ?3", select_record());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![millis(now), kind_name(kind), value])?;
    rows.next()?.map(read_record).transpose()
}

pub(super) fn votes(conn: &Connection, kind: Kind, value: &str) -> Result<Vec<SourceVote>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.source, s.score, s.revoked, s.first_seen, s.last_seen, s.reported_at
         FROM indicator_sources s JOIN indicators i ON i.id = s.indicator_id
         WHERE i.kind = ?1 AND i.value = ?2 ORDER BY s.source",
    )?;
    let mut rows = stmt.query(params![kind_name(kind), value])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(SourceVote {
            source: row.get(0)?,
            score: row.get(1)?,
            revoked: row.get(2)?,
            first_seen: from_millis(row.get(3)?)?,
            last_seen: from_millis(row.get(4)?)?,
            reported_at: row.get::<_, Option<i64>>(5)?.map(from_millis).transpose()?,
        });
    }
    Ok(out)
}

pub(super) fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM indicators", [], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) fn scan(
    conn: &Connection,
    collection: &Collection,
    now: DateTime<Utc>,
    limit: Option<u64>,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    let (sql, values) = member_query(collection, now, limit, &select_record());
    let mut stmt = conn.prepare(&sql)?;
    visit_rows(&mut stmt, values, visit)
}

pub(super) fn scan_lean(
    conn: &Connection,
    collection: &Collection,
    now: DateTime<Utc>,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    let (sql, values) = member_query(collection, now, None, &select_lean());
    let mut stmt = conn.prepare(&sql)?;
    visit_rows(&mut stmt, values, visit)
}

pub(super) fn scan_kind(
    conn: &Connection,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
    limit: Option<u64>,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    if !collection.kinds.is_empty() && !collection.kinds.contains(&kind) {
        return Ok(0);
    }
    let (sql, values) = kind_query(collection, kind, now, limit);
    // Cached: a plan asks once per kind and per run, always with the same text for a
    // collection's shape.
    let mut stmt = conn.prepare_cached(&sql)?;
    visit_rows(&mut stmt, values, visit)
}

pub(super) fn count_kind(
    conn: &Connection,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<u64> {
    if !collection.kinds.is_empty() && !collection.kinds.contains(&kind) {
        return Ok(0);
    }
    if collection.counted_from_totals() {
        return count_from_totals(conn, collection, kind, now);
    }
    let q = filtered(
        collection,
        now,
        Some(kind),
        "SELECT count(*) FROM indicators i",
    );
    let mut stmt = conn.prepare_cached(&q.sql)?;
    let n: i64 = stmt.query_row(params_from_iter(q.values), |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A kind's members from the totals the triggers of migration 010 keep per kind, stored
/// status and class, corrected for the active indicators whose validity ended since their
/// status was refreshed (their effective status is `expired`, see [`EFFECTIVE_STATUS`]).
fn count_from_totals(
    conn: &Connection,
    collection: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<u64> {
    let class = collection.class.map(|c| c.as_str());
    let mut stmt = conn.prepare_cached(
        "SELECT status, sum(n) FROM kind_counts
         WHERE kind = ?1 AND (?2 IS NULL OR class = ?2) GROUP BY status",
    )?;
    let mut rows = stmt.query(params![kind_name(kind), class])?;
    let mut stored: i64 = 0;
    while let Some(row) = rows.next()? {
        let status: String = row.get(0)?;
        let n: i64 = row.get(1)?;
        if collection.status.iter().any(|s| s.as_str() == status) {
            stored += n;
        }
    }
    let sign = collection.lapse_sign();
    let lapsed: i64 = if sign == 0 {
        0
    } else {
        conn.prepare_cached(
            "SELECT count(*) FROM indicators
             WHERE kind = ?1 AND status = 'active' AND valid_until IS NOT NULL
               AND valid_until < ?2 AND (?3 IS NULL OR class = ?3)",
        )?
        .query_row(params![kind_name(kind), millis(now), class], |row| {
            row.get(0)
        })?
    };
    let n = stored + sign * lapsed;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Runs `stmt` with `values` and hands each indicator to `visit` until it breaks; returns how
/// many were visited.
fn visit_rows(
    stmt: &mut rusqlite::Statement<'_>,
    values: Vec<Value>,
    visit: &mut (dyn FnMut(IndicatorRecord) -> ControlFlow<()> + Send),
) -> Result<u64> {
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut visited = 0;
    while let Some(row) = rows.next()? {
        visited += 1;
        if visit(read_record(row)?).is_break() {
            break;
        }
    }
    Ok(visited)
}

/// Builds the SQL for a collection's members. `?1` is always now; every other value is bound
/// as a parameter, never spliced into the text.
fn member_query(
    c: &Collection,
    now: DateTime<Utc>,
    limit: Option<u64>,
    head: &str,
) -> (String, Vec<Value>) {
    let mut q = filtered(c, now, None, head);
    q.sql.push_str(match c.order {
        Order::Priority => " ORDER BY i.score DESC, i.last_seen DESC, i.kind, i.value",
        Order::Recent => " ORDER BY i.last_seen DESC, i.score DESC, i.kind, i.value",
    });
    if let Some(limit) = limit {
        q.and_limit(limit);
    }
    (q.sql, q.values)
}

/// The SQL for a collection's members of one kind, in [`member_query`]'s order (the kind is
/// fixed, so it drops out). For `priority` the order is that of the `indicators_by_rank` index
/// (kind, score DESC, last_seen DESC, value), so SQLite walks the index and stops at the limit
/// instead of sorting the kind; `recent` sorts, keeping only the top `limit` in its sorter.
pub(super) fn kind_query(
    c: &Collection,
    kind: Kind,
    now: DateTime<Utc>,
    limit: Option<u64>,
) -> (String, Vec<Value>) {
    let mut q = filtered(c, now, Some(kind), &select_record());
    q.sql.push_str(match c.order {
        Order::Priority => " ORDER BY i.score DESC, i.last_seen DESC, i.value",
        Order::Recent => " ORDER BY i.last_seen DESC, i.score DESC, i.value",
    });
    if let Some(limit) = limit {
        q.and_limit(limit);
    }
    (q.sql, q.values)
}

/// `head` (a select from `indicators i`) filtered by every condition of the collection, not
/// yet ordered; with `kind`, only that kind (whether the collection admits it is the caller's
/// to check).
fn filtered(c: &Collection, now: DateTime<Utc>, kind: Option<Kind>, head: &str) -> QueryBuilder {
    let mut q = QueryBuilder {
        sql: format!("{head} WHERE 1"),
        values: vec![Value::Integer(millis(now))],
    };
    let statuses: Vec<String> = c.status.iter().map(|s| s.as_str().to_owned()).collect();
    q.and_in(&format!("({EFFECTIVE_STATUS})"), &statuses);
    match kind {
        Some(kind) => q.and_bound("i.kind = ", Value::Text(kind_name(kind).to_owned())),
        None => {
            let kinds: Vec<String> = c.kinds.iter().map(|k| kind_name(*k).to_owned()).collect();
            q.and_in("i.kind", &kinds);
        }
    }
    if let Some(class) = c.class {
        q.and_bound("i.class = ", Value::Text(class.as_str().to_owned()));
    }
    if let Some(score) = c.min_score {
        q.and_bound("i.score >= ", Value::Integer(score.into()));
    }
    if let Some(window) = c.seen_within {
        let cutoff = chrono::Duration::from_std(window.0)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .map_or(i64::MIN, millis);
        q.and_bound("i.last_seen >= ", Value::Integer(cutoff));
    }
    q.and_exists(
        "EXISTS (SELECT 1 FROM indicator_tags t WHERE t.indicator_id = i.id AND t.tag IN",
        &c.tags_any,
        ")",
    );
    let mut all = c.tags_all.clone();
    all.sort();
    all.dedup();
    let wanted = format!(") = {}", all.len());
    q.and_exists(
        "(SELECT count(*) FROM indicator_tags t WHERE t.indicator_id = i.id AND t.tag IN",
        &all,
        &wanted,
    );
    q.and_exists(
        "NOT EXISTS (SELECT 1 FROM indicator_tags t WHERE t.indicator_id = i.id AND t.tag IN",
        &c.tags_none,
        ")",
    );
    // A source that revoked its vote no longer counts, unless every source did (then the
    // collection is asking for revoked indicators and wants to know who reported them).
    q.and_exists(
        "EXISTS (SELECT 1 FROM indicator_sources s WHERE s.indicator_id = i.id
                 AND (s.revoked = 0 OR i.revoked = 1) AND s.source IN",
        &c.sources,
        ")",
    );
    q
}

struct QueryBuilder {
    sql: String,
    values: Vec<Value>,
}

impl QueryBuilder {
    fn placeholder(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("?{}", self.values.len())
    }

    fn list(&mut self, items: &[String]) -> String {
        let marks: Vec<String> = items
            .iter()
            .map(|item| self.placeholder(Value::Text(item.clone())))
            .collect();
        format!("({})", marks.join(", "))
    }

    fn and_bound(&mut self, condition: &str, value: Value) {
        let mark = self.placeholder(value);
        self.sql.push_str(&format!(" AND {condition}{mark}"));
    }

    fn and_in(&mut self, column: &str, items: &[String]) {
        if !items.is_empty() {
            let list = self.list(items);
            self.sql.push_str(&format!(" AND {column} IN {list}"));
        }
    }

    /// `AND <open> (items...) <close>`, skipped when the filter lists nothing.
    fn and_exists(&mut self, open: &str, items: &[String], close: &str) {
        if !items.is_empty() {
            let list = self.list(items);
            self.sql.push_str(&format!(" AND {open} {list}{close}"));
        }
    }

    fn and_limit(&mut self, limit: u64) {
        let mark = self.placeholder(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        self.sql.push_str(&format!(" LIMIT {mark}"));
    }
}

pub(super) fn save_collection(
    conn: &mut Connection,
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
        "INSERT INTO collections (name, definition, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
                                          updated_at = excluded.updated_at"
    } else {
        "INSERT INTO collections (name, definition, updated_at) VALUES (?1, ?2, ?3)"
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    match tx.execute(
        sql,
        params![collection.name, definition, millis(Utc::now())],
    ) {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            return Err(Error::CollectionExists(collection.name.clone()));
        }
        other => other.map(drop)?,
    }
    // Counted even when the definition is unchanged: a workflow's digest covers the
    // definition too, so the worst case is one needless full run.
    changes::bump(&tx)?;
    tx.commit()?;
    Ok(())
}

fn parse_collection(name: &str, definition: &str) -> Result<Collection> {
    serde_json::from_str(definition).map_err(|e| Error::corrupt("collection", name, e))
}

pub(super) fn collection(conn: &Connection, name: &str) -> Result<Option<Collection>> {
    let definition: Option<String> = conn
        .query_row(
            "SELECT definition FROM collections WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()?;
    definition.map(|d| parse_collection(name, &d)).transpose()
}

pub(super) fn collections(conn: &Connection) -> Result<Vec<Collection>> {
    let mut stmt = conn.prepare("SELECT name, definition FROM collections ORDER BY name")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        let definition: String = row.get(1)?;
        out.push(parse_collection(&name, &definition)?);
    }
    Ok(out)
}

pub(super) fn remove_collection(conn: &mut Connection, name: &str) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let removed = tx.execute("DELETE FROM collections WHERE name = ?1", [name])? > 0;
    if removed {
        changes::bump(&tx)?;
    }
    tx.commit()?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::SqliteLibrary;

    /// SQLite's `EXPLAIN QUERY PLAN` of `sql`, one line per step.
    pub(crate) fn explain(conn: &Connection, sql: &str, values: Vec<Value>) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let mut rows = stmt.query(params_from_iter(values)).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            out.push(row.get::<_, String>(3).unwrap());
        }
        out
    }

    fn plan_of(c: &Collection, limit: Option<u64>) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let lib = SqliteLibrary::open(dir.path().join("lib.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (sql, values) = kind_query(c, Kind::Url, now, limit);
        explain(&lib.conn, &sql, values)
    }

    #[test]
    fn a_priority_kind_walks_the_rank_index_without_sorting() {
        let mut c = Collection::new("top");
        for shape in 0..3 {
            match shape {
                1 => c.min_score = Some(7),
                2 => c.sources = vec!["urlhaus".into()],
                _ => {}
            }
            let plan = plan_of(&c, Some(9_900));
            assert!(
                plan.iter()
                    .any(|step| step.contains("USING INDEX indicators_by_rank (kind=?")),
                "{plan:#?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{plan:#?}"
            );
        }
    }

    #[test]
    fn a_recent_kind_reads_one_kind_only() {
        let c = Collection {
            order: Order::Recent,
            ..Collection::new("recent")
        };
        let plan = plan_of(&c, Some(10));
        assert!(
            plan.iter().any(|step| step.contains("(kind=?")),
            "{plan:#?}"
        );
    }
}
