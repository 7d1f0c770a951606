use super::*;
use crate::api::ImageKind;

fn index() -> Index {
    Index::from_entries([
        ImageEntry::test("vmi-1", "image-a").in_ns("ns1"),
        ImageEntry::test("vmi-2", "image-b").in_ns("ns1"),
        ImageEntry::test("vmi-3", "image-b").in_ns("ns1"),
        ImageEntry::test("vmi-4", "image-c").in_ns("ns1"),
        ImageEntry::test("vmi-5", "image-d"),
        ImageEntry::test("vmi-6", "image-e"),
        ImageEntry::test("vmi-7", "image-e"),
        ImageEntry::test("vmi-8", "image-c"),
        ImageEntry::test("vmi-1", "image-x"),
        ImageEntry::test("vmi-9", "ubuntu").in_ns("other"),
        ImageEntry::test("legacy-name", "legacy").in_ns("ns1"),
    ])
}

fn ok(reference: &str) -> (ImageKind, String) {
    let r = resolve(&index(), "ns1", reference).unwrap_or_else(|e| panic!("{reference}: {e}"));
    (r.image.kind(), r.image.name.to_string())
}

#[test]
fn ids_prefer_the_namespaced_image() {
    assert_eq!(ok("vmi-1"), (ImageKind::VirtualMachineImage, "vmi-1".into()));
}

#[test]
fn ids_fall_back_to_the_cluster_image() {
    assert_eq!(
        ok("vmi-5"),
        (ImageKind::ClusterVirtualMachineImage, "vmi-5".into())
    );
}

#[test]
fn ids_are_never_compared_with_display_names() {
    let index = Index::from_entries([ImageEntry::test("img-1", "vmi-abc")]);
    assert!(matches!(
        resolve(&index, "ns1", "vmi-abc"),
        Err(ResolveError::NotFound { .. })
    ));
}

#[test]
fn other_object_names_are_only_found_by_display_name() {
    assert!(matches!(
        resolve(&index(), "ns1", "legacy-name"),
        Err(ResolveError::NotFound { .. })
    ));
    assert_eq!(ok("legacy").1, "legacy-name");
}

#[test]
fn display_names_have_no_scope_preference() {
    let err = resolve(&index(), "ns1", "image-c").unwrap_err();
    assert_eq!(
        err.vm_operator_message(),
        r#"multiple VM images exist for "image-c" in namespace and cluster scope"#
    );
    assert_eq!(err.candidates().len(), 2);
}

#[test]
fn ambiguity_lists_every_candidate_and_how_to_choose() {
    let err = resolve(&index(), "ns1", "image-b").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(r#"multiple VM images exist for "image-b" in namespace scope; candidates: "#),
        "{text}"
    );
    assert!(
        text.contains("vmi-2 (VirtualMachineImage in namespace ns1, Ready, OVF)"),
        "{text}"
    );
    assert!(text.contains("vmi-3"), "{text}");
    assert!(text.ends_with("use a VMI ID to choose one"), "{text}");
}

#[test]
fn other_namespaces_are_never_candidates() {
    assert!(matches!(
        resolve(&index(), "ns1", "ubuntu"),
        Err(ResolveError::NotFound { .. })
    ));
    assert_eq!(
        resolve(&index(), "other", "ubuntu").unwrap().image.name.as_ref(),
        "vmi-9"
    );
}

#[test]
fn matching_is_exact_but_near_misses_are_suggested() {
    let err = resolve(&index(), "ns1", "Image-A ").unwrap_err();
    assert_eq!(
        err.vm_operator_message(),
        r#"no VM image exists for "Image-A " in namespace or cluster scope"#
    );
    assert_eq!(err.candidates().len(), 1);
    assert!(err.to_string().contains("did you mean \"image-a\""), "{err}");
}

#[test]
fn prefix_test_is_case_sensitive() {
    // "VMI-5" is a display name, and no image has that display name.
    assert!(matches!(
        resolve(&index(), "ns1", "VMI-5"),
        Err(ResolveError::NotFound { .. })
    ));
}

#[test]
fn not_ready_and_iso_images_resolve_and_count() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-1", "iso").of_type("ISO").not_ready(),
        ImageEntry::test("vmi-2", "dup").not_ready(),
        ImageEntry::test("vmi-3", "dup"),
    ]);
    assert_eq!(resolve(&index, "ns", "iso").unwrap().image.name.as_ref(), "vmi-1");
    assert!(matches!(
        resolve(&index, "ns", "dup"),
        Err(ResolveError::Ambiguous { .. })
    ));
}

#[test]
fn messages_quote_like_go() {
    let err = resolve(&Index::new(), "ns", "a\"b\n").unwrap_err();
    assert_eq!(
        err.vm_operator_message(),
        r#"no VM image exists for "a\"b\n" in namespace or cluster scope"#
    );
}

#[test]
fn empty_references_are_invalid() {
    assert_eq!(resolve(&index(), "ns1", ""), Err(ResolveError::Empty));
}

proptest::proptest! {
    #[test]
    fn resolution_never_panics(reference in ".{0,64}", ns in "[a-z0-9]{0,8}") {
        let _ = resolve(&index(), &ns, &reference);
    }
}

