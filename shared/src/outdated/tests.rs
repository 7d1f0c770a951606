use super::*;
use crate::{index::Scope, library::Library};
use serde_json::json;

fn index() -> Index {
    let ubuntu = |name: &str, display: &str, version: &str| ImageEntry {
        os_id: Some("ubuntu64Guest".into()),
        ..ImageEntry::test(name, display).with_version(version)
    };
    Index::from_entries([
        ubuntu("vmi-u22", "ubuntu-22.04", "22.04.4"),
        ubuntu("vmi-u24", "ubuntu-24.04", "24.04.1"),
        ubuntu("vmi-u26", "ubuntu-26.04", "26.04").not_ready(),
        ImageEntry::test("vmi-d7", "debian-12")
            .in_ns("dev")
            .with_version("12.7"),
        ImageEntry::test("vmi-d8", "debian-12")
            .in_ns("dev")
            .with_version("12.8"),
        ImageEntry::test("vmi-d9", "debian-12")
            .in_ns("prod")
            .with_version("12.9"),
        ImageEntry::test("vmi-photon", "photon-5.0"),
        ImageEntry::test("vmi-copy", "photon-5.0").in_ns("dev"),
    ])
}

fn vm(ns: &str, spec: serde_json::Value) -> VmImageRefs {
    VmImageRefs::from_json(&json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6",
        "kind": "VirtualMachine",
        "metadata": {"name": "web", "namespace": ns},
        "spec": spec
    }))
    .unwrap()
}

fn newer(ns: &str, spec: serde_json::Value) -> Option<String> {
    check(&index(), Libraries::none(), &vm(ns, spec))
        .unwrap()
        .newer
        .map(|i| i.name.to_string())
}

#[test]
fn an_older_version_of_the_os_family_is_outdated_by_the_newest_ready_one() {
    let spec = json!({"image": {"kind": "ClusterVirtualMachineImage", "name": "vmi-u22"}});
    // 26.04 is newer but not Ready: 24.04 is what a VM can move to.
    assert_eq!(newer("dev", spec).as_deref(), Some("vmi-u24"));
    assert_eq!(
        newer("dev", json!({"imageName": "ubuntu-24.04"})),
        None,
        "the newest Ready version is up to date"
    );
}

#[test]
fn spec_image_wins_over_spec_image_name() {
    let report = check(
        &index(),
        Libraries::none(),
        &vm(
            "dev",
            json!({"imageName": "ubuntu-24.04", "image": {"kind": "ClusterVirtualMachineImage", "name": "vmi-u22"}}),
        ),
    )
    .unwrap();
    assert_eq!(&*report.current.name, "vmi-u22");
    assert_eq!(report.from, ImageFrom::ImageRef);
    assert!(report.is_outdated());
}

#[test]
fn a_namespaced_image_is_looked_up_in_the_vms_namespace_only() {
    let spec = json!({"image": {"kind": "VirtualMachineImage", "name": "vmi-d7"}});
    assert_eq!(newer("dev", spec.clone()).as_deref(), Some("vmi-d8"));
    assert_eq!(
        check(&index(), Libraries::none(), &vm("prod", spec)).unwrap_err(),
        Undetermined::Missing {
            kind: ImageKind::VirtualMachineImage,
            name: "vmi-d7".into(),
            namespace: Some("prod".into()),
        }
    );
}

#[test]
fn newer_versions_in_other_namespaces_do_not_count() {
    // debian 12.9 exists only in prod: from dev, 12.8 is the newest.
    let spec = json!({"imageName": "vmi-d8"});
    assert_eq!(newer("dev", spec), None);
}

#[test]
fn an_equal_version_or_no_version_is_never_outdated() {
    // Two photon-5.0 images without versions, a namespaced copy among them.
    assert_eq!(
        newer(
            "dev",
            json!({"image": {"kind": "VirtualMachineImage", "name": "vmi-copy"}})
        ),
        None
    );
    let same = Index::from_entries([
        ImageEntry::test("vmi-a", "x").with_version("1.0"),
        ImageEntry::test("vmi-b", "x").in_ns("dev").with_version("1.0"),
    ]);
    let r = check(
        &same,
        Libraries::none(),
        &vm("dev", json!({"imageName": "vmi-a"})),
    )
    .unwrap();
    assert!(!r.is_outdated(), "{r:?}");
}

#[test]
fn a_vm_whose_image_cannot_be_determined_says_why() {
    let index = index();
    let err = |spec| check(&index, Libraries::none(), &vm("dev", spec)).unwrap_err();
    assert_eq!(err(json!({})), Undetermined::NoImage);
    assert!(matches!(
        err(json!({"imageName": "debian-12"})),
        Undetermined::Unresolved(ResolveError::Ambiguous { .. })
    ));
    assert!(matches!(
        err(json!({"imageName": "no-such"})),
        Undetermined::Unresolved(ResolveError::NotFound { .. })
    ));
    let bad = err(json!({"image": {"kind": "virtualmachineimage", "name": "vmi-d7"}}));
    assert!(bad.to_string().contains("\"virtualmachineimage\""), "{bad}");
    let missing = err(json!({"image": {"kind": "ClusterVirtualMachineImage", "name": "vmi-gone"}}));
    assert_eq!(
        missing.to_string(),
        "spec.image names ClusterVirtualMachineImage \"vmi-gone\", which does not exist in the cluster"
    );
}

#[test]
fn a_cdrom_name_is_resolved_as_vm_operator_copies_it() {
    let spec = json!({"hardware": {"cdrom": [{"name": "cd", "image": {"kind": "ClusterVirtualMachineImage", "name": "ubuntu-22.04"}}]}});
    assert_eq!(newer("dev", spec).as_deref(), Some("vmi-u24"));
}

#[test]
fn a_checker_answers_as_check_for_every_vm() {
    let index = index();
    let mut checker = Checker::new(&index, Libraries::none());
    for (ns, spec) in [
        ("dev", json!({"imageName": "vmi-d7"})),
        (
            "dev",
            json!({"image": {"kind": "VirtualMachineImage", "name": "vmi-d7"}}),
        ),
        ("prod", json!({"imageName": "vmi-d9"})),
        ("dev", json!({"imageName": "ubuntu-22.04"})),
        ("prod", json!({"imageName": "ubuntu-22.04"})),
        ("dev", json!({"imageName": "debian-12"})),
    ] {
        let vm = vm(ns, spec);
        assert_eq!(
            checker.check(&vm),
            check(&index, Libraries::none(), &vm),
            "{vm:?}"
        );
    }
}

#[test]
fn a_qualified_image_name_is_read_as_the_webhook_pins_it() {
    let index = index();
    let mut libraries = Libraries::default();
    let library = |name: &str| Library {
        scope: Scope::Namespace("dev".into()),
        name: name.into(),
        display_name: None,
    };
    libraries.insert(index.get(Some("dev"), "vmi-d7").unwrap(), library("team-a"));
    libraries.insert(index.get(Some("dev"), "vmi-d8").unwrap(), library("team-b"));
    let vm = vm("dev", json!({"imageName": "team-a/debian-12"}));
    let report = check(&index, &libraries, &vm).unwrap();
    assert_eq!(&*report.current.name, "vmi-d7");
    assert_eq!(
        report.newer.map(|i| i.name.to_string()).as_deref(),
        Some("vmi-d8")
    );
    // Without the libraries, VM Operator finds nothing by that name.
    assert!(matches!(
        check(&index, Libraries::none(), &vm),
        Err(Undetermined::Unresolved(ResolveError::NotFound { .. }))
    ));
}
