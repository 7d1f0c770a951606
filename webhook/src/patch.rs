//! A mutation plan as RFC 6902 JSON Patch operations against the object under review.
//!
//! JSON Patch `add` fails when a parent is missing, so absent maps on the way
//! (`/metadata/annotations`, `/spec`, `/spec/image`) are added first; `add` onto an
//! existing member replaces it. Pointer tokens are escaped by jsonptr (`/` → `~1`), which
//! the annotation key `vmimage.io/requested-image` needs.

use json_patch::{
    AddOperation, Patch, PatchOperation,
    jsonptr::{PointerBuf, Token},
};
use serde_json::{Value, json};
use vmimage_shared::mutate::Plan;

/// The patch that applies `plan` to `object`; empty when the plan changes nothing.
pub fn build(object: &Value, plan: &Plan) -> Patch {
    let mut ops = Ops {
        object,
        added: Vec::new(),
        ops: Vec::new(),
    };
    for field in plan.fields() {
        let path: Vec<&str> = field.path.iter().map(String::as_str).collect();
        ops.set(&path, field.value);
    }
    Patch(ops.ops)
}

struct Ops<'a> {
    object: &'a Value,
    /// Paths of maps this patch adds, so later operations see them as present.
    added: Vec<Vec<String>>,
    ops: Vec<PatchOperation>,
}

impl Ops<'_> {
    /// `add` at `path`, after adding every absent (or non-map) parent as `{}`.
    fn set(&mut self, path: &[&str], value: Value) {
        for depth in 1..path.len() {
            let parent = &path[..depth];
            if !self.is_map(parent) {
                self.push(parent, json!({}));
                self.added.push(parent.iter().map(|s| s.to_string()).collect());
            }
        }
        self.push(path, value);
    }

    fn is_map(&self, path: &[&str]) -> bool {
        // A request's object may have no `metadata` or an empty one (found by fuzzing). An
        // empty one is added again: `{}` over `{}` changes nothing, and over nothing makes
        // the next `add` valid.
        if path == ["metadata"]
            && self
                .object
                .get("metadata")
                .is_some_and(|m| m.as_object().is_some_and(|m| m.is_empty()))
        {
            return false;
        }
        if self
            .added
            .iter()
            .any(|a| a.iter().map(String::as_str).eq(path.iter().copied()))
        {
            return true;
        }
        let mut at = self.object;
        for token in path {
            at = match at {
                Value::Object(map) => match map.get(*token) {
                    Some(v) => v,
                    None => return false,
                },
                // Array elements (CD-ROMs) are addressed by index; they exist when the
                // plan names them, since the plan was made from this object.
                Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(v) => v,
                    None => return false,
                },
                _ => return false,
            };
        }
        matches!(at, Value::Object(_) | Value::Array(_))
    }

    fn push(&mut self, path: &[&str], value: Value) {
        let path = PointerBuf::from_tokens(path.iter().map(|t| Token::new(*t)));
        self.ops.push(PatchOperation::Add(AddOperation { path, value }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmimage_shared::{api::ImageRef, mutate::Change};

    fn apply(object: &Value, plan: &Plan) -> (Value, String) {
        let patch = build(object, plan);
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &patch).unwrap();
        (patched, serde_json::to_string(&patch).unwrap())
    }

    fn cluster_ref(name: &str) -> ImageRef {
        ImageRef {
            kind: "ClusterVirtualMachineImage".into(),
            name: name.into(),
        }
    }

    #[test]
    fn rewrites_both_fields_and_adds_the_annotation_map_when_absent() {
        let vm = json!({"metadata": {"name": "web"}, "spec": {"imageName": "ubuntu"}});
        let plan = Plan {
            changes: vec![
                Change::Image(cluster_ref("vmi-1")),
                Change::ImageName("vmi-1".into()),
            ],
            requested: Some("ubuntu".into()),
            ..Plan::default()
        };
        let (patched, text) = apply(&vm, &plan);
        assert_eq!(patched["spec"]["imageName"], "vmi-1");
        assert_eq!(
            patched["spec"]["image"],
            json!({"kind": "ClusterVirtualMachineImage", "name": "vmi-1"})
        );
        assert_eq!(
            patched["metadata"]["annotations"]["vmimage.io/requested-image"],
            "ubuntu"
        );
        assert!(
            text.contains("/metadata/annotations/vmimage.io~1requested-image"),
            "{text}"
        );
    }

    #[test]
    fn applies_to_a_request_object_without_metadata_or_with_an_empty_one() {
        let raw = json!({"apiVersion": "vmoperator.vmware.com/v1alpha6", "spec": {"imageName": "ubuntu"}});
        let plan = Plan {
            changes: vec![Change::ImageName("vmi-1".into())],
            requested: Some("ubuntu".into()),
            ..Default::default()
        };
        let mut empty = raw.clone();
        empty["metadata"] = json!({});
        for object in [&raw, &empty] {
            let mut patched = object.clone();
            json_patch::patch(&mut patched, &build(object, &plan)).unwrap();
            assert_eq!(
                patched["metadata"]["annotations"]["vmimage.io/requested-image"], "ubuntu",
                "{object}"
            );
        }
        let seen = empty;
        let (with_meta, _) = apply(&seen, &plan);
        assert_eq!(with_meta["spec"]["imageName"], "vmi-1");
    }

    #[test]
    fn keeps_existing_annotations() {
        let vm = json!({"metadata": {"annotations": {"a": "b"}}, "spec": {"imageName": "ubuntu"}});
        let plan = Plan {
            changes: vec![Change::Image(cluster_ref("vmi-1"))],
            requested: Some("ubuntu".into()),
            ..Plan::default()
        };
        let (patched, text) = apply(&vm, &plan);
        assert_eq!(patched["metadata"]["annotations"]["a"], "b");
        assert!(!text.contains(r#""path":"/metadata/annotations","#), "{text}");
    }

    #[test]
    fn sets_a_cdrom_image_that_was_absent() {
        let vm = json!({"spec": {"hardware": {"cdrom": [{"name": "a"}, {"name": "b", "image": {"name": "iso"}}]}}});
        let plan = Plan {
            changes: vec![
                Change::CdromImage {
                    index: 0,
                    image: cluster_ref("vmi-a"),
                },
                Change::CdromImage {
                    index: 1,
                    image: cluster_ref("vmi-b"),
                },
            ],
            requested: None,
            ..Plan::default()
        };
        let (patched, _) = apply(&vm, &plan);
        assert_eq!(patched["spec"]["hardware"]["cdrom"][0]["image"]["name"], "vmi-a");
        assert_eq!(patched["spec"]["hardware"]["cdrom"][1]["image"]["name"], "vmi-b");
        assert_eq!(patched["spec"]["hardware"]["cdrom"][1]["name"], "b");
    }

    #[test]
    fn adds_spec_when_the_object_has_none() {
        let vm = json!({"metadata": {}});
        let plan = Plan {
            changes: vec![Change::Image(cluster_ref("vmi-1"))],
            requested: None,
            ..Plan::default()
        };
        let (patched, _) = apply(&vm, &plan);
        assert_eq!(patched["spec"]["image"]["name"], "vmi-1");
    }

    #[test]
    fn no_changes_means_an_empty_patch() {
        let plan = Plan {
            requested: Some("x".into()),
            ..Plan::default()
        };
        assert!(build(&json!({}), &plan).0.is_empty());
    }
}