#[test]
fn an_object_name_without_the_prefix_is_explained_not_suggested_back() {
    let index = Index::from_entries([ImageEntry::test("vmi.dotted", "Photon OS 5.0")]);
    let e = resolve(&index, "ns1", "vmi.dotted").unwrap_err().to_string();
    assert!(
        e.starts_with(r#"no VM image exists for "vmi.dotted" in namespace or cluster scope; "vmi.dotted" is the object name of"#),
        "{e}"
    );
    assert!(
        e.contains(r#"name it by its display name "Photon OS 5.0""#),
        "{e}"
    );
    assert!(!e.contains("did you mean"), "{e}");
}

mod qualified_names {
    use super::*;
    use crate::{
        index::Scope,
        library::{Libraries, LibraryObjects},
    };

    /// Two libraries in ns1 (`team-a` shown as "Team A", `team-b`), one cluster library
    /// `shared`; `ubuntu` exists in each, and twice in `team-b`.
    fn catalog() -> (Index, Libraries) {
        let entry = |name: &str, display: &str, ns: Option<&str>, item: &str| {
            let mut e = ImageEntry::test(name, display);
            if let Some(ns) = ns {
                e = e.in_ns(ns);
            }
            e.provider = Some(item.into());
            e
        };
        let index = Index::from_entries([
            entry("vmi-a1", "ubuntu", Some("ns1"), "item-a1"),
            entry("vmi-b1", "ubuntu", Some("ns1"), "item-b1"),
            entry("vmi-b2", "ubuntu", Some("ns1"), "item-b2"),
            entry("vmi-s1", "ubuntu", None, "item-s1"),
            // An exact display name with a slash: VM Operator's rules find it first.
            entry("vmi-exact", "team-a/photon", None, "item-s2"),
            entry("vmi-a2", "photon", Some("ns1"), "item-a2"),
            entry("vmi-o1", "debian", Some("other"), "item-o1"),
            entry("vmi-slash", "x/y", Some("ns1"), "item-a3"),
        ]);
        let mut objects = LibraryObjects::new();
        let ns1 = Scope::Namespace("ns1".into());
        for (item, lib) in [
            ("item-a1", "team-a"),
            ("item-a2", "team-a"),
            ("item-a3", "team-a"),
            ("item-b1", "team-b"),
            ("item-b2", "team-b"),
        ] {
            objects.add_item(ns1.clone(), item, lib);
        }
        objects.add_item(Scope::Namespace("other".into()), "item-o1", "team-a");
        objects.add_item(Scope::Cluster, "item-s1", "shared");
        objects.add_item(Scope::Cluster, "item-s2", "shared");
        objects.add_library(ns1.clone(), "team-a", Some("Team A"));
        objects.add_library(ns1, "team-b", None);
        objects.add_library(Scope::Namespace("other".into()), "team-a", None);
        objects.add_library(Scope::Cluster, "shared", Some("Shared Images"));
        let libraries = objects.link(index.iter());
        (index, libraries)
    }

    fn name_of(reference: &str) -> Result<String, ResolveError> {
        let (index, libraries) = catalog();
        resolve_in(&index, &libraries, "ns1", reference).map(|r| {
            assert_eq!(
                r.matched_by == MatchedBy::Library,
                reference.contains('/') && reference != "team-a/photon"
            );
            r.image.name.to_string()
        })
    }

    #[test]
    fn a_library_by_name_or_display_name_settles_an_ambiguous_display_name() {
        assert!(matches!(name_of("ubuntu"), Err(ResolveError::Ambiguous { .. })));
        assert_eq!(name_of("team-a/ubuntu").unwrap(), "vmi-a1");
        assert_eq!(name_of("Team A/ubuntu").unwrap(), "vmi-a1");
        assert_eq!(name_of("shared/ubuntu").unwrap(), "vmi-s1");
        assert_eq!(name_of("Shared Images/ubuntu").unwrap(), "vmi-s1");
        assert_eq!(name_of("team-a/x/y").unwrap(), "vmi-slash");
    }

    #[test]
    fn vm_operators_rules_come_first() {
        // The exact display name "team-a/photon" exists: VM Operator picks it, and so does vmimage.
        assert_eq!(name_of("team-a/photon").unwrap(), "vmi-exact");
        // An ID is an ID.
        assert_eq!(name_of("vmi-a2").unwrap(), "vmi-a2");
    }

    #[test]
    fn ambiguity_inside_a_library_is_an_error_with_candidates() {
        let e = name_of("team-b/ubuntu").unwrap_err();
        assert_eq!(e.reason(), "Ambiguous");
        let text = e.to_string();
        assert!(
            text.starts_with("no VM image exists for \"team-b/ubuntu\" in namespace or cluster scope; as <content library>/<display name> it matches more than one image (in ContentLibrary ns1/team-b); candidates: vmi-b1 "),
            "{text}"
        );
        assert_eq!(e.candidates().len(), 2);
    }

    #[test]
    fn unknown_libraries_and_other_namespaces_find_nothing() {
        for reference in [
            "team-c/ubuntu",
            "team-a/debian",
            "TEAM-A/ubuntu",
            "/ubuntu",
            "team-a/",
        ] {
            let e = name_of(reference).unwrap_err();
            assert!(matches!(e, ResolveError::NotFound { .. }), "{reference}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("no VM image exists for {reference:?}")),
                "{e}"
            );
        }
        // With no library known, qualified names are plain not-found, as for VM Operator.
        let (index, _) = catalog();
        assert!(matches!(
            resolve_in(&index, Libraries::none(), "ns1", "team-a/ubuntu"),
            Err(ResolveError::NotFound { .. })
        ));
    }

    #[test]
    fn only_qualified_misses_need_their_libraries_read() {
        let (index, _) = catalog();
        let vm = |name: &str| crate::api::VmImageRefs {
            namespace: "ns1".into(),
            image_name: Some(name.into()),
            ..Default::default()
        };
        assert!(qualified::candidates_for_vm(&index, &vm("ubuntu")).is_empty());
        assert!(qualified::candidates_for_vm(&index, &vm("team-a/photon")).is_empty());
        let wanted: Vec<String> = qualified::candidates_for_vm(&index, &vm("team-a/ubuntu"))
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(wanted, ["vmi-a1", "vmi-b1", "vmi-b2", "vmi-s1"]);
    }
}
