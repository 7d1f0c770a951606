//! Which content library an image came from, for `<library>/<display name>` references.
//!
//! The chain is VM Operator's: an image's `spec.providerRef` names a ContentLibraryItem in
//! the image's namespace (a ClusterContentLibraryItem for a cluster image); the item's
//! `spec.libraryName` names a ContentLibrary in the same namespace (a
//! ClusterContentLibrary); the library's `status.name` is its display name. Callers read
//! the objects (the webhook a few GETs per qualified reference, the plugin a LIST or a
//! catalog file); this module only links them, so every caller links them alike.

use crate::{
    api::{
        CLUSTER_CONTENT_LIBRARY, CLUSTER_CONTENT_LIBRARY_ITEM, CONTENT_LIBRARY, CONTENT_LIBRARY_ITEM,
        KindInfo,
    },
    index::{ImageEntry, Scope},
};
use serde_json::Value;
use std::{collections::HashMap, fmt, sync::Arc};

/// The four kinds the chain passes through, with the scope each lives in.
pub const LIBRARY_KINDS: [(&str, LinkKind); 4] = [
    ("ContentLibraryItem", LinkKind::Item),
    ("ClusterContentLibraryItem", LinkKind::Item),
    ("ContentLibrary", LinkKind::Library),
    ("ClusterContentLibrary", LinkKind::Library),
];

/// Whether an object is a library item or a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A (Cluster)ContentLibraryItem.
    Item,
    /// A (Cluster)ContentLibrary.
    Library,
}

impl LinkKind {
    /// The kind that holds this link in `scope`.
    pub fn kind_in(self, scope: &Scope) -> KindInfo {
        match (self, scope) {
            (Self::Item, Scope::Namespace(_)) => CONTENT_LIBRARY_ITEM,
            (Self::Item, Scope::Cluster) => CLUSTER_CONTENT_LIBRARY_ITEM,
            (Self::Library, Scope::Namespace(_)) => CONTENT_LIBRARY,
            (Self::Library, Scope::Cluster) => CLUSTER_CONTENT_LIBRARY,
        }
    }
}

/// One object a caller reads (by name) to follow the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToRead {
    /// Its kind.
    pub kind: KindInfo,
    /// Where it lives.
    pub scope: Scope,
    /// Its name.
    pub name: Arc<str>,
}

/// Each (scope, name) once, as `link` objects to read.
fn to_read(link: LinkKind, mut wanted: Vec<(Scope, Arc<str>)>) -> Vec<ToRead> {
    wanted.sort();
    wanted.dedup();
    wanted
        .into_iter()
        .map(|(scope, name)| ToRead {
            kind: link.kind_in(&scope),
            scope,
            name,
        })
        .collect()
}

/// A content library as a reference can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// Where it lives (a ContentLibrary's namespace, or the cluster).
    pub scope: Scope,
    /// Its Kubernetes name.
    pub name: Arc<str>,
    /// Its vSphere display name (`status.name`), once synced.
    pub display_name: Option<Arc<str>>,
}

impl Library {
    /// Whether `text` names this library: its Kubernetes name or its display name, exactly.
    pub fn is_named(&self, text: &str) -> bool {
        &*self.name == text || self.display_name.as_deref() == Some(text)
    }
}

impl fmt::Display for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Scope::Namespace(ns) => write!(f, "ContentLibrary {ns}/{}", self.name)?,
            Scope::Cluster => write!(f, "ClusterContentLibrary {}", self.name)?,
        }
        match &self.display_name {
            Some(d) if **d != *self.name => write!(f, " ({d:?})"),
            _ => Ok(()),
        }
    }
}

