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
