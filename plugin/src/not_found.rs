//! Explaining a reference that resolves to nothing: VM Operator's message first, then
//! what the user most likely meant, never the name they just typed.
//!
//! Two cases deserve more than a near-miss list: an object name that does not start
//! with `vmi-` (VM Operator compares such names with display names only, so the object
//! is there and still not found), and an image that exists but only in a namespace the
//! VM cannot see.

use std::sync::Arc;
use vmimage_shared::{ImageEntry, Index, ResolveError};

/// The message for a failed resolution of `error`, for a VM in `namespace`;
/// `everywhere`, when it could be read, holds every image.
pub fn explain(error: &ResolveError, namespace: &str, everywhere: Option<&Index>) -> String {
    let ResolveError::NotFound { reference, .. } = error else {
        return error.to_string();
    };
    // VM Operator's text, where it looked, the object-name explanation and the near misses
    // (shared with the webhook); then what only the plugin can see: the other namespaces.
    let full = error.to_string();
    let vm_operator = error.vm_operator_message();
    let hints = full.strip_prefix(vm_operator.as_str()).unwrap_or_default();
    let mut text = format!(
        "{vm_operator}; looked in namespace {} and the cluster scope{hints}",
        vmimage_shared::quote::go_quote(namespace)
    );
    if let Some(all) = everywhere {
        let mut elsewhere: Vec<&Arc<ImageEntry>> = all
            .iter()
            .filter(|i| {
                i.scope.namespace().is_some_and(|ns| ns != namespace)
                    && (&*i.name == reference || i.display_name.as_deref() == Some(reference))
            })
            .collect();
        // The index iterates in no fixed order: name them in one, so the live cluster and
        // a catalog of it say the same.
        elsewhere.sort_by(|a, b| (a.scope.namespace(), &a.name).cmp(&(b.scope.namespace(), &b.name)));
        for image in elsewhere.into_iter().take(4) {
            let what = if &*image.name == reference {
                "object name"
            } else {
                "display name"
            };
            text.push_str(&format!(
                "; {image} has that {what}, but a VM in namespace {namespace} can use only \
                 images of its own namespace and cluster images"
            ));
        }
    }
    text
}

/// The near misses worth suggesting: never one that carries exactly the name typed
/// (suggesting it back would only repeat the failing reference).
pub fn suggestions(error: &ResolveError) -> Vec<Arc<ImageEntry>> {
    let ResolveError::NotFound { reference, similar } = error else {
        return error.candidates().to_vec();
    };
    similar
        .iter()
        .filter(|c| &*c.name != reference && c.display_name.as_deref() != Some(reference))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmimage_shared::resolve;

    fn index() -> Index {
        Index::from_entries([
            ImageEntry::test("cvmi-fedcba0987654321", "Fedora 40"),
            ImageEntry::test("vmi-0000000000000000a", "ubuntu").in_ns("prod"),
            ImageEntry::test("vmi-0000000000000000b", "Photon").in_ns("dev"),
        ])
    }

    fn explain_in(ns: &str, reference: &str) -> String {
        let index = index();
        let err = resolve(&index, ns, reference).unwrap_err();
        explain(&err, ns, Some(&index))
    }

    #[test]
    fn an_object_name_without_vmi_prefix_is_explained_not_suggested_back() {
        let text = explain_in("dev", "cvmi-fedcba0987654321");
        assert!(
            text.starts_with(
                "no VM image exists for \"cvmi-fedcba0987654321\" in namespace or cluster scope; \
                 looked in namespace \"dev\" and the cluster scope; \
                 \"cvmi-fedcba0987654321\" is the object name of cvmi-fedcba0987654321 (ClusterVirtualMachineImage"
            ),
            "{text}"
        );
        assert!(text.contains("display name \"Fedora 40\""), "{text}");
        assert!(!text.contains("did you mean"), "{text}");
    }

    #[test]
    fn an_image_of_another_namespace_is_named_with_its_namespace() {
        let text = explain_in("dev", "vmi-0000000000000000a");
        assert!(
            text.contains("vmi-0000000000000000a (VirtualMachineImage in namespace prod, Ready, OVF) has that object name, but a VM in namespace dev"),
            "{text}"
        );
        let text = explain_in("dev", "ubuntu");
        assert!(text.contains("has that display name"), "{text}");
    }

    #[test]
    fn near_misses_are_still_suggested() {
        let text = explain_in("dev", "photon");
        assert!(text.ends_with("; did you mean \"Photon\" vmi-0000000000000000b (VirtualMachineImage in namespace dev, Ready, OVF)? (names are compared exactly)"), "{text}");
    }
}
