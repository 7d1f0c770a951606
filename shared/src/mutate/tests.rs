use super::*;
use crate::api::{CdromRef, VmLayout};

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
fn a_kept_spec_image_is_never_rewritten_and_warns_when_it_names_nothing() {
    // spec.imageName empty: VM Operator keeps spec.image as written and does not check it.
    let plan = plan(&index(), &vm(None, Some(("VirtualMachineImage", "ubuntu")))).unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!(plan.warnings.len(), 1);
    let text = plan.warnings[0].to_string();
    assert!(
        text.starts_with(r#"spec.image: no VirtualMachineImage "ubuntu" in namespace ns1"#),
        "{text}"
    );
    assert!(text.contains("resolves to vmi-1"), "{text}");
    let plan = super::plan(
        &index(),
        &vm(Some(""), Some(("ClusterVirtualMachineImage", "rhel"))),
    )
    .unwrap();
    assert!(plan.changes.is_empty());
}

#[test]
fn spec_image_must_equal_the_resolved_image_as_exact_strings() {
    for (kind, name) in [
        ("", "vmi-2"),
        ("clustervirtualmachineimage", "vmi-2"),
        ("", ""),
        ("ClusterVirtualMachineImage", "photon"),
    ] {
        let err = plan(&index(), &vm(Some("photon"), Some((kind, name)))).unwrap_err();
        assert!(
            err.to_string().starts_with(
                r#"spec.imageName: Invalid value: "photon": must refer to the same resource as spec.image"#
            ),
            "{kind}/{name}: {err}"
        );
    }
}

#[test]
fn versions_without_spec_image_never_get_one() {
    let mut refs = vm(Some("photon"), None);
    refs.layout = VmLayout::ImageNameOnly;
    let plan = plan(&index(), &refs).unwrap();
    assert_eq!(plan.changes, vec![Change::ImageName("vmi-2".into())]);
    // Not a fixed point (ns1 has its own vmi-5): nothing can be written, VM Operator resolves it.
    let mut refs = vm(Some("rhel"), None);
    refs.layout = VmLayout::ImageNameOnly;
    assert!(super::plan(&index(), &refs).unwrap().changes.is_empty());
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
    let mut refs = vm(None, None);
    refs.cdroms = vec![cdrom(None, None), cdrom(Some(iref("", "vmi-6")), Some(false))];
    // The first CD-ROM is connected (by default) but names nothing: cdrom[0]'s empty name
    // is copied, so nothing is resolved; the other CD-ROM's ID is a cluster image's.
    assert_eq!(
        plan(&index(), &refs).unwrap().changes,
        vec![Change::CdromImage {
            index: 1,
            image: iref("ClusterVirtualMachineImage", "vmi-6")
        }]
    );
}

fn cdrom(image: Option<ImageRef>, connected: Option<bool>) -> CdromRef {
    CdromRef {
        name: "cd".into(),
        image,
        connected,
    }
}

#[test]
fn the_copied_cdrom_is_resolved_and_spec_image_name_written() {
    let mut vm = vm(None, None);
    vm.cdroms = vec![
        cdrom(Some(iref("ClusterVirtualMachineImage", "tools.iso")), Some(true)),
        cdrom(Some(iref("ClusterVirtualMachineImage", "vmi-6")), None),
    ];
    let plan = plan(&index(), &vm).unwrap();
    assert_eq!(
        plan.changes,
        vec![
            Change::Image(iref("ClusterVirtualMachineImage", "vmi-6")),
            Change::CdromImage {
                index: 0,
                image: iref("ClusterVirtualMachineImage", "vmi-6")
            },
            Change::ImageName("vmi-6".into()),
        ]
    );
    assert_eq!(plan.requested.as_deref(), Some("tools.iso"));
    assert_eq!(plan.images.len(), 2);
    assert!(plan.images.iter().all(|(role, _)| matches!(role, Role::Cdrom(_))));
}

#[test]
fn a_copied_display_name_whose_image_has_no_id_stays_a_display_name() {
    // VM Operator resolves "old-image" to the cluster image "legacy"; a CD-ROM naming
    // "legacy" would be copied and looked up as a display name, and not found.
    let mut vm = vm(None, None);
    vm.cdroms = vec![cdrom(Some(iref("", "old-image")), None)];
    let plan = plan(&index(), &vm).unwrap();
    assert_eq!(
        plan.changes,
        vec![
            Change::Image(iref("ClusterVirtualMachineImage", "legacy")),
            Change::CdromImage {
                index: 0,
                image: iref("ClusterVirtualMachineImage", "legacy")
            },
            Change::ImageName("old-image".into()),
        ]
    );
}

#[test]
fn a_copied_name_that_does_not_resolve_denies_with_vm_operators_text() {
    let mut vm = vm(None, None);
    vm.cdroms = vec![cdrom(Some(iref("", "nope.iso")), None)];
    let err = plan(&index(), &vm).unwrap_err().to_string();
    assert!(
        err.starts_with(r#"no VM image exists for "nope.iso" in namespace or cluster scope"#),
        "{err}"
    );
    assert!(
        err.contains("copies it from spec.hardware.cdrom[0].image.name"),
        "{err}"
    );
}

#[test]
fn a_copied_cdrom_must_agree_with_spec_image() {
    let mut vm = vm(None, Some(("ClusterVirtualMachineImage", "vmi-2")));
    vm.cdroms = vec![cdrom(Some(iref("ClusterVirtualMachineImage", "vmi-6")), None)];
    let err = plan(&index(), &vm).unwrap_err().to_string();
    assert!(
        err.starts_with(
            r#"spec.imageName: Invalid value: "vmi-6": must refer to the same resource as spec.image"#
        ),
        "{err}"
    );
}

#[test]
fn cdroms_vm_operator_does_not_resolve_only_warn() {
    let mut vm = vm(Some("photon"), None);
    vm.cdroms = vec![
        cdrom(Some(iref("", "nope.iso")), None),
        cdrom(Some(iref("VirtualMachineImage", "tools.iso")), None),
    ];
    let plan = plan(&index(), &vm).unwrap();
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0]
            .to_string()
            .starts_with(r#"spec.hardware.cdrom[0].image.name: no VM image exists for "nope.iso""#),
        "{}",
        plan.warnings[0]
    );
    assert!(plan.changes.contains(&Change::CdromImage {
        index: 1,
        image: iref("ClusterVirtualMachineImage", "vmi-6")
    }));
}

#[test]
fn v1alpha4_cdroms_live_in_spec_cdrom() {
    let json = serde_json::json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha4",
        "metadata": {"name": "web", "namespace": "ns1"},
        "spec": {"cdrom": [{"name": "cd", "image": {"name": "tools.iso"}}]}
    });
    let refs = VmImageRefs::from_json(&json).unwrap();
    assert_eq!(refs.layout, VmLayout::SpecCdrom);
    let plan = plan(&index(), &refs).unwrap();
    let paths: Vec<String> = plan.fields().iter().map(|f| f.path.join("/")).collect();
    assert!(paths.contains(&"spec/cdrom/0/image".to_string()), "{paths:?}");
    let mut patched = json.clone();
    plan.apply_to(&mut patched);
    assert_eq!(patched["spec"]["cdrom"][0]["image"]["name"], "vmi-6");
    assert_eq!(patched["spec"]["imageName"], "vmi-6");
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
