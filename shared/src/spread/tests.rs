use super::*;
use crate::{
    index::{ImageEntry, Scope},
    library::Library,
};

fn index() -> Index {
    Index::from_entries([
        ImageEntry::test("vmi-cluster", "ubuntu"),
        ImageEntry::test("vmi-copy", "ubuntu").in_ns("dev"),
        ImageEntry::test("vmi-copy", "ubuntu").in_ns("qa"),
        ImageEntry::test("vmi-other", "ubuntu").in_ns("lab"),
        ImageEntry::test("vmi-deb", "debian").in_ns("x"),
        ImageEntry::test("vmi-deb", "debian").in_ns("y"),
    ])
}

fn summary(groups: &[Group]) -> Vec<(String, Vec<&str>)> {
    groups
        .iter()
        .map(|g| {
            let what = match &g.outcome {
                Outcome::Resolved { kind, name } => format!("{kind} {name}"),
                Outcome::Ambiguous { candidates, .. } => format!(
                    "ambiguous {}",
                    candidates.iter().map(|(_, n)| &**n).collect::<Vec<_>>().join(",")
                ),
                other => other.reason().to_string(),
            };
            (what, g.members.iter().map(|m| m.namespace.as_str()).collect())
        })
        .collect()
}

#[test]
fn namespaces_with_the_same_outcome_share_a_group_the_largest_first() {
    let groups = spread(
        &index(),
        Libraries::none(),
        "ubuntu",
        ["team-b", "dev", "team-a", "qa", "lab", "team-c"],
    );
    assert_eq!(
        summary(&groups),
        [
            (
                "ClusterVirtualMachineImage vmi-cluster".to_string(),
                vec!["team-a", "team-b", "team-c"]
            ),
            ("ambiguous vmi-copy,vmi-cluster".to_string(), vec!["dev", "qa"]),
            ("ambiguous vmi-other,vmi-cluster".to_string(), vec!["lab"]),
        ]
    );
    let Outcome::Ambiguous { scope, .. } = &groups[1].outcome else {
        panic!("{groups:?}")
    };
    assert_eq!(*scope, AmbiguousIn::NamespaceAndCluster);
    assert_eq!(groups[0].image().unwrap().image.name.as_ref(), "vmi-cluster");
}

#[test]
fn copies_of_one_item_in_several_namespaces_are_one_outcome_and_the_rest_not_found() {
    let groups = spread(&index(), Libraries::none(), "debian", ["z", "y", "x", "x"]);
    assert_eq!(
        summary(&groups),
        [
            ("VirtualMachineImage vmi-deb".to_string(), vec!["x", "y"]),
            ("NotFound".to_string(), vec!["z"]),
        ]
    );
    // Each namespace keeps its own answer: its own copy.
    let copies: Vec<_> = groups[0]
        .members
        .iter()
        .map(|m| m.result.as_ref().unwrap().image.scope.namespace())
        .collect();
    assert_eq!(copies, [Some("x"), Some("y")]);
    assert!(matches!(groups[1].error(), Some(ResolveError::NotFound { .. })));
}

#[test]
fn ids_follow_vm_operators_namespace_first_rule() {
    let index = Index::from_entries([
        ImageEntry::test("vmi-1", "a"),
        ImageEntry::test("vmi-1", "a").in_ns("dev"),
    ]);
    let groups = spread(&index, Libraries::none(), "vmi-1", ["dev", "prod"]);
    assert_eq!(
        summary(&groups),
        [
            ("VirtualMachineImage vmi-1".to_string(), vec!["dev"]),
            ("ClusterVirtualMachineImage vmi-1".to_string(), vec!["prod"]),
        ]
    );
}

#[test]
fn an_empty_name_is_invalid_everywhere_and_no_namespace_gives_no_group() {
    let groups = spread(&index(), Libraries::none(), "", ["dev", "qa"]);
    assert_eq!(summary(&groups), [("Invalid".to_string(), vec!["dev", "qa"])]);
    assert!(spread(&index(), Libraries::none(), "ubuntu", []).is_empty());
}

#[test]
fn a_qualified_name_groups_by_the_image_its_library_gives() {
    let index = index();
    let mut libraries = Libraries::default();
    let library = |ns: &str, name: &str| Library {
        scope: Scope::Namespace(ns.into()),
        name: name.into(),
        display_name: None,
    };
    // The item in dev and qa is in library "golden" in both; lab's in "scratch".
    for ns in ["dev", "qa"] {
        libraries.insert(index.get(Some(ns), "vmi-copy").unwrap(), library(ns, "golden"));
    }
    libraries.insert(
        index.get(Some("lab"), "vmi-other").unwrap(),
        library("lab", "scratch"),
    );
    let groups = spread(
        &index,
        &libraries,
        "golden/ubuntu",
        ["dev", "qa", "lab", "team-a"],
    );
    assert_eq!(
        summary(&groups),
        [
            ("VirtualMachineImage vmi-copy".to_string(), vec!["dev", "qa"]),
            ("NotFound".to_string(), vec!["lab", "team-a"]),
        ]
    );
}
