//! Schema migrations, embedded in the binary and applied in order. The number applied is kept
//! in `PRAGMA user_version`, so an existing file is brought up to date on open and a file from
//! a newer iocsync is refused rather than misread.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// Every migration, in order. Never edit a released one: add a new file.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_library",
        include_str!("../../migrations/001_library.sql"),
    ),
    (
        "002_engine",
        include_str!("../../migrations/002_engine.sql"),
    ),
    (
        "003_hooks_leases",
        include_str!("../../migrations/003_hooks_leases.sql"),
    ),
    (
        "004_ownership",
        include_str!("../../migrations/004_ownership.sql"),
    ),
    ("005_feeds", include_str!("../../migrations/005_feeds.sql")),
    ("006_scale", include_str!("../../migrations/006_scale.sql")),
    ("007_taxii", include_str!("../../migrations/007_taxii.sql")),
    (
        "008_run_items",
        include_str!("../../migrations/008_run_items.sql"),
    ),
    (
        "009_rank_counts",
        include_str!("../../migrations/009_rank_counts.sql"),
    ),
    (
        "010_kind_counts",
        include_str!("../../migrations/010_kind_counts.sql"),
    ),
];

pub(super) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the pending migrations in one transaction: a failure leaves the file as it was.
pub(super) fn apply(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    // IMMEDIATE: two processes opening a fresh file at once must not both migrate it.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let found = version(&tx)?;
    if found < 0 {
        return Err(Error::corrupt(
            "schema version",
            found.to_string(),
            "PRAGMA user_version is negative: this file was not written by iocsync",
        ));
    }
    if found > known {
        return Err(Error::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (number, (name, sql)) in (1..).zip(MIGRATIONS).skip(found as usize) {
        let fail = |source| Error::Migration {
            path: path.to_path_buf(),
            name,
            source,
        };
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", number)
            .map_err(fail)?;
    }
    tx.commit()?;
    Ok(())
}
