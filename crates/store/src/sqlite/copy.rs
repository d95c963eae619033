//! A copy ([`crate::copy`]) read from or written into SQLite: cells are SQLite's own values,
//! and the copy is one `IMMEDIATE` transaction, rolled back when the writer is dropped
//! unfinished.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::copy::{Cell, CopyWriter, TABLES, Table, insert_sql, not_empty, page_sql};
use crate::error::Result;

fn value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(n) => Value::Integer(*n),
        Cell::Real(x) => Value::Real(*x),
        Cell::Text(text) => Value::Text(text.clone()),
        Cell::Blob(bytes) => Value::Blob(bytes.clone()),
    }
}

fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Integer(n) => Cell::Int(n),
        Value::Real(x) => Cell::Real(x),
        Value::Text(text) => Cell::Text(text),
        Value::Blob(bytes) => Cell::Blob(bytes),
    }
}

pub(super) fn export_page(
    conn: &Connection,
    table: &Table,
    after: Option<&[Cell]>,
    limit: u64,
) -> Result<Vec<Vec<Cell>>> {
    let sql = page_sql(table, after.is_some(), |i| format!("?{i}"), limit);
    let mut statement = conn.prepare_cached(&sql)?;
    let key: Vec<Value> = after.unwrap_or_default().iter().map(value).collect();
    let width = table.columns.len();
    let rows = statement.query_map(params_from_iter(key), |row| {
        (0..width)
            .map(|i| row.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    })?;
    rows.map(|row| Ok(row?.into_iter().map(cell).collect()))
        .collect()
}

/// A copy being written into SQLite.
pub(super) struct SqliteCopy<'c> {
    conn: &'c mut Connection,
    open: bool,
}

impl<'c> SqliteCopy<'c> {
    /// Opens the transaction, checks the library is empty and clears its own id and counter.
    pub(super) fn begin(conn: &'c mut Connection) -> Result<Self> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let copy = SqliteCopy { conn, open: true };
        for table in TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{}\")", table.name);
            let any: bool = copy.conn.query_row(&sql, [], |row| row.get(0))?;
            if any && !table.singleton {
                return Err(not_empty(table));
            }
            if table.singleton {
                copy.conn
                    .execute(&format!("DELETE FROM \"{}\"", table.name), [])?;
            }
        }
        Ok(copy)
    }
}

impl CopyWriter for SqliteCopy<'_> {
    fn write(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let sql = insert_sql(table, "", |i| format!("?{i}"));
        let mut statement = self.conn.prepare_cached(&sql)?;
        for row in rows {
            statement.execute(params_from_iter(row.iter().map(value)))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteCopy<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
