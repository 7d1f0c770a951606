//! Pinning one manifest text against an image index: no I/O, so the command, the tests
//! and the fuzz target share it.

use super::{Document, apply_edits, edits_for, parse_documents, records_selection, vms_in};
use vmimage_shared::{
    api::VmImageRefs,
    decide::{Context, Decision, decide_with},
    index::Index,
    library::Libraries,
    mutate::{Change, Plan, SELECTED_ANNOTATION, Selection},
    select::ImageSelector,
};

/// What pinning one text gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The text with every change applied (byte for byte the input when nothing changes).
    pub text: String,
    /// One line per VirtualMachine changed: where it is, and what changed.
    pub changes: Vec<String>,
    /// One line per VirtualMachine that could not be pinned, and why.
    pub problems: Vec<String>,
    /// What will not resolve but does not stop the VM (VM Operator does not look at it).
    pub warnings: Vec<String>,
    /// One line per VirtualMachine whose image fields cannot be read (an invalid manifest).
    pub invalid: Vec<String>,
}

/// Pins every VirtualMachine in `text` (named `name` in messages). VMs without a
/// namespace are taken to be in `default_ns`; `options.newest` selects the newest ready
/// version for every VM, as `vmimage.io/select: newest` does for one. An error means the
/// text is not YAML.
pub fn pin_text(
    name: &str,
    text: &str,
    index: &Index,
    default_ns: &str,
    options: PinOptions<'_>,
) -> Result<Pinned, String> {
    let docs = parse_documents(text).map_err(|e| format!("{name}: {e}"))?;
    Ok(pin_documents(name, text, &docs, index, default_ns, options))
}

/// What `pin` decides with beyond VM Operator's rules.
#[derive(Debug, Clone, Copy)]
pub struct PinOptions<'a> {
    /// `--newest`: settle every ambiguous display name with the newest Ready candidate.
    pub newest: bool,
    /// The content libraries of the images, for `<library>/<display name>` references.
    pub libraries: &'a Libraries,
    /// `--selector`/`--version`: the image selector for VMs that name no image.
    pub selector: Option<&'a ImageSelector>,
}

impl Default for PinOptions<'_> {
    fn default() -> Self {
        Self {
            newest: false,
            libraries: Libraries::none(),
            selector: None,
        }
    }
}

