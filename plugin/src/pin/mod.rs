//! `pin`: rewriting VirtualMachine manifests so they name images by VMI ID, keeping
//! everything else byte for byte (comments, key order, quoting, other documents).
//!
//! Documents are parsed once with yaml-rust2, which gives both the values (to find VMs
//! and plan changes with the shared planner) and the source positions (to edit only the
//! bytes of the fields that change).

mod edit;
mod files;
mod locate;
mod text;

pub use edit::{Edit, apply_edits, edits_for, records_selection};
pub use files::{Input, read_inputs};
pub use locate::{Document, parse_documents};
pub use text::{PinOptions, Pinned, pin_documents, pin_text, vms_of};

use serde_json::Value;
use vmimage_shared::api::GROUP;

/// The VirtualMachines of a document: (pointer prefix, object).
pub fn vms_in(doc: &Value) -> Vec<(String, &Value)> {
    let is_vm = |v: &Value| {
        v["kind"] == "VirtualMachine"
            && v["apiVersion"]
                .as_str()
                .is_some_and(|a| a.split('/').next() == Some(GROUP))
    };
    match (doc["kind"].as_str(), doc["items"].as_array()) {
        (Some(k), Some(items)) if k.ends_with("List") => items
            .iter()
            .enumerate()
            .filter(|(_, v)| is_vm(v))
            .map(|(i, v)| (format!("/items/{i}"), v))
            .collect(),
        _ if is_vm(doc) => vec![(String::new(), doc)],
        _ => Vec::new(),
    }
}
