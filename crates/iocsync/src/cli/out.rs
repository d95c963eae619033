//! Standard output for every command. A pipe closed early (`iocsync runs | head -1`) ends the
//! command quietly with exit 0 instead of a panic; `--quiet` silences everything but errors
//! (and the JSON a command was asked for); listings that can be long are printed row by row,
//! so memory does not grow with the input: aligned columns on a terminal, tab-separated values
//! when piped (one header line, then one line per row, tabs and line breaks in cells replaced
//! by spaces).

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: human output is not printed.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Passes an output error on, except a closed pipe: the reader has what it wanted, so the
/// process ends at once with exit 0.
pub fn check(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}

/// Writes one line of human output (nothing with `--quiet`).
pub fn line(args: fmt::Arguments<'_>) {
    if quiet() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(error) = check(writeln!(out, "{args}")) {
        // Stdout is gone for another reason (a full disk): say so once where errors go.
        eprintln!("error: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

/// Prints a line of human output: `outln!("{} added", n)`.
macro_rules! outln {
    () => {
        $crate::cli::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes `value` as pretty JSON: data a command was asked for, printed even with `--quiet`.
/// Buffered: stdout is line-buffered, and a plan of 60,000 changes is a million lines (one
/// write each made printing it cost as much as planning it).
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    check(written)?;
    Ok(())
}

/// A listing printed as it is produced. On a terminal each column but the last is padded (or
/// cut, with `…`) to its width; piped, cells are tab-separated.
pub struct Rows {
    widths: Vec<usize>,
    terminal: bool,
    out: io::BufWriter<io::StdoutLock<'static>>,
    silent: bool,
}

impl Rows {
    /// Starts a listing with these column names and widths (on a terminal).
    pub fn new(columns: &[(&str, usize)]) -> io::Result<Rows> {
        let mut rows = Rows {
            widths: columns.iter().map(|(_, width)| *width).collect(),
            terminal: io::stdout().is_terminal(),
            out: io::BufWriter::with_capacity(1 << 16, io::stdout().lock()),
            silent: quiet(),
        };
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        rows.row(&names)?;
        Ok(rows)
    }

    /// Prints one row (a closed pipe ends the process quietly).
    pub fn row(&mut self, cells: &[&str]) -> io::Result<()> {
        if self.silent {
            return Ok(());
        }
        let line = if self.terminal {
            self.aligned(cells)
        } else {
            cells
                .iter()
                .map(|cell| flat(cell))
                .collect::<Vec<_>>()
                .join("\t")
        };
        check(writeln!(self.out, "{line}"))
    }

    fn aligned(&self, cells: &[&str]) -> String {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = flat(cell);
            match self.widths.get(i).filter(|_| i + 1 < cells.len()) {
                Some(&width) => {
                    let shown: String = if cell.chars().count() > width {
                        cell.chars()
                            .take(width.saturating_sub(1))
                            .chain(['…'])
                            .collect()
                    } else {
                        cell
                    };
                    line.push_str(&format!("{shown:<width$}  "));
                }
                None => line.push_str(&cell),
            }
        }
        line.trim_end().to_owned()
    }

    /// Flushes what is left.
    pub fn finish(mut self) -> io::Result<()> {
        check(self.out.flush())
    }
}

/// A cell on one line: tabs and line breaks become spaces.
fn flat(cell: &str) -> String {
    cell.replace(['\t', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_on_one_line_and_columns_align() {
        assert_eq!(flat("a\tb\nc"), "a b c");
        let rows = Rows {
            widths: vec![4, 3, 0],
            terminal: true,
            out: io::BufWriter::new(io::stdout().lock()),
            silent: true,
        };
        assert_eq!(
            rows.aligned(&["ab", "abcdef", "last one"]),
            "ab    ab…  last one"
        );
    }
}
