//! Reading images from text: multi-document YAML or JSON, single objects or Kubernetes
//! Lists, exactly what `kubectl get vmi,cvmi -A -o yaml` prints. The plugin's
//! `--catalog` flag and the local catalog loader both read through here.

use crate::{api::Image, index::ImageEntry};
use serde::Deserialize;

const IMAGE_KINDS: [&str; 2] = ["VirtualMachineImage", "ClusterVirtualMachineImage"];

/// Why a catalog could not be read. Every variant names the source and document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document is not valid YAML/JSON.
    #[error("{source_name}: document {document}: not valid YAML or JSON: {message}")]
    Syntax {
        /// File name or `-`.
        source_name: String,
        /// 1-based document number.
        document: usize,
        /// Parser message, with line and column.
        message: String,
    },
    /// An image object has fields of the wrong type or lacks its name/namespace.
    #[error("{source_name}: document {document}{}: {message}", item.map(|i| format!(", item {i}")).unwrap_or_default())]
    BadImage {
        /// File name or `-`.
        source_name: String,
        /// 1-based document number.
        document: usize,
        /// 0-based index in a List, if the object was inside one.
        item: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The text holds no image and no List (a List with no items is an empty cluster).
    #[error(
        "{0}: no VirtualMachineImage or ClusterVirtualMachineImage found; \
         a catalog is what `kubectl get vmi,cvmi -A -o yaml` prints"
    )]
    Empty(String),
}

fn is_list(value: &serde_json::Value) -> bool {
    value.get("items").is_some()
        && value
            .get("kind")
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.ends_with("List"))
}

/// Images read from a catalog, with the indexable entries already extracted.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The full objects, for `get`/`describe`.
    pub images: Vec<Image>,
    /// Objects of other kinds that were passed over: (document, kind).
    pub skipped: Vec<(usize, String)>,
}

