//! The names and display names of a scope's images, read as the API server's Table (the
//! printer columns `kubectl get` shows) rather than as whole objects. The server still
//! reads every object, but sends about an eighth of the bytes and nobody parses the
//! rest; `resolve` then reads in full only the few images a reference can name.

use serde::Deserialize;
use std::sync::Arc;
use vmimage_shared::{
    Index,
    index::{ImageEntry, Scope},
    resolve::{self, qualified},
};

/// What a Table read of one page asks for: rows of printer cells, no object in them.
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// The printer columns that hold the display name (`status.imageName` in v1alpha1), in the
/// order the image model prefers them. The API server describes a CRD column by its
/// JSONPath unless the CRD gives its own description; then the column is not recognised
/// and the sketch is not used.
const DISPLAY_COLUMNS: [&str; 2] = [
    "Custom resource definition column (in JSONPath format): .status.name",
    "Custom resource definition column (in JSONPath format): .status.imageName",
];

/// One image of the sketch: its object name and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    /// The first display-name cell that is set.
    pub display_name: Option<String>,
}

impl Row {
    /// An index entry that knows only the names: enough to resolve, not to print.
    pub fn entry(&self, scope: Scope) -> ImageEntry {
        ImageEntry::names_only(&self.name, scope, self.display_name.as_deref())
    }
}

/// The sketch index of what a VM in `namespace` sees: its namespace's rows and the
/// cluster's.
pub fn index(namespace: &str, namespaced: Vec<Row>, clustered: Vec<Row>) -> Index {
    let scope = Scope::Namespace(namespace.into());
    Index::from_entries(
        namespaced
            .into_iter()
            .map(|row| row.entry(scope.clone()))
            .chain(clustered.into_iter().map(|row| row.entry(Scope::Cluster))),
    )
}

/// The images of `sketch` that decide what `refs` resolve to from `namespace`: the one a
/// ref resolves to, the candidates of an ambiguous one, the near misses of a missing one,
/// and every image a `<library>/<display name>` reading can name (which one it is takes
/// the libraries, read later). Resolving on these alone gives the answer the whole scope
/// gives: every other image has neither a name nor a display name any ref can match.
pub fn deciding(sketch: &Index, namespace: &str, refs: &[String]) -> Vec<Arc<ImageEntry>> {
    let mut deciding: Vec<Arc<ImageEntry>> = Vec::new();
    for reference in refs {
        match resolve::resolve(sketch, namespace, reference) {
            Ok(found) => deciding.push(found.image),
            Err(e) => deciding.extend_from_slice(e.candidates()),
        }
        deciding.extend(qualified::candidates(sketch, namespace, reference));
    }
    deciding.sort_by(|a, b| (&a.scope, &a.name).cmp(&(&b.scope, &b.name)));
    deciding.dedup_by(|a, b| (&a.scope, &a.name) == (&b.scope, &b.name));
    deciding
}

/// One page of a Table list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TablePage {
    #[serde(default)]
    column_definitions: Vec<Column>,
    #[serde(default)]
    rows: Vec<TableRow>,
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta,
}

#[derive(Deserialize)]
struct Column {
    #[serde(default)]
    format: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct TableRow {
    #[serde(default)]
    cells: Vec<serde_json::Value>,
}

/// Why a page cannot serve as a sketch (the caller then reads whole objects).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("the table has no column with the object name")]
    NoNameColumn,
    #[error("the table has no column with the display name")]
    NoDisplayColumn,
    #[error("a row has no object name")]
    RowWithoutName,
    #[error("the answer is not a Table: {0}")]
    NotATable(String),
}

/// The rows of one page, and the token for the next one.
pub struct Page {
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// Reads one page of a Table list.
pub fn read_page(text: &str) -> Result<Page, Unusable> {
    let page: TablePage = serde_json::from_str(text).map_err(|e| Unusable::NotATable(e.to_string()))?;
    let next = page.metadata.continue_.filter(|c| !c.is_empty());
    let name_at = page.column_definitions.iter().position(|c| c.format == "name");
    let display_at: Vec<usize> = DISPLAY_COLUMNS
        .iter()
        .filter_map(|d| page.column_definitions.iter().position(|c| c.description == *d))
        .collect();
    let Some(name_at) = name_at else {
        return Err(Unusable::NoNameColumn);
    };
    // An empty page (no images, or the end of a list) says nothing about columns.
    if display_at.is_empty() && !page.rows.is_empty() {
        return Err(Unusable::NoDisplayColumn);
    }
    let mut rows = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let Some(name) = row.cells.get(name_at).and_then(|c| c.as_str()) else {
            return Err(Unusable::RowWithoutName);
        };
        let display_name = display_at
            .iter()
            .find_map(|&at| row.cells.get(at).and_then(|c| c.as_str()))
            .map(str::to_string);
        rows.push(Row {
            name: name.to_string(),
            display_name,
        });
    }
    Ok(Page { rows, next })
}

