//! The oracle file's catalogs as what the tests feed vmimage: index entries, and the
//! image objects `kubectl get vmi,cvmi -A -o json` prints (the real schema's condition
//! fields included).

use serde_json::{Value, json};
use vmimage_shared::{ImageEntry, Scope};

/// VM Operator's answers (`fixtures/vmop-oracle-sample.json`).
pub const ORACLE: &str = include_str!("../fixtures/vmop-oracle-sample.json");

/// One oracle image as an index entry.
#[allow(dead_code)] // not every test that includes this module indexes directly
pub fn entry(image: &Value) -> ImageEntry {
    let mut e = ImageEntry::test(
        image["id"].as_str().unwrap_or_default(),
        image["displayName"].as_str().unwrap_or_default(),
    )
    .of_type(image["type"].as_str().unwrap_or_default());
    if image["scope"] != "Cluster" {
        e.scope = Scope::Namespace(image["namespace"].as_str().unwrap_or_default().into());
    }
    e.ready = image["ready"] == true;
    e
}

/// The oracle images as VirtualMachineImage / ClusterVirtualMachineImage objects.
#[allow(dead_code)]
pub fn objects(images: &[Value]) -> Vec<Value> {
    images
        .iter()
        .map(|i| {
            let cluster = i["scope"] == "Cluster";
            let ready = i["ready"] == true;
            let mut metadata = json!({"name": i["id"]});
            if !cluster {
                metadata["namespace"] = i["namespace"].clone();
            }
            json!({
                "apiVersion": "vmoperator.vmware.com/v1alpha6",
                "kind": if cluster { "ClusterVirtualMachineImage" } else { "VirtualMachineImage" },
                "metadata": metadata,
                "spec": {},
                "status": {
                    "name": i["displayName"],
                    "type": i["type"],
                    "conditions": [{
                        "type": "Ready",
                        "status": if ready { "True" } else { "False" },
                        "reason": if ready { "Ready" } else { "VirtualMachineImageNotSynced" },
                        "message": if ready { "" } else { "not synced yet" },
                        "lastTransitionTime": "2026-01-01T00:00:00Z"
                    }]
                }
            })
        })
        .collect()
}
