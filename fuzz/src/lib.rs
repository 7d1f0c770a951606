//! What the fuzz targets share: the sample catalog as an index, its images spread over
//! two content libraries, and policies that exercise every rule.

use std::sync::OnceLock;
use vmimage_shared::{catalog::Catalog, index::Index, library::LibraryObjects, policy::Policy};

/// The sample catalog (display-name collisions, both scopes, ISO and OVF images).
pub const CATALOG: &str = include_str!("../../manifests/samples/catalog.yaml");

/// The sample catalog as an index, built once.
pub fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let catalog = Catalog::parse("catalog.yaml", CATALOG).expect("the sample catalog parses");
        Index::from_entries(catalog.entries())
    })
}

/// The sample images' items, alternately in library `lib-a` (shown as "Library A") and
/// `lib-b`, in each image's scope, so qualified names resolve.
pub fn libraries() -> &'static LibraryObjects {
    static LIBRARIES: OnceLock<LibraryObjects> = OnceLock::new();
    LIBRARIES.get_or_init(|| {
        let mut objects = LibraryObjects::new();
        for (i, image) in index().iter().enumerate() {
            let library = if i % 2 == 0 { "lib-a" } else { "lib-b" };
            if let Some(item) = image.provider.as_deref() {
                objects.add_item(image.scope.clone(), item, library);
            }
            objects.add_library(image.scope.clone(), "lib-a", Some("Library A"));
            objects.add_library(image.scope.clone(), "lib-b", None);
        }
        objects
    })
}

/// One policy per mode, together using every rule, applying to every namespace.
pub fn policies() -> Vec<Policy> {
    let specs = [
        serde_json::json!({"mode": "Enforce", "rules": {"deniedNames": ["*-legacy"], "allowedScopes": ["Cluster", "Namespace"]}}),
        serde_json::json!({"mode": "Warn", "rules": {"requireReady": true, "allowedBootTypes": ["OVF", "VM"], "requireId": true}}),
        serde_json::json!({"mode": "Audit", "rules": {"allowedNames": ["ubuntu-*", "vmi-*"], "forbidNewestSelection": true, "forbidImageSelectors": true}}),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let obj = serde_json::json!({
                "apiVersion": "vmimage.io/v1alpha1",
                "kind": "VMImagePolicy",
                "metadata": {"name": format!("fuzz-{i}")},
                "spec": spec,
            });
            Policy::from_json(&obj).expect("the fuzz policies are valid")
        })
        .collect()
}
