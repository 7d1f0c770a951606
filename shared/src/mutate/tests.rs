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

mod beyond_exact_names {
    use super::*;
    use crate::{
        index::Scope,
        library::{Libraries, LibraryObjects},
        select::{IMAGE_SELECTOR_ANNOTATION, IMAGE_VERSION_ANNOTATION},
    };

    const OS: &str = "os.image.vmoperator.vmware.com/id";

    fn catalog() -> (Index, Libraries) {
        let from = |mut e: ImageEntry, item: &str| {
            e.provider = Some(item.into());
            e
        };
        let index = Index::from_entries([
            from(
                ImageEntry::test("vmi-a", "ubuntu")
                    .label(OS, "ubuntu64Guest")
                    .with_version("22.04"),
                "item-a",
            ),
            from(
                ImageEntry::test("vmi-b", "ubuntu")
                    .label(OS, "ubuntu64Guest")
                    .with_version("24.04"),
                "item-b",
            ),
            from(ImageEntry::test("legacy", "ubuntu"), "item-c"),
        ]);
        let mut objects = LibraryObjects::new();
        objects.add_item(Scope::Cluster, "item-a", "lib-a");
        objects.add_item(Scope::Cluster, "item-b", "lib-b");
        objects.add_item(Scope::Cluster, "item-c", "lib-c");
        for lib in ["lib-a", "lib-b", "lib-c"] {
            objects.add_library(Scope::Cluster, lib, None);
        }
        let libraries = objects.link(index.iter());
        (index, libraries)
    }

    fn planned(vm: &VmImageRefs) -> Result<Plan, PlanError> {
        let (index, libraries) = catalog();
        plan_in(
            &Images {
                index: &index,
                libraries: &libraries,
            },
            vm,
            Selection::Exact,
            None,
        )
    }

    fn with_annotations(mut vm: VmImageRefs, pairs: &[(&str, &str)]) -> VmImageRefs {
        vm.annotations = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vm
    }

    #[test]
    fn a_qualified_name_is_pinned_to_the_id_so_vm_operator_sees_an_id() {
        let plan = planned(&vm(Some("lib-b/ubuntu"), None)).unwrap();
        assert_eq!(
            plan.changes,
            vec![
                Change::Image(iref("ClusterVirtualMachineImage", "vmi-b")),
                Change::ImageName("vmi-b".into())
            ]
        );
        assert_eq!(plan.requested.as_deref(), Some("lib-b/ubuntu"));
        // The same name on a CD-ROM VM Operator does not look at becomes the object reference.
        let mut cd = vm(Some("vmi-a"), None);
        cd.cdroms = vec![CdromRef {
            name: "cd".into(),
            image: Some(iref("", "lib-b/ubuntu")),
            connected: Some(false),
        }];
        let plan = planned(&cd).unwrap();
        assert!(plan.changes.contains(&Change::CdromImage {
            index: 0,
            image: iref("ClusterVirtualMachineImage", "vmi-b"),
        }));
    }

    #[test]
    fn a_qualified_pick_whose_name_is_not_an_id_cannot_be_recorded() {
        let err = planned(&vm(Some("lib-c/ubuntu"), None)).unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::NotPinnable {
                    by: PinnedBy::Library,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("through its content library"), "{err}");
    }

