//! The TAXII publication table in PostgreSQL: what each served collection has published, and
//! its changes in order. A publication numbers its changes under an advisory lock on the
//! collection, so two publishers never hand out the same `seq`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indicator::Kind;
use postgres::{Client, Row};

use super::{int8, locks, parse_kind};
use crate::error::{Error, Result};
use crate::taxii::{Page, Published};

const COLUMNS: &str = "kind, value, generation, digest, revoked, seq, added, object";

pub(super) fn published(conn: &mut Client, collection: &str) -> Result<Vec<Published>> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM taxii_objects WHERE collection = $1"),
        &[&collection],
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(super) fn publish(
    conn: &mut Client,
    collection: &str,
    changes: &[Published],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut tx = conn.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&locks::TAXII, &collection],
    )?;
    let last = tx.query_opt(
        "SELECT seq, added FROM taxii_objects WHERE collection = $1 ORDER BY seq DESC LIMIT 1",
        &[&collection],
    )?;
    let (mut seq, mut added) = match last {
        Some(row) => (row.try_get::<_, i64>(0)?, row.try_get::<_, i64>(1)?),
        None => (0, i64::MIN),
    };
    added = added.max(now.timestamp_micros() - 1);
    // Each change takes the next seq and a time one microsecond later, as one statement per
    // change would; a value changed twice in one publication keeps its last version.
    let mut latest: HashMap<(Kind, &str), (usize, i64, i64)> = HashMap::new();
    for (at, change) in changes.iter().enumerate() {
        seq += 1;
        added += 1;
        latest.insert((change.kind, change.value.as_str()), (at, seq, added));
    }
    let mut rows: Vec<(usize, i64, i64)> = latest.into_values().collect();
    rows.sort_unstable();
    if !rows.is_empty() {
        let kinds: Vec<&str> = rows.iter().map(|r| changes[r.0].kind.as_str()).collect();
        let values: Vec<&str> = rows.iter().map(|r| changes[r.0].value.as_str()).collect();
        let generations: Vec<i64> = rows
            .iter()
            .map(|r| i64::from(changes[r.0].generation))
            .collect();
        let digests: Vec<&str> = rows.iter().map(|r| changes[r.0].digest.as_str()).collect();
        let revoked: Vec<bool> = rows.iter().map(|r| changes[r.0].revoked).collect();
        let seqs: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let addeds: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let objects: Vec<&str> = rows.iter().map(|r| changes[r.0].object.as_str()).collect();
        tx.execute(
            "INSERT INTO taxii_objects AS o (collection, kind, value, generation, digest, revoked,
                                             seq, added, object)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[], $6::bool[],
                                      $7::int8[], $8::int8[], $9::text[])
             ON CONFLICT (collection, kind, value) DO UPDATE SET
                generation = excluded.generation, digest = excluded.digest,
                revoked = excluded.revoked, seq = excluded.seq, added = excluded.added,
                object = excluded.object",
            &[
                &collection,
                &kinds,
                &values,
                &generations,
                &digests,
                &revoked,
                &seqs,
                &addeds,
                &objects,
            ],
        )?;
    }
    tx.commit()?;
    Ok(changes.len())
}

pub(super) fn page(
    conn: &mut Client,
    collection: &str,
    added_after: Option<DateTime<Utc>>,
    after_seq: u64,
    limit: u64,
) -> Result<Page> {
    let after_seq = i64::try_from(after_seq)
        .map_err(|e| Error::corrupt("TAXII page", after_seq.to_string(), e))?;
    let limit = int8(limit.saturating_add(1));
    let after = added_after.map_or(i64::MIN, |at| at.timestamp_micros());
    let mut objects = conn
        .query(
            &format!(
                "SELECT {COLUMNS} FROM taxii_objects
                 WHERE collection = $1 AND added > $2 AND seq > $3
                 ORDER BY seq LIMIT $4"
            ),
            &[&collection, &after, &after_seq, &limit],
        )?
        .iter()
        .map(decode)
        .collect::<Result<Vec<Published>>>()?;
    let more = objects.len() as i64 >= limit;
    if more {
        objects.pop();
    }
    Ok(Page { objects, more })
}

fn decode(row: &Row) -> Result<Published> {
    let generation: i64 = row.try_get(2)?;
    let seq: i64 = row.try_get(5)?;
    let added: i64 = row.try_get(6)?;
    Ok(Published {
        kind: parse_kind(row.try_get(0)?)?,
        value: row.try_get(1)?,
        generation: u32::try_from(generation)
            .map_err(|e| Error::corrupt("TAXII generation", generation.to_string(), e))?,
        digest: row.try_get(3)?,
        revoked: row.try_get(4)?,
        seq: u64::try_from(seq).map_err(|e| Error::corrupt("TAXII seq", seq.to_string(), e))?,
        added: DateTime::from_timestamp_micros(added)
            .ok_or_else(|| Error::corrupt("TAXII added", added.to_string(), "out of range"))?,
        object: row.try_get(7)?,
    })
}
