//! Turning a plan into byte edits of the source text.

use super::locate::{Document, Node, escape};
use vmimage_shared::{
    api::ImageRef,
    mutate::{Change, Plan, SELECTED_ANNOTATION},
    select::IMAGE_SELECTOR_ANNOTATION,
};
use yaml_rust2::scanner::TScalarStyle;

/// Replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte offset.
    pub start: usize,
    /// Byte offset (== start for an insertion).
    pub end: usize,
    /// New text.
    pub text: String,
}

/// Applies non-overlapping edits.
pub fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse((e.start, e.end)));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.text);
    }
    out
}

/// A scalar written in the style of the one it replaces.
fn styled(value: &str, like: &Node) -> String {
    match like.style {
        Some(TScalarStyle::DoubleQuoted) => {
            serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
        }
        Some(TScalarStyle::SingleQuoted) => format!("'{}'", value.replace('\'', "''")),
        _ => value.to_string(),
    }
}

fn replace(doc: &Document, text: &str, pointer: &str, value: &str) -> Result<Edit, String> {
    let node = doc
        .nodes
        .get(pointer)
        .ok_or_else(|| format!("{pointer} not found in the source"))?;
    if node.style == Some(TScalarStyle::Plain) {
        let written = doc.value.pointer(pointer).and_then(|v| v.as_str());
        if text.get(node.start..node.end) != written {
            return Err(format!(
                "{pointer} is a multi-line scalar; write it on one line to pin it"
            ));
        }
    } else if !matches!(
        node.style,
        Some(TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted)
    ) {
        return Err(format!(
            "{pointer} is not a plain or quoted scalar; write it on one line to pin it"
        ));
    }
    Ok(Edit {
        start: node.start,
        end: node.end,
        text: styled(value, node),
    })
}

/// The end of the line holding byte `at` (before the newline), so a new sibling line can
/// follow it, comments included.
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

/// Sets `<mapping>/kind` and `<mapping>/name`, inserting `kind` if it is missing.
fn set_ref(
    doc: &Document,
    text: &str,
    mapping: &str,
    image: &ImageRef,
    out: &mut Vec<Edit>,
) -> Result<(), String> {
    let name_ptr = format!("{mapping}/name");
    let kind_ptr = format!("{mapping}/kind");
    out.push(replace(doc, text, &name_ptr, &image.name)?);
    if doc.nodes.contains_key(&kind_ptr) {
        out.push(replace(doc, text, &kind_ptr, &image.kind)?);
        return Ok(());
    }
    let map = &doc.nodes[mapping];
    let name = &doc.nodes[&name_ptr];
    let key = doc
        .keys
        .get(&name_ptr)
        .ok_or_else(|| format!("{name_ptr}: key not found"))?;
    let text_new = if map.flow {
        format!(", \"kind\": \"{}\"", image.kind)
    } else {
        format!("\n{}kind: {}", " ".repeat(key.col), image.kind)
    };
    let at = if map.flow {
        name.end
    } else {
        line_end(text, name.end)
    };
    out.push(Edit {
        start: at,
        end: at,
        text: text_new,
    });
    Ok(())
}

/// A scalar for a new line: plain for IDs, JSON-quoted (valid YAML) for anything else.
fn new_scalar(value: &str) -> String {
    let plain = value.starts_with("vmi-") && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plain {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
    }
}

/// Where a new key of `<prefix>/spec` goes: before its first key, on a line of its own
/// with the same indentation (block style), or as the first member (flow style).
struct SpecSlot {
    at: usize,
    pad: String,
    flow: bool,
}

fn spec_slot(doc: &Document, text: &str, prefix: &str) -> Result<SpecSlot, String> {
    let spec = format!("{prefix}/spec");
    let node = doc.nodes.get(&spec).ok_or("spec not found in the source")?;
    let first = doc
        .keys
        .iter()
        .filter(|(ptr, _)| {
            ptr.strip_prefix(&spec)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.contains('/'))
        })
        .map(|(_, key)| key)
        .min_by_key(|key| key.start)
        .ok_or("spec has no keys to place the new one beside")?;
    if node.flow {
        return Ok(SpecSlot {
            at: first.start,
            pad: String::new(),
            flow: true,
        });
    }
    let line_start = text[..first.start].rfind('\n').map_or(0, |i| i + 1);
    if text[line_start..first.start].trim() != "" {
        return Err("spec's first key shares its line; put it on a line of its own to pin".into());
    }
    Ok(SpecSlot {
        at: line_start,
        pad: text[line_start..first.start].to_string(),
        flow: false,
    })
}

