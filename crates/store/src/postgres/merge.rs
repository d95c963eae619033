//! Merging sightings into indicators in PostgreSQL, set-based. The rules are documented on
//! `LibraryBackend::merge_at`; the SQLite backend applies them sighting by sighting, this one
//! chunk by chunk in five statements, whatever the chunk's size:
//!
//! 1. the chunk is folded in Rust, per indicator (display and description: the last given;
//!    asset: any; times: min / max; how many sightings) and per vote (see [`VoteFold`]), in
//!    the order SQLite visits it (by kind and value, stable), so the outcome is the same;
//! 2. new indicators are inserted whole from arrays (`unnest`), their score, revocation and
//!    status derived in Rust from the chunk's votes; the known ones' ids are looked up;
//! 3. existing votes are updated from their folds, then new votes inserted;
//! 4. tags are inserted;
//! 5. known indicators get their fold merged and score, revocation and status re-derived
//!    from their votes, one write per row (a row written twice costs PostgreSQL a second
//!    version and index entries: the rank index covers score and status).
//!
//! Merges (and pulls) hold the advisory lock [`locks::INDICATORS`] for their transaction, as
//! SQLite's writers hold its write lock: the update-then-insert of votes sees no other writer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::{Client, GenericClient};

use super::{changes, keyed_plans, locks, millis};
use crate::collection::MAX_SCORE;
use crate::error::{Error, Result};
use crate::model::{Class, MergeReport, Rejected, Sighting};

/// Sightings per transaction, as SQLite's (the change counter counts chunks).
pub const CHUNK: usize = crate::sqlite::MERGE_CHUNK;

/// The status rule, in one place: disabled over revoked over expired over active.
macro_rules! status_case {
    ($disabled:expr, $revoked:expr, $valid_until:expr, $now:expr) => {
        concat!(
            "CASE WHEN ",
            $disabled,
            " THEN 'disabled' WHEN ",
            $revoked,
            " THEN 'revoked' WHEN ",
            $valid_until,
            " < ",
            $now,
            " THEN 'expired' ELSE 'active' END"
        )
    };
}

/// New indicators, whole: the fields of their fold and score, revocation and status derived
/// in Rust from the chunk's votes (the only votes a new indicator has). Known ones are left
/// to [`UPDATE_KNOWN`].
const INSERT_NEW: &str = "
    INSERT INTO indicators (kind, value, display, score, class, status, revoked, description,
                            first_seen, last_seen, valid_until, sightings, updated_at)
    SELECT t.kind, t.value, t.display, t.score,
           CASE WHEN t.asset THEN 'asset' ELSE 'indicator' END, t.status, t.revoked,
           t.description, t.first_seen, t.last_seen, t.valid_until, t.n, $13
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::bool[], $6::text[],
                $7::bool[], $8::text[], $9::int8[], $10::int8[], $11::int8[], $12::int8[])
         AS t(kind, value, display, score, asset, status, revoked, description, first_seen,
              last_seen, valid_until, n)
    ON CONFLICT (kind, value) DO NOTHING
    RETURNING id, kind, value";

/// The ids of the indicators the insert found already there.
const FIND_KNOWN: &str = "
    SELECT i.id, i.kind, i.value
    FROM indicators i JOIN unnest($1::text[], $2::text[]) AS t(kind, value)
      ON i.kind = t.kind AND i.value = t.value";

/// Known indicators: their fold merged in and score, revocation and status re-derived from
/// their votes (already updated), in one write per row. SET expressions see the old row, so
/// the status repeats the new valid_until expression.
const UPDATE_KNOWN: &str = concat!(
    "UPDATE indicators AS i SET
        display = coalesce(t.display, i.display),
        class = CASE WHEN t.asset THEN 'asset' ELSE i.class END,
        description = coalesce(t.description, i.description),
        first_seen = least(i.first_seen, t.first_seen),
        last_seen = greatest(i.last_seen, t.last_seen),
        valid_until = greatest(i.valid_until, t.valid_until),
        sightings = i.sightings + t.n,
        updated_at = $9,
        score = v.score,
        revoked = v.revoked,
        status = ",
    status_case!(
        "i.disabled",
        "v.revoked",
        "greatest(i.valid_until, t.valid_until)",
        "$9"
    ),
    "
    FROM unnest($1::int8[], $2::text[], $3::bool[], $4::text[], $5::int8[], $6::int8[],
                $7::int8[], $8::int8[])
         AS t(id, display, asset, description, first_seen, last_seen, valid_until, n)
    CROSS JOIN LATERAL (
        SELECT coalesce(max(score) FILTER (WHERE NOT revoked), max(score)) AS score,
               bool_and(revoked) AS revoked
        FROM indicator_sources WHERE indicator_id = t.id) AS v
    WHERE i.id = t.id"
);

