//! A plan as the object fields it sets: one list for the webhook's JSON patch and for
//! anything that applies a plan to JSON itself (tests, the fuzzers), so the two agree.

use super::{Change, Plan, REQUESTED_IMAGE_ANNOTATION, SELECTED_ANNOTATION};
use crate::api::ImageRef;
use serde_json::{Value, json};

/// One field to set: its path (object keys; CD-ROM positions as decimal strings) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Where, from the object's root.
    pub path: Vec<String>,
    /// What.
    pub value: Value,
}

impl Plan {
    /// Every field the plan sets, in order: the changes, then vmimage's annotations.
    pub fn fields(&self) -> Vec<Field> {
        let at = |path: &[&str], value: Value| Field {
            path: path.iter().map(|s| s.to_string()).collect(),
            value,
        };
        let mut out: Vec<Field> = self
            .changes
            .iter()
            .map(|change| match change {
                Change::ImageName(name) => at(&["spec", "imageName"], json!(name)),
                Change::Image(image) => at(&["spec", "image"], image_value(image)),
                Change::CdromImage { index, image } => {
                    let mut field = at(self.layout.cdrom_path(), image_value(image));
                    field.path.extend([index.to_string(), "image".to_string()]);
                    field
                }
            })
            .collect();
        if let Some(requested) = self.requested.as_ref().filter(|_| !self.changes.is_empty()) {
            out.push(at(
                &["metadata", "annotations", REQUESTED_IMAGE_ANNOTATION],
                json!(requested),
            ));
        }
        if let Some(picked) = self.selected_annotation() {
            out.push(at(
                &["metadata", "annotations", SELECTED_ANNOTATION],
                json!(picked),
            ));
        }
        out
    }

    /// With newest selection or a selector: the [`SELECTED_ANNOTATION`] value recording
    /// which image was picked and why.
    /// A record of the selector's pick that the VM carries stays first.
    pub fn selected_annotation(&self) -> Option<String> {
        if self.selected.is_none() && self.notes.is_empty() {
            return None;
        }
        let picked: Vec<&str> = self
            .selected
            .iter()
            .chain(self.recorded_pick.iter().filter(|_| self.selected.is_none()))
            .chain(&self.notes)
            .map(String::as_str)
            .collect();
        Some(picked.join("; "))
    }

    /// Sets every field of [`Plan::fields`] in `object`, adding absent maps on the way.
    /// The plan must have been made from this object (CD-ROM positions exist).
    pub fn apply_to(&self, object: &mut Value) {
        for field in self.fields() {
            let mut at = &mut *object;
            for (depth, token) in field.path.iter().enumerate() {
                if depth + 1 == field.path.len() {
                    set(at, token, field.value.clone());
                    break;
                }
                at = child(at, token);
            }
        }
    }
}

fn image_value(image: &ImageRef) -> Value {
    json!({"kind": image.kind, "name": image.name})
}

/// The member or element `token` of `at`, made a map first if it is not a container.
fn child<'a>(at: &'a mut Value, token: &str) -> &'a mut Value {
    let element = match at {
        Value::Array(items) => token.parse::<usize>().ok().filter(|i| *i < items.len()),
        _ => None,
    };
    if let Some(i) = element {
        return &mut at.as_array_mut().expect("an array above")[i];
    }
    if !at.is_object() {
        *at = json!({});
    }
    let map = at.as_object_mut().expect("made a map above");
    let entry = map.entry(token.to_string()).or_insert_with(|| json!({}));
    if !(entry.is_object() || entry.is_array()) {
        *entry = json!({});
    }
    entry
}

fn set(at: &mut Value, token: &str, value: Value) {
    if !at.is_object() {
        *at = json!({});
    }
    at.as_object_mut()
        .expect("made a map above")
        .insert(token.to_string(), value);
}