/// Why an object of one of the [`LIBRARY_KINDS`] cannot be linked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The object has no `metadata.name`.
    #[error("{kind} has no metadata.name")]
    MissingName {
        /// The object's kind.
        kind: String,
    },
    /// A namespaced kind without `metadata.namespace`.
    #[error("{kind} {name:?} has no metadata.namespace")]
    MissingNamespace {
        /// The object's kind.
        kind: String,
        /// Its name.
        name: String,
    },
    /// A field the chain reads has the wrong type.
    #[error("{kind} {name:?}: {field} must be a string")]
    NotAString {
        /// The object's kind.
        kind: String,
        /// Its name.
        name: String,
        /// The field.
        field: &'static str,
    },
}

/// Library items and libraries, as read; [`LibraryObjects::link`] follows the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibraryObjects {
    /// (scope, item name) → the item's `spec.libraryName`.
    items: HashMap<(Scope, Arc<str>), Arc<str>>,
    /// (scope, library name) → its display name.
    libraries: HashMap<(Scope, Arc<str>), Option<Arc<str>>>,
}

impl LibraryObjects {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `object` if it is one of the [`LIBRARY_KINDS`]; `Ok(false)` for any other kind.
    pub fn add(&mut self, object: &Value) -> Result<bool, LinkError> {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let Some((_, link)) = LIBRARY_KINDS.iter().find(|(k, _)| *k == kind) else {
            return Ok(false);
        };
        let meta = |field: &str| {
            object
                .get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let name = meta("name").ok_or_else(|| LinkError::MissingName { kind: kind.into() })?;
        let scope = if kind.starts_with("Cluster") {
            Scope::Cluster
        } else {
            Scope::Namespace(
                meta("namespace")
                    .ok_or_else(|| LinkError::MissingNamespace {
                        kind: kind.into(),
                        name: name.into(),
                    })?
                    .into(),
            )
        };
        let string = |path: [&str; 2], field: &'static str| -> Result<Option<Arc<str>>, LinkError> {
            match object.get(path[0]).and_then(|v| v.get(path[1])) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str().into())),
                Some(_) => Err(LinkError::NotAString {
                    kind: kind.into(),
                    name: name.into(),
                    field,
                }),
            }
        };
        match link {
            LinkKind::Item => {
                if let Some(library) = string(["spec", "libraryName"], "spec.libraryName")? {
                    self.items.insert((scope, name.into()), library);
                }
            }
            LinkKind::Library => {
                let display = string(["status", "name"], "status.name")?;
                self.libraries.insert((scope, name.into()), display);
            }
        }
        Ok(true)
    }

    /// The items `images` came from: what to read first (each once).
    pub fn items_of(images: &[Arc<ImageEntry>]) -> Vec<ToRead> {
        to_read(
            LinkKind::Item,
            images
                .iter()
                .filter_map(|i| i.provider.as_deref().map(|p| (i.scope.clone(), Arc::from(p))))
                .collect(),
        )
    }

    /// The libraries the items added so far belong to and that are not added yet: what
    /// to read next.
    pub fn libraries_to_read(&self) -> Vec<ToRead> {
        to_read(
            LinkKind::Library,
            self.items
                .iter()
                .map(|((scope, _), library)| (scope.clone(), library.clone()))
                .filter(|key| !self.libraries.contains_key(key))
                .collect(),
        )
    }

    /// Records an item's library (the webhook's reads give the field, not the object).
    pub fn add_item(&mut self, scope: Scope, item: &str, library: &str) {
        self.items.insert((scope, item.into()), library.into());
    }

    /// Records a library and its display name.
    pub fn add_library(&mut self, scope: Scope, name: &str, display_name: Option<&str>) {
        self.libraries
            .insert((scope, name.into()), display_name.map(Arc::from));
    }

    /// The library of the item `item` in `scope`, when both objects are known.
    pub fn library_of_item(&self, scope: &Scope, item: &str) -> Option<Library> {
        let name = self.items.get(&(scope.clone(), Arc::from(item)))?;
        let display = self.libraries.get(&(scope.clone(), name.clone()))?;
        Some(Library {
            scope: scope.clone(),
            name: name.clone(),
            display_name: display.clone(),
        })
    }

    /// The library of every image in `images` whose chain is complete.
    pub fn link<'a>(&self, images: impl IntoIterator<Item = &'a Arc<ImageEntry>>) -> Libraries {
        let mut out = Libraries::default();
        for image in images {
            if let Some(library) = image
                .provider
                .as_deref()
                .and_then(|item| self.library_of_item(&image.scope, item))
            {
                out.insert(image, library);
            }
        }
        out
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.libraries.is_empty()
    }
}