/// A vote's fold against the stored vote (see [`VoteFold`] for why this equals applying the
/// chunk's sightings one by one).
const UPDATE_VOTES: &str = "
    UPDATE indicator_sources AS s SET
        score = CASE
            WHEN t.win_score IS NOT NULL AND t.win_seen >= s.last_seen THEN t.win_score
            WHEN s.score IS NULL THEN t.first_score
            ELSE s.score END,
        revoked = CASE WHEN t.last_seen >= s.last_seen THEN t.revoked ELSE s.revoked END,
        first_seen = least(s.first_seen, t.first_seen),
        last_seen = greatest(s.last_seen, t.last_seen),
        reported_at = greatest(s.reported_at, t.reported_at)
    FROM unnest($1::int8[], $2::text[], $3::bool[], $4::int4[], $5::int8[], $6::int4[],
                $7::int8[], $8::int8[], $9::int8[])
         AS t(id, source, revoked, win_score, win_seen, first_score, first_seen, last_seen,
              reported_at)
    WHERE s.indicator_id = t.id AND s.source = t.source";

const INSERT_VOTES: &str = "
    INSERT INTO indicator_sources (indicator_id, source, score, revoked, first_seen, last_seen,
                                   reported_at)
    SELECT t.id, t.source, coalesce(t.win_score, t.first_score), t.revoked, t.first_seen,
           t.last_seen, t.reported_at
    FROM unnest($1::int8[], $2::text[], $3::bool[], $4::int4[], $5::int8[], $6::int4[],
                $7::int8[], $8::int8[], $9::int8[])
         AS t(id, source, revoked, win_score, win_seen, first_score, first_seen, last_seen,
              reported_at)
    ON CONFLICT (indicator_id, source) DO NOTHING";

const INSERT_TAGS: &str = "
    INSERT INTO indicator_tags (indicator_id, tag)
    SELECT * FROM unnest($1::int8[], $2::text[])
    ON CONFLICT DO NOTHING";

/// Score, revocation and status of the indicators `$1` from their votes, as of `$2` (a pull's
/// withdrawals).
pub(super) const REDERIVE: &str = concat!(
    "UPDATE indicators AS i SET score = v.score, revoked = v.revoked, updated_at = $2,
        status = ",
    status_case!("i.disabled", "v.revoked", "i.valid_until", "$2"),
    "
    FROM (SELECT indicator_id,
                 coalesce(max(score) FILTER (WHERE NOT revoked), max(score)) AS score,
                 bool_and(revoked) AS revoked
          FROM indicator_sources WHERE indicator_id = ANY($1::int8[])
          GROUP BY indicator_id) AS v
    WHERE i.id = v.indicator_id"
);

const REFRESH_STATUS: &str = concat!(
    "UPDATE indicators SET status = ",
    status_case!("disabled", "revoked", "valid_until", "$1"),
    ", updated_at = $1 WHERE status <> ",
    status_case!("disabled", "revoked", "valid_until", "$1")
);

const SET_DISABLED: &str = concat!(
    "UPDATE indicators SET disabled = $3, updated_at = $4, status = ",
    status_case!("$3", "revoked", "valid_until", "$4"),
    " WHERE kind = $1 AND value = $2"
);

/// Chunks of at least this many sightings are merged in two halves at once when a second
/// connection is at hand.
pub const SPLIT_AT: usize = 2_000;