/// [`pin_text`] for a text already parsed into `docs`.
pub fn pin_documents(
    name: &str,
    text: &str,
    docs: &[Document],
    index: &Index,
    default_ns: &str,
    options: PinOptions<'_>,
) -> Pinned {
    let mut edits = Vec::new();
    let (mut changes, mut problems, mut warnings, mut invalid) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let labels = Default::default();
    // pin predicts the image part of the webhook's decision; policies are `check`'s.
    let ctx = Context {
        index,
        libraries: options.libraries,
        policies: &[],
        namespace_labels: &labels,
    };
    for (d, doc) in docs.iter().enumerate() {
        for (prefix, vm) in vms_in(&doc.value) {
            let refs = match vm_refs(vm, default_ns) {
                Ok(r) => r,
                Err(e) => {
                    invalid.push(format!("{name}: document {}: {e}", d + 1));
                    continue;
                }
            };
            let here = format!(
                "{name}: document {}: VirtualMachine {}/{}",
                d + 1,
                refs.namespace,
                refs.name
            );
            let selection = if options.newest {
                Selection::NewestReady
            } else {
                Selection::from_annotations(&refs.annotations)
            };
            let plan = match decide_with(&ctx, &refs, selection, options.selector) {
                Decision::Admit(admission) => {
                    warnings.extend(admission.warnings().into_iter().map(|w| format!("{here}: {w}")));
                    admission.plan
                }
                Decision::Deny(denial) => {
                    problems.push(format!("{here}: {denial}"));
                    continue;
                }
            };
            match edits_for(doc, text, &prefix, &plan) {
                Ok(e) if !plan.changes.is_empty() => {
                    edits.extend(e);
                    let mut what: Vec<String> = plan.changes.iter().map(|c| describe(c, &plan)).collect();
                    if records_selection(doc, &prefix, &plan) {
                        what.push(format!("{SELECTED_ANNOTATION} recorded"));
                    }
                    changes.push(format!("{here}: {}", what.join(", ")));
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{here}: {e}")),
            }
        }
    }
    Pinned {
        text: apply_edits(text, edits),
        changes,
        problems,
        warnings,
        invalid,
    }
}

/// A VM's image fields, in `default_ns` when it names no namespace.
fn vm_refs(vm: &serde_json::Value, default_ns: &str) -> Result<VmImageRefs, serde_json::Error> {
    let mut refs = VmImageRefs::from_json(vm)?;
    if refs.namespace.is_empty() {
        refs.namespace = default_ns.to_string();
    }
    Ok(refs)
}

/// Every readable VM of `docs`, as `pin` reads it (to know, before pinning, which
/// content libraries to read).
pub fn vms_of(docs: &[Document], default_ns: &str) -> Vec<VmImageRefs> {
    docs.iter()
        .flat_map(|doc| vms_in(&doc.value))
        .filter_map(|(_, vm)| vm_refs(vm, default_ns).ok())
        .collect()
}

fn describe(change: &Change, plan: &Plan) -> String {
    match change {
        Change::ImageName(id) => format!("spec.imageName -> {id}"),
        Change::Image(i) => format!("spec.image -> {} {}", i.kind, i.name),
        Change::CdromImage { index, image } => {
            format!(
                "{}.image -> {} {}",
                plan.layout.cdrom_field(*index),
                image.kind,
                image.name
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmimage_shared::catalog::Catalog;

    fn sample() -> Index {
        let text = include_str!("../../../manifests/samples/catalog.yaml");
        Index::from_entries(Catalog::parse("catalog.yaml", text).unwrap().entries())
    }

    const VM: &str = "# keep me\napiVersion: vmoperator.vmware.com/v1alpha6\nkind: VirtualMachine\n\
                      metadata: {name: web, namespace: dev}\nspec:\n  imageName: ubuntu-24.04  # by name\n";

    #[test]
    fn pins_once_and_then_is_a_fixed_point() {
        let index = sample();
        let first = pin_text("vm.yaml", VM, &index, "default", PinOptions::default()).unwrap();
        assert!(first.problems.is_empty(), "{:?}", first.problems);
        assert_eq!(first.changes.len(), 1, "{:?}", first.changes);
        assert!(first.text.starts_with("# keep me\n"));
        assert!(
            first.text.contains("imageName: vmi-0a0044d7c690bcbea  # by name"),
            "{}",
            first.text
        );
        let second = pin_text("vm.yaml", &first.text, &index, "default", PinOptions::default()).unwrap();
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert_eq!(second.text, first.text);
    }

    /// A VM choosing by its own selector, its annotations in block or flow style, with or
    /// without a stale record of an earlier pick.
    fn selector_vm(annotations: &str) -> String {
        format!(
            "apiVersion: vmoperator.vmware.com/v1alpha6\nkind: VirtualMachine\nmetadata:\n  name: web\n  \
             namespace: dev\n  annotations{annotations}\nspec:\n  className: small\n"
        )
    }

    #[test]
    fn a_selector_pick_is_recorded_so_the_pinned_vm_is_not_warned_and_pins_once() {
        let index = sample();
        let selector = "os.image.vmoperator.vmware.com/id=ubuntu64Guest";
        for annotations in [
            format!(":\n    vmimage.io/image-selector: {selector}\n    team: web"),
            format!(": {{team: web, vmimage.io/image-selector: \"{selector}\"}}"),
            format!(
                ":\n    vmimage.io/selected-image: vmi-old picked by vmimage.io/image-selector\n    \
                 vmimage.io/image-selector: '{selector}'\n    team: web"
            ),
        ] {
            let text = selector_vm(&annotations);
            let first = pin_text("vm.yaml", &text, &index, "default", PinOptions::default()).unwrap();
            assert!(first.problems.is_empty(), "{:?}", first.problems);
            assert!(
                first.changes[0].ends_with("vmimage.io/selected-image recorded"),
                "{:?}",
                first.changes
            );
            let pinned = parse_documents(&first.text).unwrap().remove(0).value;
            let recorded = pinned["metadata"]["annotations"]["vmimage.io/selected-image"]
                .as_str()
                .unwrap_or_default();
            assert!(
                recorded.starts_with("vmi-0a0044d7c690bcbea picked by vmimage.io/image-selector as"),
                "{}",
                first.text
            );
            assert_eq!(pinned["metadata"]["annotations"]["team"], "web", "{}", first.text);
            assert_eq!(pinned["spec"]["imageName"], "vmi-0a0044d7c690bcbea");
            let second = pin_text("vm.yaml", &first.text, &index, "default", PinOptions::default()).unwrap();
            assert!(second.changes.is_empty(), "{:?}", second.changes);
            assert!(second.warnings.is_empty(), "{:?}", second.warnings);
            assert_eq!(second.text, first.text);
        }
    }

    #[test]
    fn a_record_pin_cannot_rewrite_is_a_problem_that_says_what_to_do() {
        let index = sample();
        // (An empty one is no string: refused as invalid before pinning.)
        for record in [
            " |\n      vmi-old picked\n      by a selector",
            " vmi-old picked\n      by a selector",
        ] {
            let text = selector_vm(&format!(
                ":\n    vmimage.io/selected-image:{record}\n    vmimage.io/image-selector: \
                 os.image.vmoperator.vmware.com/id=ubuntu64Guest"
            ));
            let out = pin_text("vm.yaml", &text, &index, "default", PinOptions::default()).unwrap();
            assert_eq!(out.problems.len(), 1, "{out:?}");
            assert!(
                out.problems[0].contains(
                    "metadata.annotations[vmimage.io/selected-image] is written over several lines"
                ),
                "{}",
                out.problems[0]
            );
            assert_eq!(out.text, text, "nothing is written when a VM cannot be pinned");
        }
    }

    #[test]
    fn problems_name_the_file_document_and_vm_and_not_yaml_is_an_error() {
        let index = sample();
        let ambiguous = VM.replace("ubuntu-24.04", "debian-12");
        let out = pin_text("vm.yaml", &ambiguous, &index, "default", PinOptions::default()).unwrap();
        assert_eq!(out.problems.len(), 1);
        assert!(
            out.problems[0].starts_with("vm.yaml: document 1: VirtualMachine dev/web: "),
            "{}",
            out.problems[0]
        );
        assert!(
            pin_text("bad.yaml", "a: [", &index, "default", PinOptions::default())
                .unwrap_err()
                .starts_with("bad.yaml: ")
        );
    }
}