/// The library of each image that has one known: what qualified references read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Libraries {
    of_image: HashMap<(Scope, Arc<str>), Arc<Library>>,
}

impl Libraries {
    /// No library known (qualified references then find nothing).
    pub fn none() -> &'static Self {
        static NONE: std::sync::OnceLock<Libraries> = std::sync::OnceLock::new();
        NONE.get_or_init(Libraries::default)
    }

    /// Records that `image` came from `library`.
    pub fn insert(&mut self, image: &ImageEntry, library: Library) {
        self.of_image
            .insert((image.scope.clone(), image.name.clone()), Arc::new(library));
    }

    /// The library `image` came from, if known.
    pub fn of(&self, image: &ImageEntry) -> Option<&Library> {
        self.of_image
            .get(&(image.scope.clone(), image.name.clone()))
            .map(|l| &**l)
    }

    /// Whether no library is known.
    pub fn is_empty(&self) -> bool {
        self.of_image.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(ns: Option<&str>, name: &str, item: &str) -> Arc<ImageEntry> {
        let mut e = ImageEntry::test(name, "ubuntu");
        e.scope = ns.map_or(Scope::Cluster, |ns| Scope::Namespace(ns.into()));
        e.provider = Some(item.into());
        Arc::new(e)
    }

    #[test]
    fn follows_image_item_library_in_one_scope() {
        let mut objects = LibraryObjects::new();
        for o in [
            json!({"kind": "ContentLibraryItem", "metadata": {"name": "clitem-1", "namespace": "dev"}, "spec": {"libraryName": "lib-a"}}),
            json!({"kind": "ContentLibrary", "metadata": {"name": "lib-a", "namespace": "dev"}, "status": {"name": "Team A"}}),
            json!({"kind": "ClusterContentLibraryItem", "metadata": {"name": "clitem-1"}, "spec": {"libraryName": "lib-a"}}),
            json!({"kind": "ClusterContentLibrary", "metadata": {"name": "lib-a"}}),
        ] {
            assert!(objects.add(&o).unwrap());
        }
        assert!(!objects.add(&json!({"kind": "ConfigMap"})).unwrap());
        let ns_image = image(Some("dev"), "vmi-1", "clitem-1");
        let cluster_image = image(None, "vmi-2", "clitem-1");
        // The same item name in another namespace has no item object: no library.
        let other_ns = image(Some("prod"), "vmi-3", "clitem-1");
        let libs = objects.link([&ns_image, &cluster_image, &other_ns]);
        let a = libs.of(&ns_image).unwrap();
        assert!(a.is_named("lib-a") && a.is_named("Team A") && !a.is_named("team a"));
        assert_eq!(a.to_string(), "ContentLibrary dev/lib-a (\"Team A\")");
        assert_eq!(libs.of(&cluster_image).unwrap().scope, Scope::Cluster);
        assert!(libs.of(&other_ns).is_none());
    }

    #[test]
    fn objects_missing_what_the_chain_needs_are_refused_by_name() {
        let mut objects = LibraryObjects::new();
        let e = objects
            .add(&json!({"kind": "ContentLibraryItem", "metadata": {"name": "x"}}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ContentLibraryItem \"x\" has no metadata.namespace"
        );
        let e = objects
            .add(&json!({"kind": "ClusterContentLibraryItem", "metadata": {"name": "x"}, "spec": {"libraryName": 3}}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ClusterContentLibraryItem \"x\": spec.libraryName must be a string"
        );
    }
}
