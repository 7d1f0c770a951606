//! What the fuzz targets share: the sample catalog as an index, and policies that
//! exercise every rule.

use std::sync::OnceLock;
use vmimage_shared::{catalog::Catalog, index::Index, policy::Policy};

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

/// One policy per mode, together using every rule, applying to every namespace.
pub fn policies() -> Vec<Policy> {
    let specs = [
        serde_json::json!({"mode": "Enforce", "rules": {"deniedNames": ["*-legacy"], "allowedScopes": ["Cluster", "Namespace"]}}),
        serde_json::json!({"mode": "Warn", "rules": {"requireReady": true, "allowedBootTypes": ["OVF", "VM"], "requireId": true}}),
        serde_json::json!({"mode": "Audit", "rules": {"allowedNames": ["ubuntu-*", "vmi-*"], "forbidNewestSelection": true}}),
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