fn pinned_comment(plan: &Plan) -> String {
    plan.requested
        .as_ref()
        .map(|r| format!(" # pinned from {r:?} by kubectl vmimage"))
        .unwrap_or_default()
}

/// Whether pinning the VM at `prefix` records its selector's pick: it carries a
/// `vmimage.io/image-selector` of its own, and the selector chose the image.
pub fn records_selection(doc: &Document, prefix: &str, plan: &Plan) -> bool {
    plan.selected.is_some()
        && doc.keys.contains_key(&format!(
            "{prefix}/metadata/annotations/{}",
            escape(IMAGE_SELECTOR_ANNOTATION)
        ))
}

/// Writes the pick to `vmimage.io/selected-image`, as the webhook records it, beside the
/// VM's own selector: a VM that names the image its selector picked is not warned that
/// the selector is ignored. (`pin --selector` leaves no annotation behind to explain.)
fn record_selection(doc: &Document, text: &str, prefix: &str, plan: &Plan) -> Result<Option<Edit>, String> {
    let Some(value) = plan
        .selected_annotation()
        .filter(|_| records_selection(doc, prefix, plan))
    else {
        return Ok(None);
    };
    let annotations = format!("{prefix}/metadata/annotations");
    let quoted = serde_json::to_string(&value).unwrap_or_default();
    let recorded = format!("{annotations}/{}", escape(SELECTED_ANNOTATION));
    if doc.nodes.contains_key(&recorded) {
        let mut edit = replace(doc, text, &recorded, &value).map_err(|_| {
            format!(
                "metadata.annotations[{SELECTED_ANNOTATION}] is written over several lines, \
                 so pin cannot rewrite it with the new pick; delete it (pin writes it again) or put it on one line"
            )
        })?;
        edit.text = quoted;
        return Ok(Some(edit));
    }
    let selector = &doc.keys[&format!("{annotations}/{}", escape(IMAGE_SELECTOR_ANNOTATION))];
    if doc.nodes.get(&annotations).is_some_and(|n| n.flow) {
        return Ok(Some(Edit {
            start: selector.start,
            end: selector.start,
            text: format!("\"{SELECTED_ANNOTATION}\": {quoted}, "),
        }));
    }
    let line_start = text[..selector.start].rfind('\n').map_or(0, |i| i + 1);
    let pad = &text[line_start..selector.start];
    if pad.trim() != "" {
        return Err(format!(
            "{IMAGE_SELECTOR_ANNOTATION} shares its line with another key; put it on a line of its own to pin"
        ));
    }
    Ok(Some(Edit {
        start: line_start,
        end: line_start,
        text: format!("{pad}{SELECTED_ANNOTATION}: {quoted}\n"),
    }))
}

