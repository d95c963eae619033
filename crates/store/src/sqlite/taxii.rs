//! The TAXII publication table (migration 007): what each served collection has published,
//! and its changes in order.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::parse_kind;
use crate::error::{Error, Result};
use crate::taxii::{Page, Published};

const COLUMNS: &str = "kind, value, generation, digest, revoked, seq, added, object";

pub(super) fn published(conn: &Connection, collection: &str) -> Result<Vec<Published>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM taxii_objects WHERE collection = ?1"
    ))?;
    let rows = statement.query_map([collection], raw)?;
    rows.map(|row| decode(row?)).collect()
}

pub(super) fn publish(
    conn: &mut Connection,
    collection: &str,
    changes: &[Published],
    now: DateTime<Utc>,
) -> Result<usize> {
    let tx = conn.transaction()?;
    let last: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, added FROM taxii_objects WHERE collection = ?1
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([collection], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (mut seq, mut added) = last.unwrap_or((0, i64::MIN));
    added = added.max(now.timestamp_micros() - 1);
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO taxii_objects (collection, kind, value, generation, digest, revoked,
                                        seq, added, object)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (collection, kind, value) DO UPDATE SET
                generation = excluded.generation, digest = excluded.digest,
                revoked = excluded.revoked, seq = excluded.seq, added = excluded.added,
                object = excluded.object",
        )?;
        for change in changes {
            seq += 1;
            // One microsecond apart: `added_after` is exclusive, so a poll that stopped at any
            // object's time sees everything published after it, none twice.
            added += 1;
            upsert.execute(params![
                collection,
                change.kind.as_str(),
                change.value,
                change.generation,
                change.digest,
                change.revoked,
                seq,
                added,
                change.object,
            ])?;
        }
    }
    tx.commit()?;
    Ok(changes.len())
}

pub(super) fn page(
    conn: &Connection,
    collection: &str,
    added_after: Option<DateTime<Utc>>,
    after_seq: u64,
    limit: u64,
) -> Result<Page> {
    let after_seq = i64::try_from(after_seq)
        .map_err(|e| Error::corrupt("TAXII page", after_seq.to_string(), e))?;
    let limit = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM taxii_objects
         WHERE collection = ?1 AND added > ?2 AND seq > ?3
         ORDER BY seq LIMIT ?4"
    ))?;
    let after = added_after.map_or(i64::MIN, |at| at.timestamp_micros());
    let rows = statement.query_map(params![collection, after, after_seq, limit], raw)?;
    let mut objects = rows
        .map(|row| decode(row?))
        .collect::<Result<Vec<Published>>>()?;
    let more = objects.len() as i64 >= limit;
    if more {
        objects.pop();
    }
    Ok(Page { objects, more })
}

type RawRow = (String, String, i64, String, bool, i64, i64, String);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn decode(
    (kind, value, generation, digest, revoked, seq, added, object): RawRow,
) -> Result<Published> {
    Ok(Published {
        kind: parse_kind(&kind)?,
        value,
        generation: u32::try_from(generation)
            .map_err(|e| Error::corrupt("TAXII generation", generation.to_string(), e))?,
        digest,
        revoked,
        seq: u64::try_from(seq).map_err(|e| Error::corrupt("TAXII seq", seq.to_string(), e))?,
        added: DateTime::from_timestamp_micros(added)
            .ok_or_else(|| Error::corrupt("TAXII added", added.to_string(), "out of range"))?,
        object,
    })
}