/// Merges `sightings` chunk by chunk, each in its own transaction. With `helper`, a chunk of
/// [`SPLIT_AT`] or more is split by indicator into two halves merged at once, one on each
/// connection ([`merge_split`]): a PostgreSQL backend works on one core, and a merge is the
/// server's work (two sessions inserting 150,000 rows each took two thirds of the time one
/// took for 300,000, measured on this 2-core machine).
pub(super) fn merge(
    conn: &mut Client,
    mut helper: Option<&mut Client>,
    sightings: &[Sighting],
    now: DateTime<Utc>,
) -> Result<MergeReport> {
    let mut report = MergeReport {
        received: sightings.len(),
        ..MergeReport::default()
    };
    for (chunk_no, chunk) in sightings.chunks(CHUNK).enumerate() {
        let first = chunk_no * CHUNK;
        match helper.as_deref_mut() {
            Some(helper) if chunk.len() >= SPLIT_AT => {
                merge_split(conn, helper, chunk, now, first, &mut report)?;
            }
            _ => {
                let mut tx = conn.transaction()?;
                lock_indicators(&mut tx)?;
                let merged = report.created + report.updated;
                merge_in(&mut tx, chunk, now, first, &mut report)?;
                // Any sighting merged counts as a change (see the SQLite backend).
                if report.created + report.updated > merged {
                    changes::bump(&mut tx)?;
                }
                tx.commit()?;
            }
        }
    }
    if report.created + report.updated > 0 {
        let mut tx = conn.transaction()?;
        lock_indicators(&mut tx)?;
        super::counts::fold(&mut tx)?;
        tx.commit()?;
    }
    report.rejected.sort_by_key(|r| r.index);
    Ok(report)
}

/// Merges `chunk` in two halves by indicator (every sighting of one indicator in one half,
/// in its order), the first on `conn`, the second on `helper`, at once.
///
/// `conn`'s transaction takes the indicators' lock before the helper's starts and commits
/// after it, so the pair holds the lock as one writer does; the halves touch disjoint rows, so
/// neither waits for the other. The helper commits only once the first half has been merged
/// without error: a failure in either leaves the chunk unwritten (short of a failed commit).
fn merge_split(
    conn: &mut Client,
    helper: &mut Client,
    chunk: &[Sighting],
    now: DateTime<Utc>,
    first: usize,
    report: &mut MergeReport,
) -> Result<()> {
    let (mine, theirs): (Vec<usize>, Vec<usize>) =
        (0..chunk.len()).partition(|&i| half_of(&chunk[i]) == 0);
    let mut tx = conn.transaction()?;
    lock_indicators(&mut tx)?;
    let merged = report.created + report.updated;
    let (go, commit) = std::sync::mpsc::channel::<bool>();
    let (outcome, other) = std::thread::scope(|scope| {
        // `None`: merged, then rolled back because the first half failed.
        let worker = scope.spawn(move || -> Result<Option<MergeReport>> {
            let mut other = MergeReport::default();
            let mut tx = helper.transaction()?;
            keyed_plans(&mut tx)?;
            merge_part(&mut tx, chunk, theirs, now, first, &mut other)?;
            if !commit.recv().unwrap_or(false) {
                return Ok(None);
            }
            tx.commit()?;
            Ok(Some(other))
        });
        let outcome = merge_part(&mut tx, chunk, mine, now, first, report);
        // A closed channel (the worker failed already) is its error, reported below.
        let _ = go.send(outcome.is_ok());
        let other = worker
            .join()
            .unwrap_or_else(|_| Err(Error::corrupt("merge", "", "the second half panicked")));
        (outcome, other)
    });
    outcome?;
    let Some(other) = other? else {
        return Err(Error::corrupt(
            "merge",
            "",
            "the second half was not committed",
        ));
    };
    report.created += other.created;
    report.updated += other.updated;
    report.rejected.extend(other.rejected);
    if report.created + report.updated > merged {
        changes::bump(&mut tx)?;
    }
    tx.commit()?;
    Ok(())
}

/// Which half of a split chunk a sighting goes to: by its indicator, so each indicator's
/// sightings stay in one half and in their order.
fn half_of(sighting: &Sighting) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (sighting.kind, sighting.value.as_str()).hash(&mut hasher);
    hasher.finish() % 2
}

/// Takes the indicators' write lock for the caller's transaction, and has its statements
/// planned as look-ups by key ([`keyed_plans`]).
pub(super) fn lock_indicators(conn: &mut impl GenericClient) -> Result<()> {
    conn.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::INDICATORS])?;
    keyed_plans(conn)
}

/// What the library refuses outright (feeds are expected to hand over canonical values).
fn check(sighting: &Sighting) -> Result<(), String> {
    if sighting.value.trim().is_empty() {
        return Err("empty value".into());
    }
    if sighting.source.trim().is_empty() {
        return Err("empty source name".into());
    }
    match sighting.score {
        Some(score) if score > MAX_SCORE => {
            Err(format!("score {score} is above the maximum {MAX_SCORE}"))
        }
        _ => Ok(()),
    }
}

