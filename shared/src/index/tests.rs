use super::*;
use proptest::prelude::*;

#[test]
fn finds_images_by_name_per_scope() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-1", "ubuntu").in_ns("a"),
        ImageEntry::test("vmi-1", "ubuntu"),
    ]);
    assert_eq!(
        index.get(Some("a"), "vmi-1").unwrap().kind(),
        ImageKind::VirtualMachineImage
    );
    assert_eq!(
        index.get(None, "vmi-1").unwrap().kind(),
        ImageKind::ClusterVirtualMachineImage
    );
    assert!(index.get(Some("b"), "vmi-1").is_none());
    assert_eq!(index.len(), 2);
}

#[test]
fn a_visible_index_equals_one_built_from_the_visible_images() {
    let entries = [
        ImageEntry::test("vmi-1", "ubuntu").in_ns("a"),
        ImageEntry::test("vmi-2", "ubuntu").in_ns("b"),
        ImageEntry::test("vmi-3", "ubuntu"),
    ];
    let index = Index::from_entries(entries.clone());
    let visible = |ns: &str| -> Vec<ImageEntry> {
        entries
            .iter()
            .filter(|e| e.scope.namespace().is_none_or(|n| n == ns))
            .cloned()
            .collect()
    };
    assert_eq!(index.visible_index("a"), Index::from_entries(visible("a")));
    assert_eq!(index.visible_index("c"), Index::from_entries(visible("c")));
}

#[test]
fn display_name_changes_move_the_image() {
    let mut index = Index::from_entries([ImageEntry::test("vmi-1", "old")]);
    index.apply(ImageEntry::test("vmi-1", "new"));
    assert_eq!(index.with_display_name(None, "old").count(), 0);
    assert_eq!(index.with_display_name(None, "new").count(), 1);
    assert_eq!(index, Index::from_entries([ImageEntry::test("vmi-1", "new")]));
}

#[test]
fn deleting_the_last_image_of_a_namespace_leaves_an_empty_index() {
    let mut index = Index::from_entries([ImageEntry::test("vmi-1", "x").in_ns("a")]);
    assert!(index.delete(Some("a"), "vmi-1").is_some());
    assert!(index.delete(Some("a"), "vmi-1").is_none());
    assert_eq!(index, Index::new());
}

#[test]
fn reset_replaces_only_one_kind() {
    let mut index = Index::from_entries([
        ImageEntry::test("vmi-1", "x").in_ns("a"),
        ImageEntry::test("vmi-2", "y"),
    ]);
    index.reset(
        ImageKind::VirtualMachineImage,
        [ImageEntry::test("vmi-3", "z").in_ns("b")],
    );
    assert!(index.get(Some("a"), "vmi-1").is_none());
    assert!(index.get(Some("b"), "vmi-3").is_some());
    assert!(index.get(None, "vmi-2").is_some());
}

#[test]
fn images_without_display_name_are_found_by_name_only() {
    let mut entry = ImageEntry::test("vmi-1", "x");
    entry.display_name = None;
    let index = Index::from_entries([entry]);
    assert!(index.get(None, "vmi-1").is_some());
    assert_eq!(index.with_display_name(None, "").count(), 0);
}

#[test]
fn entries_are_read_from_image_objects() {
    let image: Image = serde_json::from_value(serde_json::json!({
        "kind": "VirtualMachineImage",
        "metadata": {"name": "vmi-0a0044d7c690bcbea", "namespace": "ns1", "labels": {"os": "ubuntu"}},
        "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibraryItem", "name": "clitem-1"}},
        "status": {"name": "ubuntu-24.04", "type": "OVF",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "productInfo": {"version": "24.04.1"}, "osInfo": {"id": "ubuntu64Guest", "version": "24.04"}}
    }))
    .unwrap();
    let entry = ImageEntry::from_image(&image).unwrap();
    assert_eq!(entry.scope, Scope::Namespace("ns1".into()));
    assert_eq!(entry.display_name.as_deref(), Some("ubuntu-24.04"));
    assert!(entry.ready);
    assert_eq!(entry.version(), Some("24.04.1"));
    assert_eq!(entry.provider.as_deref(), Some("clitem-1"));
    assert_eq!(entry.labels.get("os"), Some("ubuntu"));
}

#[test]
fn namespaced_images_need_a_namespace() {
    let image: Image = serde_json::from_value(
        serde_json::json!({"kind": "VirtualMachineImage", "metadata": {"name": "vmi-1"}}),
    )
    .unwrap();
    assert_eq!(
        ImageEntry::from_image(&image),
        Err(EntryError::MissingNamespace("vmi-1".into()))
    );
}

#[derive(Debug, Clone)]
enum Op {
    Apply(ImageEntry),
    Delete(Option<String>, String),
}

fn entry() -> impl Strategy<Value = ImageEntry> {
    (
        0..6u8,
        prop::option::of(0..3u8),
        prop::option::of(0..4u8),
        any::<bool>(),
    )
        .prop_map(|(n, ns, d, ready)| {
            let mut e = ImageEntry::test(&format!("vmi-{n}"), "");
            e.display_name = d.map(|d| format!("name-{d}").into());
            e.ready = ready;
            match ns {
                Some(ns) => e.in_ns(&format!("ns{ns}")),
                None => e,
            }
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => entry().prop_map(Op::Apply),
        1 => (prop::option::of(0..3u8), 0..6u8)
            .prop_map(|(ns, n)| Op::Delete(ns.map(|ns| format!("ns{ns}")), format!("vmi-{n}"))),
    ]
}

proptest! {
    #[test]
    fn any_event_sequence_equals_building_from_the_final_set(ops in prop::collection::vec(op(), 0..60)) {
        let mut index = Index::new();
        let mut truth: BTreeMap<(Option<String>, String), ImageEntry> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Apply(e) => {
                    truth.insert((e.scope.namespace().map(str::to_string), e.name.to_string()), e.clone());
                    index.apply(e);
                }
                Op::Delete(ns, name) => {
                    truth.remove(&(ns.clone(), name.clone()));
                    index.delete(ns.as_deref(), &name);
                }
            }
        }
        prop_assert_eq!(index.len(), truth.len());
        prop_assert_eq!(index, Index::from_entries(truth.into_values()));
    }
}
