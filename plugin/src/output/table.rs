//! kubectl-style tables: upper-case headers, columns padded to three spaces.

use std::io::{self, Write};

/// A table: header and rows of cells.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Cells, one vector per row.
    pub rows: Vec<Vec<Cell>>,
}

/// One cell, with an optional emphasis shown in colour on a terminal.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// How to emphasise it.
    pub style: Style,
}

/// Cell emphasis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Normal text.
    Plain,
    /// A warning (ambiguous name).
    Warn,
    /// A problem (not Ready).
    Bad,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self {
            text,
            style: Style::Plain,
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self {
            text: text.to_string(),
            style: Style::Plain,
        }
    }
}

impl Cell {
    /// A cell with emphasis.
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

/// Column widths, kept after the table so rows printed later (`--watch`) line up.
#[derive(Debug, Clone, Default)]
pub struct Widths(Vec<usize>);

impl Table {
    /// An empty table with these headers.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Writes header and rows; `color` adds ANSI colours (only on a terminal, never with NO_COLOR).
    pub fn write(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        self.write_with(out, color, true).map(|_| ())
    }

    /// Writes the rows, and the header unless `headers` is false (`--no-headers`, where, as
    /// with kubectl, only the rows set the widths).
    pub fn write_with(&self, out: &mut impl Write, color: bool, headers: bool) -> io::Result<Widths> {
        let mut widths = Widths::of_header(&self.header, headers);
        for row in &self.rows {
            widths.fit(row);
        }
        if headers {
            let header: Vec<Cell> = self.header.iter().map(|h| Cell::from(h.as_str())).collect();
            widths.write_row(out, &header, color)?;
        }
        for row in &self.rows {
            widths.write_row(out, row, color)?;
        }
        Ok(widths)
    }
}

impl Widths {
    /// The widths of `header` alone, or none (`--no-headers`: only the rows count).
    pub fn of_header(header: &[String], headers: bool) -> Self {
        Widths(match headers {
            true => header.iter().map(|h| h.chars().count()).collect(),
            false => vec![0; header.len()],
        })
    }

    /// Widens the columns to fit `row`.
    pub fn fit(&mut self, row: &[Cell]) {
        self.widen(row.iter().map(|cell| cell.text.chars().count()));
    }

    /// Widens the columns to fit `other`'s.
    pub fn merge(&mut self, other: &Widths) {
        self.widen(other.0.iter().copied());
    }

    /// Widens column `i` to the `i`th of `widths`, adding columns past the last.
    fn widen(&mut self, widths: impl Iterator<Item = usize>) {
        for (i, w) in widths.enumerate() {
            match self.0.get_mut(i) {
                Some(have) => *have = (*have).max(w),
                None => self.0.push(w),
            }
        }
    }

    /// Writes one row padded to these widths (a wider cell pushes the rest right).
    pub fn write_row(&self, out: &mut impl Write, row: &[Cell], color: bool) -> io::Result<()> {
        let last = row.len().saturating_sub(1);
        for (i, Cell { text, style }) in row.iter().enumerate() {
            let width = self.0.get(i).copied().unwrap_or(0);
            let pad = if i == last {
                0
            } else {
                width.saturating_sub(text.chars().count()) + 3
            };
            let (start, end) = match (color, *style) {
                (true, Style::Warn) => ("\x1b[33m", "\x1b[0m"),
                (true, Style::Bad) => ("\x1b[31m", "\x1b[0m"),
                _ => ("", ""),
            };
            // NB: plain writes, not `write!`: formatting pads a char at a time, and a
            // 100,000-row table spent about 6% of its time there.
            out.write_all(start.as_bytes())?;
            out.write_all(text.as_bytes())?;
            out.write_all(end.as_bytes())?;
            write_spaces(out, pad)?;
        }
        out.write_all(b"\n")
    }
}

fn write_spaces(out: &mut impl Write, mut n: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    while n > 0 {
        let now = n.min(SPACES.len());
        out.write_all(&SPACES[..now])?;
        n -= now;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_like_kubectl() {
        let table = Table {
            header: vec!["NAME".into(), "DISPLAY NAME".into()],
            rows: vec![
                vec!["vmi-1".into(), "ubuntu".into()],
                vec!["vmi-22222".into(), "x".into()],
            ],
        };
        let mut out = Vec::new();
        table.write(&mut out, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME        DISPLAY NAME\nvmi-1       ubuntu\nvmi-22222   x\n"
        );
        let mut out = Vec::new();
        let widths = table.write_with(&mut out, false, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "vmi-1       ubuntu\nvmi-22222   x\n"
        );
        let mut out = Vec::new();
        widths
            .write_row(&mut out, &["vmi-3".into(), "y".into()], false)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "vmi-3       y\n");
    }

    #[test]
    fn colour_wraps_only_styled_cells() {
        let table = Table {
            header: vec!["A".into()],
            rows: vec![vec![Cell::styled("x", Style::Bad)]],
        };
        let mut out = Vec::new();
        table.write(&mut out, true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A\n\x1b[31mx\x1b[0m\n");
    }
}
