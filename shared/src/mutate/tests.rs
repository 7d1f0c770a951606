use super::*;
use crate::api::CdromRef;

fn index() -> Index {
    Index::from_entries([
        ImageEntry::test("vmi-1", "ubuntu").in_ns("ns1"),
        ImageEntry::test("vmi-2", "photon"),
        ImageEntry::test("vmi-3", "dup"),
        ImageEntry::test("vmi-4", "dup"),
        // The same item published cluster-wide and in ns1: the ID resolves to ns1's copy.
        ImageEntry::test("vmi-5", "rhel"),
        ImageEntry::test("vmi-5", "rhel-ns-copy").in_ns("ns1"),
        ImageEntry::test("vmi-6", "tools.iso").of_type("ISO"),
        ImageEntry::test("legacy", "old-image"),
    ])
}

fn vm(image_name: Option<&str>, image: Option<(&str, &str)>) -> VmImageRefs {
    VmImageRefs {
        name: "web".into(),
        namespace: "ns1".into(),
        image_name: image_name.map(str::to_string),
        image: image.map(|(k, n)| ImageRef {
            kind: k.into(),
            name: n.into(),
        }),
        ..Default::default()
    }
}

fn iref(kind: &str, name: &str) -> ImageRef {
    ImageRef {
        kind: kind.into(),
        name: name.into(),
    }
}

#[test]
fn display_name_becomes_id_in_both_fields_and_is_remembered() {
    let plan = plan(&index(), &vm(Some("photon"), None)).unwrap();
    assert_eq!(
        plan.changes,
        vec![
            Change::Image(iref("ClusterVirtualMachineImage", "vmi-2")),
            Change::ImageName("vmi-2".into())
        ]
    );
    assert_eq!(plan.requested.as_deref(), Some("photon"));
}

#[test]
fn an_id_only_fills_spec_image() {
    let plan = plan(&index(), &vm(Some("vmi-1"), None)).unwrap();
    assert_eq!(
        plan.changes,
        vec![Change::Image(iref("VirtualMachineImage", "vmi-1"))]
    );
    assert_eq!(plan.requested, None);
}

#[test]
fn a_vm_already_pinned_is_left_alone() {
    let plan = plan(
        &index(),
        &vm(Some("vmi-1"), Some(("VirtualMachineImage", "vmi-1"))),
    )
    .unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!(plan.images.len(), 1);
}

#[test]
fn image_name_is_kept_when_the_id_would_resolve_elsewhere() {
    // "rhel" is the cluster image vmi-5, but VM Operator resolves "vmi-5" to ns1's copy.
    let plan = plan(&index(), &vm(Some("rhel"), None)).unwrap();
    assert_eq!(
        plan.changes,
        vec![Change::Image(iref("ClusterVirtualMachineImage", "vmi-5"))]
    );
    assert_eq!(plan.requested.as_deref(), Some("rhel"));
}

#[test]
fn legacy_object_names_only_set_spec_image() {
    let plan = plan(&index(), &vm(Some("old-image"), None)).unwrap();
    assert_eq!(
        plan.changes,
        vec![Change::Image(iref("ClusterVirtualMachineImage", "legacy"))]
    );
}

#[test]
fn disagreeing_fields_are_denied_with_vm_operators_message() {
    let err = plan(
        &index(),
        &vm(Some("photon"), Some(("VirtualMachineImage", "vmi-1"))),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(
            r#"spec.imageName: Invalid value: "photon": must refer to the same resource as spec.image"#
        ),
        "{err}"
    );
}

#[test]
fn agreeing_fields_with_a_display_name_are_accepted() {
    let plan = plan(
        &index(),
        &vm(Some("photon"), Some(("ClusterVirtualMachineImage", "vmi-2"))),
    )
    .unwrap();
    assert_eq!(plan.changes, vec![Change::ImageName("vmi-2".into())]);
}

#[test]
fn display_name_in_spec_image_is_resolved() {
    let plan = plan(&index(), &vm(None, Some(("VirtualMachineImage", "ubuntu")))).unwrap();
    assert_eq!(
        plan.changes,
        vec![
            Change::Image(iref("VirtualMachineImage", "vmi-1")),
            Change::ImageName("vmi-1".into())
        ]
    );
    assert_eq!(plan.requested.as_deref(), Some("ubuntu"));
}

#[test]
fn ambiguous_names_are_denied_with_candidates() {
    let err = plan(&index(), &vm(Some("dup"), None)).unwrap_err();
    assert_eq!(err.resolve_error().unwrap().candidates().len(), 2);
    assert!(
        err.to_string()
            .starts_with(r#"multiple VM images exist for "dup" in cluster scope"#)
    );
}

#[test]
fn missing_names_are_denied() {
    let err = plan(&index(), &vm(Some("nope"), None)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(r#"no VM image exists for "nope" in namespace or cluster scope"#)
    );
}

#[test]
fn vms_without_images_are_untouched() {
    assert_eq!(plan(&index(), &vm(None, None)).unwrap(), Plan::default());
}

#[test]
fn cdrom_display_names_are_resolved() {
    let mut vm = vm(None, None);
    vm.cdroms = vec![
        CdromRef {
            name: "a".into(),
            image: Some(iref("ClusterVirtualMachineImage", "tools.iso")),
            connected: Some(true),
        },
        CdromRef {
            name: "b".into(),
            image: Some(iref("ClusterVirtualMachineImage", "vmi-6")),
            connected: None,
        },
    ];
    let plan = plan(&index(), &vm).unwrap();
    assert_eq!(
        plan.changes,
        vec![Change::CdromImage {
            index: 0,
            image: iref("ClusterVirtualMachineImage", "vmi-6")
        }]
    );
    assert_eq!(plan.images.len(), 2);
}

#[test]
fn missing_cdrom_images_name_the_field() {
    let mut vm = vm(None, None);
    vm.cdroms = vec![CdromRef {
        name: "a".into(),
        image: Some(iref("", "nope.iso")),
        connected: None,
    }];
    let err = plan(&index(), &vm).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("spec.hardware.cdrom[0].image.name: no VM image exists"),
        "{err}"
    );
}

#[test]
fn newest_selection_pins_the_newest_ready_candidate() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-3", "dup").with_version("1.0"),
        ImageEntry::test("vmi-4", "dup").with_version("1.10"),
    ]);
    let vm = vm(Some("dup"), None);
    assert!(plan(&index, &vm).is_err());
    let plan = plan_with(&index, &vm, Selection::NewestReady).unwrap();
    assert_eq!(
        plan.changes,
        vec![
            Change::Image(iref("ClusterVirtualMachineImage", "vmi-4")),
            Change::ImageName("vmi-4".into())
        ]
    );
    assert_eq!(plan.notes.len(), 1);
}

#[test]
fn newest_selection_refuses_a_choice_vm_operator_would_not_keep() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-5", "rhel").with_version("9.4"),
        ImageEntry::test("vmi-6", "rhel").with_version("9.0"),
        ImageEntry::test("vmi-5", "other").in_ns("ns1"),
    ]);
    let err = plan_with(&index, &vm(Some("rhel"), None), Selection::NewestReady).unwrap_err();
    assert!(matches!(err, PlanError::NotPinnable { .. }), "{err}");
}

#[test]
fn the_select_annotation_opts_in() {
    let mut a = std::collections::BTreeMap::new();
    assert_eq!(Selection::from_annotations(&a), Selection::Exact);
    a.insert(SELECT_ANNOTATION.to_string(), "newest".to_string());
    assert_eq!(Selection::from_annotations(&a), Selection::NewestReady);
}