impl Catalog {
    /// Parses `text`, read from `source_name` (used in errors).
    pub fn parse(source_name: &str, text: &str) -> Result<Self, Error> {
        let mut catalog = Catalog::default();
        let mut lists = 0;
        let syntax = |document: usize, message: String| Error::Syntax {
            source_name: source_name.to_string(),
            document,
            message,
        };
        let mut add = |document: usize, value: serde_json::Value| {
            lists += usize::from(is_list(&value));
            catalog.add_document(source_name, document, value)
        };
        if text.trim_start().starts_with('{') {
            // JSON, as `kubectl get -o json` prints it: read without the YAML parser, which
            // is several times slower on a catalog of 100,000 images.
            let stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
            for (i, value) in stream.enumerate() {
                add(i + 1, value.map_err(|e| syntax(i + 1, e.to_string()))?)?;
            }
        } else {
            for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
                let value = serde_json::Value::deserialize(doc).map_err(|e| syntax(i + 1, e.to_string()))?;
                add(i + 1, value)?;
            }
        }
        // `kubectl get vmi,cvmi -A -o json` on a cluster without images prints an empty
        // List: a real, empty catalog. Nothing at all is more likely the wrong file.
        if catalog.images.is_empty() && lists == 0 {
            return Err(Error::Empty(source_name.to_string()));
        }
        Ok(catalog)
    }

    fn add_document(
        &mut self,
        source_name: &str,
        document: usize,
        value: serde_json::Value,
    ) -> Result<(), Error> {
        if value.is_null() {
            return Ok(()); // an empty document between `---` lines
        }
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        if let Some(items) = value.get("items").filter(|_| kind.ends_with("List")) {
            let items = items.as_array().ok_or_else(|| Error::BadImage {
                source_name: source_name.to_string(),
                document,
                item: None,
                message: "items is not a list".to_string(),
            })?;
            for (n, item) in items.iter().enumerate() {
                self.add_object(source_name, document, Some(n), item.clone())?;
            }
            return Ok(());
        }
        self.add_object(source_name, document, None, value)
    }

    fn add_object(
        &mut self,
        source_name: &str,
        document: usize,
        item: Option<usize>,
        value: serde_json::Value,
    ) -> Result<(), Error> {
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
        if !IMAGE_KINDS.contains(&kind) {
            self.skipped.push((document, kind.to_string()));
            return Ok(());
        }
        let bad = |message: String| Error::BadImage {
            source_name: source_name.to_string(),
            document,
            item,
            message,
        };
        let image: Image = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        ImageEntry::from_image(&image).map_err(|e| bad(e.to_string()))?;
        self.images.push(image);
        Ok(())
    }

    /// The index entries of every image.
    pub fn entries(&self) -> impl Iterator<Item = ImageEntry> + '_ {
        // `parse` validated every image, so extraction cannot fail here.
        self.images.iter().filter_map(|i| ImageEntry::from_image(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kubectl_lists_and_multi_document_yaml() {
        let text = r#"
apiVersion: v1
kind: List
items:
- apiVersion: vmoperator.vmware.com/v1alpha6
  kind: VirtualMachineImage
  metadata: {name: vmi-1, namespace: ns1}
  status: {name: ubuntu}
- apiVersion: vmoperator.vmware.com/v1alpha6
  kind: ClusterVirtualMachineImage
  metadata: {name: vmi-2}
  status: {name: ubuntu}
---
{"kind": "ClusterVirtualMachineImage", "metadata": {"name": "vmi-3"}, "status": {"name": "photon"}}
---
kind: ConfigMap
metadata: {name: x}
"#;
        let catalog = Catalog::parse("c.yaml", text).unwrap();
        assert_eq!(catalog.images.len(), 3);
        assert_eq!(catalog.skipped, vec![(3, "ConfigMap".to_string())]);
        assert_eq!(catalog.entries().count(), 3);
    }

    #[test]
    fn syntax_errors_name_file_and_document() {
        let err = Catalog::parse(
            "c.yaml",
            "kind: ClusterVirtualMachineImage\nmetadata: {name: a}\n---\n: : [\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("c.yaml: document 2: not valid YAML or JSON"),
            "{text}"
        );
    }

    #[test]
    fn bad_images_name_the_list_item() {
        let text = "kind: List\nitems:\n- kind: VirtualMachineImage\n  metadata: {name: vmi-1}\n";
        let err = Catalog::parse("c.yaml", text).unwrap_err().to_string();
        assert_eq!(
            err,
            "c.yaml: document 1, item 0: VirtualMachineImage \"vmi-1\" has no metadata.namespace"
        );
    }

    #[test]
    fn a_catalog_without_images_is_an_error_but_an_empty_list_is_an_empty_cluster() {
        assert!(matches!(Catalog::parse("-", ""), Err(Error::Empty(_))));
        assert!(matches!(Catalog::parse("-", "kind: Pod\n"), Err(Error::Empty(_))));
        let empty = Catalog::parse("-", r#"{"kind":"List","items":[]}"#).unwrap();
        assert!(empty.images.is_empty());
    }

    #[test]
    fn wrongly_typed_fields_are_reported_and_the_image_kept() {
        let text =
            "kind: ClusterVirtualMachineImage\nmetadata: {name: vmi-1}\nstatus: {name: [1], type: OVF}\n";
        let catalog = Catalog::parse("c", text).unwrap();
        assert_eq!(catalog.entries().count(), 1);
        assert_eq!(catalog.images[0].status.type_.as_deref(), Some("OVF"));
        let warning = catalog.images[0].unread_warning().unwrap();
        assert!(
            warning.starts_with("ClusterVirtualMachineImage vmi-1: ignoring fields vmimage cannot read: status.name: invalid type: sequence"),
            "{warning}"
        );
    }

    #[test]
    fn integer_quantities_are_read() {
        let text = "kind: VirtualMachineImage\nmetadata: {name: vmi-1, namespace: ns}\n\
                    status: {name: ubuntu, disks: [{name: d, requested: 10737418240, limit: 10Gi}]}\n";
        let catalog = Catalog::parse("c", text).unwrap();
        let image = &catalog.images[0];
        assert!(image.unread.is_empty(), "{:?}", image.unread);
        assert_eq!(image.status.disks[0].requested.as_deref(), Some("10737418240"));
        assert_eq!(image.status.disks[0].limit.as_deref(), Some("10Gi"));
    }
}
