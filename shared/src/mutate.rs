//! What vmimage changes in a VirtualMachine so that it names its images by VMI ID: the
//! one plan the webhook turns into a JSON patch and `kubectl vmimage pin` into text
//! edits, so the two cannot disagree.
//!
//! The plan is a fixed point of VM Operator's resolver: `spec.imageName` is rewritten to
//! the ID only when VM Operator would resolve that ID to the same object (a namespaced
//! image with the same ID would win over a cluster image); otherwise only `spec.image` is
//! set, and VM Operator resolves the display name to the same image itself.

use crate::{
    api::{ImageKind, ImageRef, VmImageRefs},
    index::{ImageEntry, Index},
    quote::go_quote,
    resolve::{Resolution, ResolveError, resolve},
    version::resolve_newest,
    vmi_id::looks_like_id,
};
use std::sync::Arc;

/// Annotation that keeps the image reference the user wrote when vmimage rewrote it.
pub const REQUESTED_IMAGE_ANNOTATION: &str = "vmimage.io/requested-image";
/// Annotation a VM sets to opt in to newest-version selection (value `newest`).
pub const SELECT_ANNOTATION: &str = "vmimage.io/select";
/// Annotation vmimage writes saying which candidate it picked, and why.
pub const SELECTED_ANNOTATION: &str = "vmimage.io/selected-image";

/// How an ambiguous display name is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Exactly as VM Operator: ambiguity is an error (the default).
    #[default]
    Exact,
    /// Opt-in: the newest Ready candidate wins.
    NewestReady,
}

impl Selection {
    /// The selection a VM asks for through [`SELECT_ANNOTATION`].
    pub fn from_annotations(annotations: &std::collections::BTreeMap<String, String>) -> Self {
        match annotations.get(SELECT_ANNOTATION).map(String::as_str) {
            Some("newest") => Self::NewestReady,
            _ => Self::Exact,
        }
    }

    fn resolve(
        self,
        index: &Index,
        ns: &str,
        reference: &str,
        notes: &mut Vec<String>,
    ) -> Result<Resolution, ResolveError> {
        match self {
            Self::Exact => resolve(index, ns, reference),
            Self::NewestReady => resolve_newest(index, ns, reference).map(|choice| {
                if choice.candidates > 1 {
                    notes.push(choice.reason);
                }
                choice.resolution
            }),
        }
    }
}

/// One field vmimage sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set `spec.imageName`.
    ImageName(String),
    /// Set `spec.image`.
    Image(ImageRef),
    /// Set `spec.hardware.cdrom[index].image`.
    CdromImage {
        /// Position in `spec.hardware.cdrom`.
        index: usize,
        /// The resolved image.
        image: ImageRef,
    },
}

/// Which image field of a VM a resolution is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The boot image (`spec.imageName` / `spec.image`).
    Boot,
    /// The ISO of `spec.hardware.cdrom[index]`.
    Cdrom(usize),
}

/// The outcome of planning: the resolved images and the changes that record them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Fields to set, in order.
    pub changes: Vec<Change>,
    /// The reference the user wrote, when `spec.imageName` or `spec.image` is rewritten.
    pub requested: Option<String>,
    /// Every image the VM refers to, resolved.
    pub images: Vec<(Role, Arc<ImageEntry>)>,
    /// With newest selection: which candidate was picked for an ambiguous name, and why.
    pub notes: Vec<String>,
}

/// Why a VM's image references cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `spec.imageName` does not resolve to exactly one image.
    #[error("{error}")]
    ImageName {
        /// The resolver's error (VM Operator's text first).
        error: ResolveError,
    },
    /// Another image field (`spec.image.name`, a CD-ROM) does not resolve.
    #[error("{field}: {error}")]
    Field {
        /// JSON path of the field.
        field: String,
        /// The resolver's error.
        error: ResolveError,
    },
    /// `spec.imageName` and `spec.image` name different images (VM Operator's message).
    #[error(
        "spec.imageName: Invalid value: {}: must refer to the same resource as spec.image \
         (spec.imageName resolves to {resolved}, spec.image is {} {})",
        go_quote(reference), image.kind, image.name
    )]
    Mismatch {
        /// `spec.imageName` as written.
        reference: String,
        /// What it resolves to.
        resolved: Arc<ImageEntry>,
        /// `spec.image` as written.
        image: ImageRef,
    },
    /// Newest selection picked an image whose ID VM Operator would resolve to another
    /// object, so the choice cannot be recorded in `spec.imageName`.
    #[error(
        "spec.imageName: {} resolves to {image} as the newest version, but its ID also names a \
         VirtualMachineImage in the VM's namespace, which VM Operator would pick instead; name the image by ID",
        go_quote(reference)
    )]
    NotPinnable {
        /// `spec.imageName` as written.
        reference: String,
        /// The newest candidate.
        image: Arc<ImageEntry>,
    },
}

impl PlanError {
    /// The underlying resolver error, if any.
    pub fn resolve_error(&self) -> Option<&ResolveError> {
        match self {
            Self::ImageName { error } | Self::Field { error, .. } => Some(error),
            Self::Mismatch { .. } | Self::NotPinnable { .. } => None,
        }
    }
}