/// The chunk's sightings of one indicator, folded.
struct IndicatorFold {
    kind: Kind,
    value: String,
    display: Option<String>,
    asset: bool,
    description: Option<String>,
    first_seen: i64,
    last_seen: i64,
    valid_until: Option<i64>,
    n: i64,
}

/// The chunk's sightings of one indicator by one source, folded so that applying the fold
/// to the stored vote `o` gives what applying the sightings one by one gives. One by one, a
/// sighting `s` sets the revocation when `s.seen >= running last seen`, and its score (when
/// it has one) when that holds or the running score is none. Hence:
///
/// - revocation: the sightings that pass within the chunk ("winners": seen at least the
///   chunk's running maximum) are non-decreasing in `seen`, the last of them at the chunk's
///   maximum; against `o` they pass only if also `>= o.last_seen`. So the result is the last
///   winner's revocation when the chunk's last seen `>= o.last_seen`, else `o.revoked`;
/// - score: likewise with the winners that carry a score (`win_score` at `win_seen`, the last
///   one), except that a vote with no score yet takes the first score given whatever its
///   time (`first_score`). Against `o`: `win_score` if `win_seen >= o.last_seen`, else
///   `o.score` if any, else `first_score`. A new vote: `win_score`, else `first_score`.
struct VoteFold {
    id: usize,
    source: String,
    revoked: bool,
    win_score: Option<i32>,
    win_seen: Option<i64>,
    first_score: Option<i32>,
    first_seen: i64,
    last_seen: i64,
    reported_at: Option<i64>,
}

/// Merges `chunk` inside the caller's transaction (which holds the indicators' lock),
/// adding to `report`; `first_index` is the chunk's position for rejected sightings.
pub(super) fn merge_in(
    conn: &mut impl GenericClient,
    chunk: &[Sighting],
    now: DateTime<Utc>,
    first_index: usize,
    report: &mut MergeReport,
) -> Result<()> {
    let all = (0..chunk.len()).collect();
    merge_part(conn, chunk, all, now, first_index, report)
}

