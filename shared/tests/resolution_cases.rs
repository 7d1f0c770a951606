//! VM Operator's worked resolution cases (copied from the project's shared test data):
//! vmimage must agree with every one.

use serde::Deserialize;
use vmimage_shared::{ImageEntry, Index, ResolveError, resolve, resolve::AmbiguousIn};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    namespace: String,
    images: Vec<CaseImage>,
    #[serde(rename = "ref")]
    reference: String,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaseImage {
    scope: String,
    namespace: Option<String>,
    id: String,
    display_name: String,
    ready: bool,
    #[serde(rename = "type")]
    type_: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expect {
    Image { kind: String, name: String },
    Error { error: String, message: String },
}

fn entry(image: &CaseImage) -> ImageEntry {
    let entry = ImageEntry::test(&image.id, &image.display_name).of_type(&image.type_);
    let entry = match image.scope.as_str() {
        "Cluster" => entry,
        _ => entry.in_ns(
            image
                .namespace
                .as_deref()
                .expect("namespaced image has a namespace"),
        ),
    };
    if image.ready { entry } else { entry.not_ready() }
}

#[test]
fn every_worked_case_resolves_like_vm_operator() {
    let cases: Vec<Case> = serde_json::from_str(include_str!("fixtures/resolution-cases.json")).unwrap();
    assert!(cases.len() >= 13);
    for case in cases {
        let index = Index::from_entries(case.images.iter().map(entry));
        let got = resolve(&index, &case.namespace, &case.reference);
        match (&case.expect, got) {
            (Expect::Image { kind, name }, Ok(r)) => {
                assert_eq!(
                    (r.image.kind().as_str(), r.image.name.as_ref()),
                    (kind.as_str(), name.as_str()),
                    "{}",
                    case.name
                );
            }
            (Expect::Error { error, message }, Err(err)) => {
                assert_eq!(&err.vm_operator_message(), message, "{}", case.name);
                assert!(
                    err.to_string().starts_with(message.as_str()),
                    "{}: {err}",
                    case.name
                );
                let class = match &err {
                    ResolveError::NotFound { .. } => "not-found",
                    ResolveError::Ambiguous {
                        scope: AmbiguousIn::Namespace,
                        ..
                    } => "ambiguous-namespace",
                    ResolveError::Ambiguous {
                        scope: AmbiguousIn::Cluster,
                        ..
                    } => "ambiguous-cluster",
                    ResolveError::Ambiguous {
                        scope: AmbiguousIn::NamespaceAndCluster,
                        ..
                    } => "ambiguous-both",
                    other => panic!("{}: unexpected {other:?}", case.name),
                };
                assert_eq!(class, error, "{}", case.name);
            }
            (want, got) => panic!(
                "{}: expected {}, got {got:?}",
                case.name,
                match want {
                    Expect::Image { name, .. } => format!("image {name}"),
                    Expect::Error { message, .. } => format!("error {message}"),
                }
            ),
        }
    }
}
