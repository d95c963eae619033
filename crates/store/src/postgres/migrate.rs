//! Schema migrations of PostgreSQL libraries, embedded in the binary and applied in order on
//! connect. The versions applied are rows of `iocsync_schema`; a library migrated by a newer
//! iocsync (a version this binary does not know) is refused rather than misread.
//!
//! Everything runs in one transaction holding `pg_advisory_xact_lock(MIGRATION_LOCK)`, so
//! processes connecting to a fresh database at once migrate it once: the second waits for the
//! first to commit, then finds nothing to do.

use postgres::Client;

use super::locks;
use crate::error::{Error, Result};

/// Every migration, in order. Never edit a released one: add a new file.
pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_library",
        include_str!("../../migrations/postgres/001_library.sql"),
    ),
    (
        "002_merge_speed",
        include_str!("../../migrations/postgres/002_merge_speed.sql"),
    ),
    (
        "003_kind_counts",
        include_str!("../../migrations/postgres/003_kind_counts.sql"),
    ),
];

/// The schema version this binary brings a library to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The number of migrations applied (0 for an empty database).
pub(super) fn version(client: &mut Client) -> Result<i64> {
    let exists: bool = client
        .query_one("SELECT to_regclass('iocsync_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0)::int8 FROM iocsync_schema",
            &[],
        )?
        .try_get(0)?)
}

/// Applies the pending migrations in one transaction: a failure leaves the database as it was.
pub(super) fn apply(client: &mut Client, url_redacted: &str) -> Result<()> {
    let known = SCHEMA_VERSION;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::MIGRATION])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS iocsync_schema (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let found: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0)::int8 FROM iocsync_schema",
            &[],
        )?
        .try_get(0)?;
    if found > known {
        return Err(Error::TooNewSchema {
            url_redacted: url_redacted.to_owned(),
            found,
            known,
        });
    }
    for (number, (name, sql)) in (1i32..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let fail = |source| Error::PostgresMigration {
            url_redacted: url_redacted.to_owned(),
            name,
            source,
        };
        tx.batch_execute(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO iocsync_schema (version, name) VALUES ($1, $2)",
            &[&number, name],
        )
        .map_err(fail)?;
    }
    tx.commit()?;
    Ok(())
}