/// [`merge_in`] of the sightings of `chunk` at the positions `order` (every sighting of an
/// indicator, or none).
fn merge_part(
    conn: &mut impl GenericClient,
    chunk: &[Sighting],
    mut order: Vec<usize>,
    now: DateTime<Utc>,
    first_index: usize,
    report: &mut MergeReport,
) -> Result<()> {
    // SQLite's order: by kind and value, stable, so one indicator's sightings keep theirs.
    order.sort_by(|&a, &b| (chunk[a].kind, &chunk[a].value).cmp(&(chunk[b].kind, &chunk[b].value)));

    let mut indicators: Vec<IndicatorFold> = Vec::new();
    let mut by_value: HashMap<(Kind, &str), usize> = HashMap::new();
    let mut votes: Vec<VoteFold> = Vec::new();
    let mut by_source: HashMap<(usize, &str), usize> = HashMap::new();
    let mut tags: Vec<(usize, &str)> = Vec::new();
    let mut merged = 0usize;
    for i in order {
        let s = &chunk[i];
        if let Err(reason) = check(s) {
            report.rejected.push(Rejected {
                index: first_index + i,
                value: s.value.clone(),
                reason,
            });
            continue;
        }
        merged += 1;
        let seen = millis(s.seen_at);
        let valid_until = s.valid_until.map(millis);
        let at = *by_value
            .entry((s.kind, s.value.as_str()))
            .or_insert_with(|| {
                indicators.push(IndicatorFold {
                    kind: s.kind,
                    value: s.value.clone(),
                    display: None,
                    asset: false,
                    description: None,
                    first_seen: seen,
                    last_seen: seen,
                    valid_until: None,
                    n: 0,
                });
                indicators.len() - 1
            });
        let fold = &mut indicators[at];
        if s.display.is_some() {
            fold.display.clone_from(&s.display);
        }
        if s.description.is_some() {
            fold.description.clone_from(&s.description);
        }
        fold.asset |= s.class == Class::Asset;
        fold.first_seen = fold.first_seen.min(seen);
        fold.last_seen = fold.last_seen.max(seen);
        fold.valid_until = fold.valid_until.max(valid_until);
        fold.n += 1;

        let score = s.score.map(i32::from);
        let source = s.source.trim();
        match by_source.get(&(at, source)) {
            None => {
                by_source.insert((at, source), votes.len());
                votes.push(VoteFold {
                    id: at,
                    source: source.to_owned(),
                    revoked: s.revoked,
                    win_score: score,
                    win_seen: score.map(|_| seen),
                    first_score: score,
                    first_seen: seen,
                    last_seen: seen,
                    reported_at: s.reported_at.map(millis),
                });
            }
            Some(&v) => {
                let vote = &mut votes[v];
                if seen >= vote.last_seen {
                    vote.revoked = s.revoked;
                    if score.is_some() {
                        vote.win_score = score;
                        vote.win_seen = Some(seen);
                    }
                }
                if vote.first_score.is_none() {
                    vote.first_score = score;
                }
                vote.first_seen = vote.first_seen.min(seen);
                vote.last_seen = vote.last_seen.max(seen);
                vote.reported_at = vote.reported_at.max(s.reported_at.map(millis));
            }
        }
        for tag in s.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            tags.push((at, tag));
        }
    }
    if indicators.is_empty() {
        return Ok(());
    }

    // 2. New indicators, whole, in key order (as SQLite writes them).
    let now_ms = millis(now);
    let mut derived: Vec<(Option<i32>, bool)> = vec![(None, true); indicators.len()];
    let mut best_live: Vec<Option<i32>> = vec![None; indicators.len()];
    for vote in &votes {
        let score = vote.win_score.or(vote.first_score);
        let (best, all_revoked) = &mut derived[vote.id];
        *best = (*best).max(score);
        *all_revoked &= vote.revoked;
        if !vote.revoked {
            best_live[vote.id] = best_live[vote.id].max(score);
        }
    }
    let scores: Vec<Option<i32>> = derived
        .iter()
        .zip(&best_live)
        .map(|((best, _), live)| live.or(*best))
        .collect();
    let revoked: Vec<bool> = derived.iter().map(|(_, r)| *r).collect();
    let statuses: Vec<&str> = indicators
        .iter()
        .zip(&revoked)
        .map(|(f, revoked)| {
            if *revoked {
                "revoked"
            } else if f.valid_until.is_some_and(|until| until < now_ms) {
                "expired"
            } else {
                "active"
            }
        })
        .collect();
    let kinds: Vec<&str> = indicators.iter().map(|f| f.kind.as_str()).collect();
    let values: Vec<&str> = indicators.iter().map(|f| f.value.as_str()).collect();
    let displays: Vec<Option<&str>> = indicators.iter().map(|f| f.display.as_deref()).collect();
    let assets: Vec<bool> = indicators.iter().map(|f| f.asset).collect();
    let descriptions: Vec<Option<&str>> = indicators
        .iter()
        .map(|f| f.description.as_deref())
        .collect();
    let firsts: Vec<i64> = indicators.iter().map(|f| f.first_seen).collect();
    let lasts: Vec<i64> = indicators.iter().map(|f| f.last_seen).collect();
    let untils: Vec<Option<i64>> = indicators.iter().map(|f| f.valid_until).collect();
    let counts: Vec<i64> = indicators.iter().map(|f| f.n).collect();
    let inserted = conn.query(
        INSERT_NEW,
        &[
            &kinds,
            &values,
            &displays,
            &scores,
            &assets,
            &statuses,
            &revoked,
            &descriptions,
            &firsts,
            &lasts,
            &untils,
            &counts,
            &now_ms,
        ],
    )?;
    // Each row's id goes to its indicator's place (RETURNING promises no order).
    let places: HashMap<(&str, &str), usize> = kinds
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(at, (kind, value))| ((*kind, *value), at))
        .collect();
    let mut ids: Vec<Option<i64>> = vec![None; indicators.len()];
    let mut new = vec![false; indicators.len()];
    place_ids(&places, &inserted, true, &mut ids, &mut new)?;
    let created = inserted.len();
    report.created += created;
    report.updated += merged - created;

    // The rest were there already: their ids.
    let known: Vec<usize> = (0..indicators.len()).filter(|at| !new[*at]).collect();
    if !known.is_empty() {
        let known_kinds: Vec<&str> = known.iter().map(|at| kinds[*at]).collect();
        let known_values: Vec<&str> = known.iter().map(|at| values[*at]).collect();
        let found = conn.query(FIND_KNOWN, &[&known_kinds, &known_values])?;
        place_ids(&places, &found, false, &mut ids, &mut new)?;
    }
    let ids: Vec<i64> = ids
        .into_iter()
        .zip(&values)
        .map(|(id, value)| {
            id.ok_or_else(|| Error::corrupt("merge", *value, "neither inserted nor found"))
        })
        .collect::<Result<_>>()?;

    // 3. Votes: update the stored ones (only known indicators have any), then insert the rest.
    let vote_ids: Vec<i64> = votes.iter().map(|v| ids[v.id]).collect();
    let sources: Vec<&str> = votes.iter().map(|v| v.source.as_str()).collect();
    let vote_revoked: Vec<bool> = votes.iter().map(|v| v.revoked).collect();
    let win_scores: Vec<Option<i32>> = votes.iter().map(|v| v.win_score).collect();
    let win_seen: Vec<Option<i64>> = votes.iter().map(|v| v.win_seen).collect();
    let first_scores: Vec<Option<i32>> = votes.iter().map(|v| v.first_score).collect();
    let vote_firsts: Vec<i64> = votes.iter().map(|v| v.first_seen).collect();
    let vote_lasts: Vec<i64> = votes.iter().map(|v| v.last_seen).collect();
    let reported: Vec<Option<i64>> = votes.iter().map(|v| v.reported_at).collect();
    let params: [&(dyn postgres::types::ToSql + Sync); 9] = [
        &vote_ids,
        &sources,
        &vote_revoked,
        &win_scores,
        &win_seen,
        &first_scores,
        &vote_firsts,
        &vote_lasts,
        &reported,
    ];
    if !known.is_empty() {
        conn.execute(UPDATE_VOTES, &params)?;
    }
    conn.execute(INSERT_VOTES, &params)?;

    // 4. Tags.
    if !tags.is_empty() {
        tags.sort_unstable();
        tags.dedup();
        let tag_ids: Vec<i64> = tags.iter().map(|(at, _)| ids[*at]).collect();
        let tag_names: Vec<&str> = tags.iter().map(|(_, tag)| *tag).collect();
        conn.execute(INSERT_TAGS, &[&tag_ids, &tag_names])?;
    }

    // 5. Known indicators: fields merged, score, revocation and status from the votes.
    if !known.is_empty() {
        let pick = |at: &usize| &indicators[*at];
        conn.execute(
            UPDATE_KNOWN,
            &[
                &known.iter().map(|at| ids[*at]).collect::<Vec<i64>>(),
                &known
                    .iter()
                    .map(|at| pick(at).display.as_deref())
                    .collect::<Vec<_>>(),
                &known.iter().map(|at| pick(at).asset).collect::<Vec<_>>(),
                &known
                    .iter()
                    .map(|at| pick(at).description.as_deref())
                    .collect::<Vec<_>>(),
                &known
                    .iter()
                    .map(|at| pick(at).first_seen)
                    .collect::<Vec<_>>(),
                &known
                    .iter()
                    .map(|at| pick(at).last_seen)
                    .collect::<Vec<_>>(),
                &known
                    .iter()
                    .map(|at| pick(at).valid_until)
                    .collect::<Vec<_>>(),
                &known.iter().map(|at| pick(at).n).collect::<Vec<_>>(),
                &now_ms,
            ],
        )?;
    }
    Ok(())
}

