//! `-o custom-columns=NAME:.path,…` and `custom-columns-file=`, as kubectl reads them:
//! headers as written, each cell the path's results joined by commas (`<none>` if none).

use super::jsonpath::{self, Path, Template};
use serde_json::Value;

/// Parsed column specs.
#[derive(Debug, Clone)]
pub struct Columns {
    /// `(header, path)` pairs, in order.
    columns: Vec<(String, Path)>,
}

impl Columns {
    /// `NAME:.metadata.name,DISPLAY:.status.name`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec.trim().is_empty() {
            return Err("custom-columns format specified but no custom columns given".into());
        }
        let columns = spec
            .split(',')
            .map(|part| {
                let (header, path) = part.split_once(':').ok_or_else(|| {
                    format!("unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
                })?;
                Ok((header.to_string(), parse_path(path)?))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { columns })
    }

    /// A file of two lines: the headers, then their paths, each separated by white space.
    pub fn parse_file(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let (Some(headers), Some(paths)) = (lines.next(), lines.next()) else {
            return Err(
                "a custom-columns file needs two lines: the headers, then their JSONPath expressions".into(),
            );
        };
        let headers: Vec<&str> = headers.split_whitespace().collect();
        let paths: Vec<&str> = paths.split_whitespace().collect();
        if headers.len() != paths.len() {
            return Err(format!(
                "expected {} JSONPath expressions (one per header), found {}",
                headers.len(),
                paths.len()
            ));
        }
        let columns = headers
            .into_iter()
            .zip(paths)
            .map(|(h, p)| Ok((h.to_string(), parse_path(p)?)))
            .collect::<Result<_, String>>()?;
        Ok(Self { columns })
    }

    /// The headers.
    pub fn headers(&self) -> Vec<String> {
        self.columns.iter().map(|(h, _)| h.clone()).collect()
    }

    /// One row for `object`.
    pub fn row(&self, object: &Value) -> Result<Vec<String>, String> {
        self.columns
            .iter()
            .map(|(_, path)| {
                let values = path.eval(object, object).map_err(|e| e.to_string())?;
                Ok(if values.is_empty() {
                    "<none>".to_string()
                } else {
                    values
                        .iter()
                        .map(|v| jsonpath::go_value(v))
                        .collect::<Vec<_>>()
                        .join(",")
                })
            })
            .collect()
    }
}

fn parse_path(path: &str) -> Result<Path, String> {
    Template::relaxed(path).map_err(|e| format!("custom-columns {path:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_and_files_give_headers_and_cells() {
        let object = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "status": {"capabilities": ["c1", "c2"]}});
        let c = Columns::parse("NAME:.metadata.name,CAPS:.status.capabilities[*],NONE:.spec.x").unwrap();
        assert_eq!(c.headers(), ["NAME", "CAPS", "NONE"]);
        assert_eq!(c.row(&object).unwrap(), ["x", "c1,c2", "<none>"]);
        let c = Columns::parse_file("NAME   CAPS\nmetadata.name {.status.capabilities}\n").unwrap();
        assert_eq!(c.row(&object).unwrap(), ["x", "[c1 c2]"]);
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        assert!(
            Columns::parse("NAME")
                .unwrap_err()
                .contains("expected <header>:<json-path-expr>")
        );
        assert!(Columns::parse("").is_err());
        assert!(
            Columns::parse_file("A B\n.a\n")
                .unwrap_err()
                .contains("expected 2")
        );
        assert!(Columns::parse("A:{.a").is_err());
    }
}