    #[test]
    fn a_selector_picks_for_a_vm_that_names_no_image() {
        let sel = format!("{OS}=ubuntu64Guest");
        let plan = planned(&with_annotations(
            vm(None, None),
            &[
                (IMAGE_SELECTOR_ANNOTATION, &sel),
                (IMAGE_VERSION_ANNOTATION, "<24"),
            ],
        ))
        .unwrap();
        assert_eq!(
            plan.changes,
            vec![
                Change::Image(iref("ClusterVirtualMachineImage", "vmi-a")),
                Change::ImageName("vmi-a".into())
            ]
        );
        let selected = plan.selected.as_deref().unwrap();
        assert!(
            selected.starts_with("vmi-a picked by vmimage.io/image-selector"),
            "{selected}"
        );
        let fields = plan.fields();
        assert!(
            fields
                .iter()
                .any(|f| f.path.last().map(String::as_str) == Some(SELECTED_ANNOTATION)),
            "{fields:?}"
        );
        // A VM that names an image keeps it; the selector is ignored, with a warning.
        let plan = planned(&with_annotations(
            vm(Some("vmi-b"), None),
            &[(IMAGE_SELECTOR_ANNOTATION, &sel)],
        ))
        .unwrap();
        assert_eq!(plan.selected, None);
        assert_eq!(plan.warnings, vec![Warning::SelectorIgnored]);
        assert!(!plan.warnings[0].may_be_lag());
        // Unless the VM records that its selector, as written now, picked the image it
        // names (a pinned manifest, a stored VM applied again), in spec.imageName or in
        // spec.image alone.
        let recorded = selected.to_string();
        let picking = [
            (IMAGE_SELECTOR_ANNOTATION, sel.as_str()),
            (IMAGE_VERSION_ANNOTATION, "<24"),
            (SELECTED_ANNOTATION, &recorded),
        ];
        for named in [
            vm(Some("vmi-a"), None),
            vm(None, Some(("ClusterVirtualMachineImage", "vmi-a"))),
        ] {
            let plan = planned(&with_annotations(named, &picking)).unwrap();
            assert_eq!(plan.warnings, vec![], "{plan:?}");
        }
        // A record of another image's pick, or of the selector before it was edited, does
        // not silence it.
        let edited = [
            (IMAGE_SELECTOR_ANNOTATION, sel.as_str()),
            (IMAGE_VERSION_ANNOTATION, "<23"),
            (SELECTED_ANNOTATION, &recorded),
        ];
        for (named, annotations) in [("vmi-b", &picking), ("vmi-a", &edited)] {
            let plan = planned(&with_annotations(vm(Some(named), None), annotations)).unwrap();
            assert_eq!(
                plan.warnings,
                vec![Warning::SelectorIgnored],
                "{named} {annotations:?}"
            );
        }
        // Newest selection for a CD-ROM adds its note after the record, not over it.
        let json = serde_json::json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6",
            "metadata": {"name": "web", "namespace": "ns1", "annotations": {
                IMAGE_SELECTOR_ANNOTATION: sel, IMAGE_VERSION_ANNOTATION: "<24",
                SELECTED_ANNOTATION: recorded, "vmimage.io/select": "newest"}},
            "spec": {"imageName": "vmi-a", "hardware": {"cdrom": [{"name": "cd", "image": {"name": "ubuntu"}}]}}
        });
        let newest = |json: &serde_json::Value| {
            let (index, libraries) = catalog();
            let images = Images {
                index: &index,
                libraries: &libraries,
            };
            plan_in(
                &images,
                &VmImageRefs::from_json(json).unwrap(),
                Selection::NewestReady,
                None,
            )
            .unwrap()
        };
        let plan = newest(&json);
        assert!(!plan.notes.is_empty(), "{plan:?}");
        let written = plan.selected_annotation().unwrap();
        assert!(written.starts_with(&format!("{recorded}; ")), "{written}");
        let mut again = json.clone();
        again["metadata"]["annotations"][SELECTED_ANNOTATION] = serde_json::json!(written);
        let plan = newest(&again);
        assert_eq!(plan.warnings, vec![], "a VM stored with both is quiet: {plan:?}");
        assert_eq!(
            plan.selected_annotation().as_deref(),
            Some(&*written),
            "and records the same"
        );
    }

    #[test]
    fn a_selector_without_a_match_or_that_does_not_parse_denies() {
        let none = planned(&with_annotations(
            vm(None, None),
            &[(IMAGE_SELECTOR_ANNOTATION, "os=plan9")],
        ))
        .unwrap_err();
        assert_eq!(none.reason(), "NoMatch");
        let bad = planned(&with_annotations(
            vm(None, None),
            &[(IMAGE_VERSION_ANNOTATION, ">=1")],
        ))
        .unwrap_err();
        assert_eq!(bad.reason(), "Invalid");
        // v1alpha2 has no spec.image: a pick whose name is not an ID cannot be recorded.
        let mut old = with_annotations(vm(None, None), &[(IMAGE_SELECTOR_ANNOTATION, "!nothing")]);
        old.layout = VmLayout::of("vmoperator.vmware.com/v1alpha2");
        let (index, _) = catalog();
        let only_legacy = Index::from_entries(
            index
                .iter()
                .filter(|i| &*i.name == "legacy")
                .map(|i| (**i).clone()),
        );
        let err = plan_in(
            &Images::without_libraries(&only_legacy),
            &old,
            Selection::Exact,
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::NotPinnable {
                    by: PinnedBy::Selector,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn newest_selection_settles_an_ambiguity_inside_one_library() {
        let from = |e: ImageEntry, item: &str| {
            let mut e = e;
            e.provider = Some(item.into());
            e
        };
        let index = Index::from_entries([
            from(
                ImageEntry::test("vmi-old", "ubuntu").with_version("22.04"),
                "item-old",
            ),
            from(
                ImageEntry::test("vmi-new", "ubuntu").with_version("24.04"),
                "item-new",
            ),
        ]);
        let mut objects = LibraryObjects::new();
        objects.add_item(Scope::Cluster, "item-old", "lib");
        objects.add_item(Scope::Cluster, "item-new", "lib");
        objects.add_library(Scope::Cluster, "lib", None);
        let libraries = objects.link(index.iter());
        let images = Images {
            index: &index,
            libraries: &libraries,
        };
        let exact = plan_in(&images, &vm(Some("lib/ubuntu"), None), Selection::Exact, None).unwrap_err();
        assert_eq!(exact.reason(), "Ambiguous");
        let plan = plan_in(
            &images,
            &vm(Some("lib/ubuntu"), None),
            Selection::NewestReady,
            None,
        )
        .unwrap();
        assert_eq!(
            plan.changes,
            vec![
                Change::Image(iref("ClusterVirtualMachineImage", "vmi-new")),
                Change::ImageName("vmi-new".into())
            ]
        );
        assert!(
            plan.notes[0].contains("through their content library"),
            "{:?}",
            plan.notes
        );
    }
}
