//! A copy ([`crate::copy`]) read from or written into PostgreSQL: each column's type says how
//! a cell is read and written (booleans as 0 and 1, as SQLite keeps them); rows are written
//! several hundred per statement; the copy is one transaction, under the indicators' advisory
//! lock, rolled back when the writer is dropped unfinished. Tables whose `id` is an identity
//! take the copied ids (`OVERRIDING SYSTEM VALUE`) and their sequence is moved past them.

use postgres::types::{ToSql, Type};
use postgres::{Client, Row};

use super::{merge, off_runtime};
use crate::copy::{Cell, CopyWriter, TABLES, Table, insert_sql, not_empty, page_sql};
use crate::error::{Error, Result};

/// Bind parameters per statement: PostgreSQL takes at most 65,535.
const MAX_PARAMS: usize = 60_000;

type Param = Box<dyn ToSql + Sync + Send>;

fn read(row: &Row, i: usize) -> Result<Cell> {
    let ty = row.columns()[i].type_();
    let cell = match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| Cell::Int(i64::from(b))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| Cell::Int(n.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Cell::Int(n.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Blob),
        _ => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// `cell` as a parameter of type `ty` for `table.column`.
fn param(cell: &Cell, ty: &Type, table: &Table, column: usize) -> Result<Param> {
    let wrong = |reason: String| Error::CopyCell {
        table: table.name,
        column: table.columns[column],
        reason,
    };
    let int = |cell: &Cell| match cell {
        Cell::Null => Ok(None),
        Cell::Int(n) => Ok(Some(*n)),
        other => Err(wrong(format!("{other:?} where an integer belongs"))),
    };
    Ok(match *ty {
        Type::BOOL => Box::new(int(cell)?.map(|n| n != 0)),
        Type::INT2 | Type::INT4 => {
            let narrow = int(cell)?
                .map(i32::try_from)
                .transpose()
                .map_err(|e| wrong(e.to_string()))?;
            Box::new(narrow)
        }
        Type::INT8 => Box::new(int(cell)?),
        Type::FLOAT8 => match cell {
            Cell::Null => Box::new(None::<f64>),
            Cell::Real(x) => Box::new(Some(*x)),
            other => return Err(wrong(format!("{other:?} where a number belongs"))),
        },
        Type::BYTEA => match cell {
            Cell::Null => Box::new(None::<Vec<u8>>),
            Cell::Blob(bytes) => Box::new(Some(bytes.clone())),
            other => return Err(wrong(format!("{other:?} where bytes belong"))),
        },
        _ => match cell {
            Cell::Null => Box::new(None::<String>),
            Cell::Text(text) => Box::new(Some(text.clone())),
            other => return Err(wrong(format!("{other:?} where text belongs"))),
        },
    })
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub(super) fn export_page(
    conn: &mut Client,
    table: &Table,
    after: Option<&[Cell]>,
    limit: u64,
) -> Result<Vec<Vec<Cell>>> {
    let sql = page_sql(table, after.is_some(), |i| format!("${i}"), limit);
    let statement = conn.prepare(&sql)?;
    let key = after
        .unwrap_or_default()
        .iter()
        .zip(statement.params())
        .enumerate()
        .map(|(i, (cell, ty))| param(cell, ty, table, i))
        .collect::<Result<Vec<_>>>()?;
    let rows = conn.query(&statement, &refs(&key))?;
    rows.iter()
        .map(|row| (0..table.columns.len()).map(|i| read(row, i)).collect())
        .collect()
}

/// A copy being written into PostgreSQL.
pub(super) struct PostgresCopy<'c> {
    conn: &'c mut Client,
    open: bool,
}

impl<'c> PostgresCopy<'c> {
    /// Opens the transaction, checks the library is empty and clears its own id and counter.
    pub(super) fn begin(conn: &'c mut Client) -> Result<Self> {
        conn.batch_execute("BEGIN")?;
        let copy = PostgresCopy { conn, open: true };
        merge::lock_indicators(copy.conn)?;
        for table in TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{}\")", table.name);
            let any: bool = copy.conn.query_one(&sql, &[])?.try_get(0)?;
            if any && !table.singleton {
                return Err(not_empty(table));
            }
            if table.singleton {
                copy.conn
                    .execute(&format!("DELETE FROM \"{}\"", table.name), &[])?;
            }
        }
        Ok(copy)
    }

    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let width = table.columns.len();
        let overriding = if table.generated_id {
            "OVERRIDING SYSTEM VALUE "
        } else {
            ""
        };
        for chunk in rows.chunks(MAX_PARAMS / width) {
            let one = insert_sql(table, overriding, |i| format!("${i}"));
            let more: Vec<String> = (1..chunk.len())
                .map(|r| {
                    let marks: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = if more.is_empty() {
                one
            } else {
                format!("{one}, {}", more.join(", "))
            };
            let statement = self.conn.prepare(&sql)?;
            let types = statement.params();
            let params = chunk
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, cell)| param(cell, &types[i], table, i % width))
                .collect::<Result<Vec<_>>>()?;
            self.conn.execute(&statement, &refs(&params))?;
        }
        Ok(())
    }

    /// Moves each identity's sequence past the copied ids, then commits.
    fn commit(&mut self) -> Result<()> {
        for table in TABLES.iter().filter(|t| t.generated_id) {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('\"{0}\"', 'id'),
                               COALESCE((SELECT max(id) FROM \"{0}\"), 0) + 1, false)",
                table.name
            );
            self.conn.query_one(&sql, &[])?;
        }
        self.conn.batch_execute("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl CopyWriter for PostgresCopy<'_> {
    fn write(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        off_runtime(|| self.write_rows(table, rows))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        off_runtime(|| self.commit())
    }
}

impl Drop for PostgresCopy<'_> {
    fn drop(&mut self) {
        if self.open {
            let conn = &mut *self.conn;
            off_runtime(|| {
                let _ = conn.batch_execute("ROLLBACK");
            });
        }
    }
}
