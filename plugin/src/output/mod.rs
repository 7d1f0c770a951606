//! Rendering, as kubectl renders: tables, JSON/YAML, names, JSONPath, Go templates and
//! custom columns. Renderers take plain values and a writer, so tests compare strings.

mod columns;
mod data;
mod format;
pub mod jsonpath;
pub mod printer;
mod summary;
mod table;
mod template;

pub use columns::Columns;
pub use data::{List, ShownImage, list, list_of, shown_meta, write_data};
pub use format::{Output, OutputParser, outputs};
pub use jsonpath::Template;
pub use printer::{Kind, Options, Printer, print_templated};
pub use summary::ImageSummary;
pub use table::{Cell, Style, Table, Widths};
pub use template::GoTemplate;

use std::io;
use vmimage_shared::index::ImageEntry;

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
    fn ages_read_like_kubectl() {
        assert_eq!(age(None), "<unknown>");
        assert_eq!(age(Some("not a time")), "<unknown>");
        assert!(age(Some("2000-01-01T00:00:00Z")).ends_with('y'));
    }
}