/// The edits that carry out `plan` for the VM at `prefix` (`""` or `/items/N`).
pub fn edits_for(doc: &Document, text: &str, prefix: &str, plan: &Plan) -> Result<Vec<Edit>, String> {
    let mut out = Vec::new();
    let image_name_ptr = format!("{prefix}/spec/imageName");
    let spec_flow = doc.nodes.get(&format!("{prefix}/spec")).is_some_and(|n| n.flow);
    for change in &plan.changes {
        match change {
            Change::ImageName(id) if doc.nodes.contains_key(&image_name_ptr) => {
                let mut edit = replace(doc, text, &image_name_ptr, id)?;
                let node = &doc.nodes[&image_name_ptr];
                let rest_of_line = &text[node.end..line_end(text, node.end)];
                if !spec_flow && !rest_of_line.contains('#') {
                    edit.text.push_str(&pinned_comment(plan));
                }
                out.push(edit);
            }
            Change::ImageName(id) => {
                // VM Operator copied a CD-ROM's name into the absent field; pin writes it.
                let slot = spec_slot(doc, text, prefix)?;
                let text = if slot.flow {
                    format!(
                        "\"imageName\": {}, ",
                        serde_json::to_string(id).unwrap_or_default()
                    )
                } else {
                    format!(
                        "{}imageName: {}{}\n",
                        slot.pad,
                        new_scalar(id),
                        pinned_comment(plan)
                    )
                };
                out.push(Edit {
                    start: slot.at,
                    end: slot.at,
                    text,
                });
            }
            Change::Image(image) => {
                let mapping = format!("{prefix}/spec/image");
                if doc.nodes.contains_key(&mapping) {
                    set_ref(doc, text, &mapping, image, &mut out)?;
                    continue;
                }
                let flow_value = format!(
                    "{{\"kind\": \"{}\", \"name\": {}}}",
                    image.kind,
                    serde_json::to_string(&image.name).unwrap_or_default()
                );
                let (at, new) = match (doc.nodes.get(&image_name_ptr), doc.keys.get(&image_name_ptr)) {
                    (Some(anchor), Some(_)) if spec_flow => {
                        (anchor.end, format!(", \"image\": {flow_value}"))
                    }
                    (Some(anchor), Some(key)) => {
                        let pad = " ".repeat(key.col);
                        (
                            line_end(text, anchor.end),
                            format!(
                                "\n{pad}image:\n{pad}  kind: {}\n{pad}  name: {}",
                                image.kind,
                                new_scalar(&image.name)
                            ),
                        )
                    }
                    _ => {
                        let slot = spec_slot(doc, text, prefix)?;
                        let pad = &slot.pad;
                        let new = if slot.flow {
                            format!("\"image\": {flow_value}, ")
                        } else {
                            format!(
                                "{pad}image:\n{pad}  kind: {}\n{pad}  name: {}\n",
                                image.kind,
                                new_scalar(&image.name)
                            )
                        };
                        (slot.at, new)
                    }
                };
                out.push(Edit {
                    start: at,
                    end: at,
                    text: new,
                });
            }
            Change::CdromImage { index, image } => {
                let list = plan.layout.cdrom_path().join("/");
                set_ref(
                    doc,
                    text,
                    &format!("{prefix}/{list}/{index}/image"),
                    image,
                    &mut out,
                )?;
            }
        }
    }
    out.extend(record_selection(doc, text, prefix, plan)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::parse_documents;

    fn run(text: &str, plan: Plan) -> String {
        let docs = parse_documents(text).unwrap();
        let edits = edits_for(&docs[0], text, "", &plan).unwrap();
        apply_edits(text, edits)
    }

    fn r(kind: &str, name: &str) -> ImageRef {
        ImageRef {
            kind: kind.into(),
            name: name.into(),
        }
    }

    #[test]
    fn block_yaml_gets_id_and_image_with_comments_kept() {
        let text = "# my vm\nkind: VirtualMachine\nspec:\n  className: small  # size\n  imageName: ubuntu\n  storageClass: fast\n";
        let plan = Plan {
            changes: vec![
                Change::Image(r("ClusterVirtualMachineImage", "vmi-1")),
                Change::ImageName("vmi-1".into()),
            ],
            requested: Some("ubuntu".into()),
            ..Default::default()
        };
        assert_eq!(
            run(text, plan),
            "# my vm\nkind: VirtualMachine\nspec:\n  className: small  # size\n  imageName: vmi-1 # pinned from \"ubuntu\" by kubectl vmimage\n  image:\n    kind: ClusterVirtualMachineImage\n    name: vmi-1\n  storageClass: fast\n"
        );
    }

    #[test]
    fn json_stays_json() {
        let text =
            "{\"kind\": \"VirtualMachine\", \"spec\": {\"imageName\": \"ubuntu\", \"className\": \"x\"}}";
        let plan = Plan {
            changes: vec![
                Change::Image(r("VirtualMachineImage", "vmi-1")),
                Change::ImageName("vmi-1".into()),
            ],
            requested: Some("ubuntu".into()),
            ..Default::default()
        };
        let out = run(text, plan);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["spec"]["imageName"], "vmi-1");
        assert_eq!(v["spec"]["image"]["kind"], "VirtualMachineImage");
        assert_eq!(v["spec"]["className"], "x");
    }

    #[test]
    fn existing_image_fields_are_replaced_in_their_own_style() {
        let text = "spec:\n  image:\n    name: 'ubuntu'\n";
        let plan = Plan {
            changes: vec![Change::Image(r("VirtualMachineImage", "vmi-1"))],
            ..Default::default()
        };
        assert_eq!(
            run(text, plan),
            "spec:\n  image:\n    name: 'vmi-1'\n    kind: VirtualMachineImage\n"
        );
    }

    #[test]
    fn cdrom_images_are_rewritten() {
        let text = "spec:\n  hardware:\n    cdrom:\n    - name: a\n      image: {kind: ClusterVirtualMachineImage, name: tools.iso}\n";
        let plan = Plan {
            changes: vec![Change::CdromImage {
                index: 0,
                image: r("ClusterVirtualMachineImage", "vmi-6"),
            }],
            ..Default::default()
        };
        assert!(run(text, plan).contains("{kind: ClusterVirtualMachineImage, name: vmi-6}"));
    }

    #[test]
    fn multi_line_scalars_are_refused() {
        let text = "spec:\n  imageName: ubuntu\n    server\n";
        let docs = parse_documents(text).unwrap();
        let plan = Plan {
            changes: vec![Change::ImageName("vmi-1".into())],
            ..Default::default()
        };
        assert!(
            edits_for(&docs[0], text, "", &plan)
                .unwrap_err()
                .contains("multi-line")
        );
    }
}