/// Plans the changes that make `vm` name its images by VMI ID, exactly as VM Operator
/// resolves them.
pub fn plan(index: &Index, vm: &VmImageRefs) -> Result<Plan, PlanError> {
    plan_with(index, vm, Selection::Exact)
}

/// [`plan`] with a choice of how ambiguous display names are treated.
pub fn plan_with(index: &Index, vm: &VmImageRefs, selection: Selection) -> Result<Plan, PlanError> {
    let ns = vm.namespace.as_str();
    let mut plan = Plan::default();
    let written_image = vm.image.as_ref().filter(|i| !i.name.is_empty());
    let image_name = vm.image_name.as_deref().filter(|n| !n.is_empty());

    match (image_name, written_image) {
        (Some(reference), image) => {
            let resolved = selection
                .resolve(index, ns, reference, &mut plan.notes)
                .map_err(|error| PlanError::ImageName { error })?
                .image;
            match image {
                Some(image) => {
                    let target = object_of(
                        index,
                        ns,
                        image,
                        "spec.image.name",
                        Selection::Exact,
                        &mut plan.notes,
                    )?;
                    if !Arc::ptr_eq(&target, &resolved) && *target != *resolved {
                        return Err(PlanError::Mismatch {
                            reference: reference.to_string(),
                            resolved,
                            image: image.clone(),
                        });
                    }
                    if target.name.as_ref() != image.name || image.kind != target.kind().as_str() {
                        plan.changes.push(Change::Image(image_ref(&target)));
                    }
                }
                None => plan.changes.push(Change::Image(image_ref(&resolved))),
            }
            if reference != resolved.name.as_ref() && is_fixed_point(index, ns, &resolved) {
                plan.changes.push(Change::ImageName(resolved.name.to_string()));
            } else if !plan.notes.is_empty() && reference != resolved.name.as_ref() {
                // The display name stays ambiguous for VM Operator: only the ID can carry the choice.
                return Err(PlanError::NotPinnable {
                    reference: reference.to_string(),
                    image: resolved,
                });
            }
            if !plan.changes.is_empty() && reference != resolved.name.as_ref() {
                plan.requested = Some(reference.to_string());
            }
            plan.images.push((Role::Boot, resolved));
        }
        (None, Some(image)) => {
            let target = object_of(index, ns, image, "spec.image.name", selection, &mut plan.notes)?;
            if target.name.as_ref() != image.name || image.kind != target.kind().as_str() {
                plan.changes.push(Change::Image(image_ref(&target)));
                if is_fixed_point(index, ns, &target) {
                    plan.changes.push(Change::ImageName(target.name.to_string()));
                }
                plan.requested = Some(image.name.clone());
            }
            plan.images.push((Role::Boot, target));
        }
        (None, None) => {}
    }

    for (i, cdrom) in vm.cdroms.iter().enumerate() {
        let Some(image) = cdrom.image.as_ref().filter(|i| !i.name.is_empty()) else {
            continue;
        };
        let field = format!("spec.hardware.cdrom[{i}].image.name");
        let target = object_of(index, ns, image, &field, selection, &mut plan.notes)?;
        if target.name.as_ref() != image.name || image.kind != target.kind().as_str() {
            plan.changes.push(Change::CdromImage {
                index: i,
                image: image_ref(&target),
            });
        }
        plan.images.push((Role::Cdrom(i), target));
    }
    Ok(plan)
}

/// The object a typed reference names: an existing object of that kind and name as
/// written, else (for names that are not IDs) the image with that display name.
fn object_of(
    index: &Index,
    ns: &str,
    image: &ImageRef,
    field: &str,
    selection: Selection,
    notes: &mut Vec<String>,
) -> Result<Arc<ImageEntry>, PlanError> {
    let existing = match image.kind.parse::<ImageKind>() {
        Ok(ImageKind::VirtualMachineImage) => index.get(Some(ns), &image.name),
        Ok(ImageKind::ClusterVirtualMachineImage) => index.get(None, &image.name),
        Err(_) => index
            .get(Some(ns), &image.name)
            .or_else(|| index.get(None, &image.name)),
    };
    if let Some(existing) = existing {
        return Ok(existing.clone());
    }
    let error = match selection.resolve(index, ns, &image.name, notes) {
        Ok(r) if !looks_like_id(&image.name) => return Ok(r.image),
        Ok(_) => ResolveError::NotFound {
            reference: image.name.clone(),
            similar: Vec::new(),
        },
        Err(error) => error,
    };
    Err(PlanError::Field {
        field: field.to_string(),
        error,
    })
}

/// Whether VM Operator, given `image.name` as `spec.imageName`, would pick `image` itself.
fn is_fixed_point(index: &Index, ns: &str, image: &Arc<ImageEntry>) -> bool {
    looks_like_id(&image.name) && resolve(index, ns, &image.name).is_ok_and(|r| r.image == *image)
}

fn image_ref(image: &ImageEntry) -> ImageRef {
    ImageRef {
        kind: image.kind().as_str().to_string(),
        name: image.name.to_string(),
    }
}

#[cfg(test)]
mod tests;
