//! Rendering: kubectl-style tables, JSON/YAML, names. Renderers take plain rows and a
//! writer, so tests compare strings.

use crate::cli::Format;
use serde::Serialize;
use std::io::{self, Write};
use vmimage_shared::{api::Image, index::ImageEntry};

/// A table: header and rows of cells, printed with two spaces of padding like kubectl.
#[derive(Debug, Default)]
pub struct Table {
    /// Column titles (upper case).
    pub header: Vec<&'static str>,
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

impl Table {
    /// Writes the table; `color` adds ANSI colours (only on a terminal, never with NO_COLOR).
    pub fn write(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let last = widths.len().saturating_sub(1);
        let line = |out: &mut dyn Write, cells: Vec<Cell>| -> io::Result<()> {
            for (i, cell) in cells.iter().enumerate() {
                let pad = if i == last {
                    0
                } else {
                    widths[i] - cell.text.chars().count() + 3
                };
                let (start, end) = match (color, cell.style) {
                    (true, Style::Warn) => ("\x1b[33m", "\x1b[0m"),
                    (true, Style::Bad) => ("\x1b[31m", "\x1b[0m"),
                    _ => ("", ""),
                };
                write!(out, "{start}{}{end}{:pad$}", cell.text, "")?;
            }
            writeln!(out)
        };
        line(out, self.header.iter().map(|h| Cell::from(*h)).collect())?;
        for row in &self.rows {
            line(out, row.clone())?;
        }
        Ok(())
    }
}

/// Standard output, buffered: a 100,000-row answer is written in large blocks, not a
/// system call per line. Flush it before returning, so a write error is reported.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// Whether to colour stdout: a terminal and no `NO_COLOR`.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
}

/// Prints a value as JSON or YAML.
pub fn write_data(out: &mut impl Write, format: Format, value: &impl Serialize) -> io::Result<()> {
    match format {
        Format::Yaml => {
            let text = serde_norway::to_string(value).map_err(io::Error::other)?;
            out.write_all(text.as_bytes())
        }
        _ => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)
        }
    }
}

/// `kind.group/name`, as `kubectl get -o name` prints it.
pub fn resource_name(entry: &ImageEntry) -> String {
    format!(
        "{}.{}/{}",
        entry.kind().as_str().to_lowercase(),
        vmimage_shared::api::GROUP,
        entry.name
    )
}

/// Where an image lives, for tables: its namespace or `cluster`.
pub fn scope_cell(entry: &ImageEntry) -> String {
    entry
        .scope
        .namespace()
        .map_or_else(|| "cluster".to_string(), str::to_string)
}

/// A Kubernetes List of full objects, as `kubectl get -o yaml` prints it; serialized
/// straight from the objects (no intermediate JSON tree of 100,000 images).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct List<'a> {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<&'a Image>,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// The List of `objects`.
pub fn list_of(objects: Vec<&Image>) -> List<'_> {
    List {
        api_version: "v1",
        kind: "List",
        items: objects,
        metadata: serde_json::Map::new(),
    }
}

/// Age like kubectl (`5d`, `3h`, `10m`, `42s`) from an RFC 3339 timestamp.
pub fn age(created: Option<&str>) -> String {
    let Some(ts) = created.and_then(|c| c.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - ts.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s if s < 86400 * 365 * 2 => format!("{}d", s / 86400),
        s => format!("{}y", s / (86400 * 365)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_like_kubectl() {
        let table = Table {
            header: vec!["NAME", "DISPLAY NAME"],
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
    }

    #[test]
    fn colour_wraps_only_styled_cells() {
        let table = Table {
            header: vec!["A"],
            rows: vec![vec![Cell::styled("x", Style::Bad)]],
        };
        let mut out = Vec::new();
        table.write(&mut out, true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A\n\x1b[31mx\x1b[0m\n");
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(None), "<unknown>");
        assert_eq!(age(Some("not a time")), "<unknown>");
        assert!(age(Some("2000-01-01T00:00:00Z")).ends_with('y'));
    }
}