/// The `Accept` header of a Table read.
pub fn accept() -> http::HeaderValue {
    http::HeaderValue::from_static(TABLE)
}

/// The query that leaves objects out of the rows.
pub const NO_OBJECTS: &str = "includeObject=None";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(columns: serde_json::Value, rows: serde_json::Value) -> String {
        json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
               "metadata": {"resourceVersion": "7", "continue": "abc"},
               "columnDefinitions": columns, "rows": rows})
        .to_string()
    }

    fn column(name: &str, format: &str, path: &str) -> serde_json::Value {
        json!({"name": name, "type": "string", "format": format, "priority": 0,
               "description": format!("Custom resource definition column (in JSONPath format): {path}")})
    }

    #[test]
    fn reads_names_and_display_names_as_the_server_sends_them() {
        let text = table(
            json!([
                {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique"},
                column("Display Name", "", ".status.name"),
                column("Type", "", ".status.type"),
            ]),
            json!([
                {"cells": ["vmi-0a0044d7c690bcbea", "ubuntu-24.04 ", "OVF"], "object": null},
                {"cells": ["vmi-1b", null, null]},
            ]),
        );
        let page = read_page(&text).unwrap();
        assert_eq!(page.next.as_deref(), Some("abc"));
        assert_eq!(
            page.rows,
            vec![
                Row {
                    name: "vmi-0a0044d7c690bcbea".into(),
                    display_name: Some("ubuntu-24.04 ".into())
                },
                Row {
                    name: "vmi-1b".into(),
                    display_name: None
                },
            ]
        );
    }

    #[test]
    fn v1alpha1s_image_name_column_counts() {
        let text = table(
            json!([{"name": "Name", "format": "name"}, column("Display-Name", "", ".status.imageName")]),
            json!([{"cells": ["vmi-1", "legacy"]}]),
        );
        let page = read_page(&text).unwrap();
        assert_eq!(page.rows[0].display_name.as_deref(), Some("legacy"));
    }

    #[test]
    fn a_table_without_a_recognisable_display_name_is_not_used() {
        let own_description = json!([
            {"name": "Name", "format": "name"},
            {"name": "Display Name", "format": "", "description": "what people call it"},
        ]);
        let text = table(own_description.clone(), json!([{"cells": ["vmi-1", "x"]}]));
        assert_eq!(read_page(&text).err(), Some(Unusable::NoDisplayColumn));
        // With no rows there is nothing to misread.
        let text = table(own_description, json!([]));
        assert!(read_page(&text).is_ok());
        let text = table(json!([column("Display Name", "", ".status.name")]), json!([]));
        assert_eq!(read_page(&text).err(), Some(Unusable::NoNameColumn));
        let text = table(
            json!([{"name": "Name", "format": "name"}, column("Display Name", "", ".status.name")]),
            json!([{"cells": [null, "x"]}]),
        );
        assert_eq!(read_page(&text).err(), Some(Unusable::RowWithoutName));
    }

    fn row(name: &str, display: &str) -> Row {
        Row {
            name: name.into(),
            display_name: Some(display.into()),
        }
    }

    fn names(entries: &[Arc<ImageEntry>]) -> Vec<String> {
        entries
            .iter()
            .map(|e| format!("{}/{}", e.scope, e.name))
            .collect()
    }

    #[test]
    fn the_deciding_images_are_the_found_the_candidates_and_the_near_misses() {
        let sketch = index(
            "dev",
            vec![
                row("vmi-1", "ubuntu"),
                row("vmi-2", "photon"),
                row("vmi-9", "lib/rhel"),
            ],
            vec![
                row("vmi-1", "ubuntu-cluster"),
                row("vmi-3", "photon"),
                row("vmi-4", "debian"),
                row("vmi-5", "rhel"),
                row("vmi-6", "fedora"),
            ],
        );
        let refs = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // An ID: the namespaced image wins, and only it decides.
        assert_eq!(
            names(&deciding(&sketch, "dev", &refs(&["vmi-1"]))),
            ["namespace dev/vmi-1"]
        );
        // Ambiguous across scopes: both candidates.
        assert_eq!(
            names(&deciding(&sketch, "dev", &refs(&["photon"]))),
            ["namespace dev/vmi-2", "cluster/vmi-3"]
        );
        // A typo: its near miss.
        assert_eq!(
            names(&deciding(&sketch, "dev", &refs(&["debia"]))),
            ["cluster/vmi-4"]
        );
        // `lib/rhel` is a display name VM Operator finds; its qualified reading's image
        // decides nothing then, but is read all the same.
        assert_eq!(
            names(&deciding(
                &sketch,
                "dev",
                &refs(&["lib/rhel", "fedora", "fedora"])
            )),
            ["namespace dev/vmi-9", "cluster/vmi-5", "cluster/vmi-6"]
        );
    }

    #[test]
    fn a_page_that_is_not_a_table_is_an_error() {
        assert!(matches!(read_page("[1, 2]"), Err(Unusable::NotATable(_))));
    }
}