/// Puts each row's id (`id, kind, value`) at its indicator's place.
fn place_ids(
    places: &HashMap<(&str, &str), usize>,
    rows: &[postgres::Row],
    created: bool,
    ids: &mut [Option<i64>],
    new: &mut [bool],
) -> Result<()> {
    for row in rows {
        let kind: &str = row.try_get(1)?;
        let value: &str = row.try_get(2)?;
        let at = places.get(&(kind, value)).copied().ok_or_else(|| {
            Error::corrupt(
                "merge",
                value,
                "the library returned a value it was not given",
            )
        })?;
        ids[at] = Some(row.try_get(0)?);
        new[at] = created;
    }
    Ok(())
}

pub(super) fn refresh_status(conn: &mut Client, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = conn.transaction()?;
    let changed = tx.execute(REFRESH_STATUS, &[&millis(now)])?;
    if changed > 0 {
        changes::bump(&mut tx)?;
    }
    tx.commit()?;
    Ok(usize::try_from(changed).unwrap_or(usize::MAX))
}

pub(super) fn set_disabled(
    conn: &mut Client,
    kind: Kind,
    value: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = conn.transaction()?;
    let changed = tx.execute(
        SET_DISABLED,
        &[&kind.as_str(), &value, &disabled, &millis(now)],
    )?;
    if changed > 0 {
        changes::bump(&mut tx)?;
    }
    tx.commit()?;
    Ok(changed > 0)
}
