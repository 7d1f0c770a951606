//! What vmimage changes in a VirtualMachine on CREATE: VM Operator's own create-time
//! image steps, in its order, then vmimage's additions. The one plan the webhook turns
//! into a JSON patch, `kubectl vmimage pin` into text edits and `check` into a verdict.
//!
//! VM Operator's steps (its mutating webhook, CREATE only):
//! 1. an empty CD-ROM `image.kind` becomes `VirtualMachineImage` (vmimage writes it too);
//! 2. an empty `spec.imageName` gets a CD-ROM's image name copied in
//!    ([`VmImageRefs::cdrom_copy`]); nothing else of the CD-ROMs is looked at;
//! 3. a non-empty `spec.imageName` is resolved ([`resolve`]); an error denies;
//! 4. an absent `spec.image` is set to the result; a present one must equal it exactly
//!    (kind and name as strings), or the VM is denied. With an empty `spec.imageName`,
//!    `spec.image` is kept as written and not checked.
//!
//! vmimage's additions never change that outcome: the plan is a fixed point of those
//! steps. `spec.imageName` is rewritten to the ID only when VM Operator resolves that ID
//! to the same object (a namespaced image with the same ID would win over a cluster
//! image); CD-ROM display names become object references; newest selection (opt-in)
//! settles ambiguity by pinning the ID. What VM Operator never resolves (other CD-ROMs, a
//! kept `spec.image`) is never a reason to deny: a [`Warning`] names what will not resolve.

use crate::{
    api::{CdromRef, ImageKind, ImageRef, VmImageRefs, VmLayout},
    index::{ImageEntry, Index},
    library::Libraries,
    quote::go_quote,
    resolve::{MatchedBy, Resolution, ResolveError, resolve, resolve_in},
    select::{ImageSelector, SelectError},
    version::resolve_newest_in,
    vmi_id::looks_like_id,
};
use std::sync::Arc;

mod fields;
mod warning;
pub use fields::Field;
pub use warning::Warning;

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

    /// Resolves `reference` (VM Operator's rules, then `<library>/<display name>`);
    /// with newest selection, a choice among several candidates is recorded in `notes`.
    /// Returns what, besides VM Operator's rules, found the image.
    fn resolve(
        self,
        images: &Images<'_>,
        ns: &str,
        reference: &str,
        notes: &mut Vec<String>,
    ) -> Result<(Resolution, Option<PinnedBy>), ResolveError> {
        let by_library = |r: Resolution| {
            let by = (r.matched_by == MatchedBy::Library).then_some(PinnedBy::Library);
            (r, by)
        };
        match self {
            Self::Exact => resolve_in(images.index, images.libraries, ns, reference).map(by_library),
            Self::NewestReady => {
                resolve_newest_in(images.index, images.libraries, ns, reference).map(|choice| {
                    if choice.candidates > 1 {
                        notes.push(choice.reason);
                        (choice.resolution, Some(PinnedBy::Newest))
                    } else {
                        by_library(choice.resolution)
                    }
                })
            }
        }
    }
}

/// What planning reads besides the VM: the images, and the library each came from (for
/// `<library>/<display name>` references; [`Libraries::none`] when none is known).
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    /// The images visible to the VM.
    pub index: &'a Index,
    /// Their content libraries, as far as known.
    pub libraries: &'a Libraries,
}

impl<'a> Images<'a> {
    /// The images, with no library known.
    pub fn without_libraries(index: &'a Index) -> Self {
        Self {
            index,
            libraries: Libraries::none(),
        }
    }
}

/// What picked an image that VM Operator's resolver would not pick from the VM as
/// written, so that only its ID can record the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinnedBy {
    /// Newest selection settled an ambiguous display name.
    Newest,
    /// A `<library>/<display name>` reference.
    Library,
    /// An image selector (the VM named no image).
    Selector,
}

impl PinnedBy {
    fn words(self) -> &'static str {
        match self {
            Self::Newest => "as the newest version",
            Self::Library => "through its content library",
            Self::Selector => "by the image selector",
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
    /// Set the image of CD-ROM `index` (`spec.hardware.cdrom`, or `spec.cdrom` in
    /// v1alpha3/v1alpha4).
    CdromImage {
        /// Position in the CD-ROM list.
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
    /// The ISO of CD-ROM `index` (also when VM Operator copied its name into
    /// `spec.imageName`).
    Cdrom(usize),
}

/// The outcome of planning: the resolved images and the changes that record them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Where the VM's API version keeps the fields the changes set.
    pub layout: VmLayout,
    /// Fields to set, in order.
    pub changes: Vec<Change>,
    /// The reference the user wrote, when `spec.imageName` or `spec.image` is rewritten.
    pub requested: Option<String>,
    /// Every image the VM refers to, resolved.
    pub images: Vec<(Role, Arc<ImageEntry>)>,
    /// With newest selection: which candidate was picked for an ambiguous name, and why.
    pub notes: Vec<String>,
    /// With an image selector: which image it picked, and why.
    pub selected: Option<String>,
    /// The VM's own record of its selector's pick of the image it names, kept when newest
    /// selection adds notes to the same annotation.
    pub recorded_pick: Option<String>,
    /// What will not resolve but does not stop the VM (VM Operator does not look at it).
    pub warnings: Vec<Warning>,
}

/// Why VM Operator (or vmimage's opt-in selection) refuses a VM's image references.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `spec.imageName` (written, or copied from a CD-ROM) does not resolve to exactly
    /// one image: VM Operator's resolver error, its text first.
    #[error("{error}{}", copied_note(*copied_from, *layout))]
    ImageName {
        /// The resolver's error.
        error: ResolveError,
        /// The CD-ROM whose name VM Operator copied into an empty `spec.imageName`.
        copied_from: Option<usize>,
        /// The VM's layout, to name that CD-ROM.
        layout: VmLayout,
    },
    /// `spec.image` is set and differs from what `spec.imageName` resolves to (VM
    /// Operator compares kind and name as exact strings).
    #[error(
        "spec.imageName: Invalid value: {}: must refer to the same resource as spec.image \
         (spec.imageName resolves to {resolved}; spec.image is {})",
        go_quote(reference),
        written(image)
    )]
    Mismatch {
        /// `spec.imageName` as VM Operator reads it.
        reference: String,
        /// What it resolves to.
        resolved: Arc<ImageEntry>,
        /// `spec.image` as written.
        image: ImageRef,
    },
    /// vmimage picked an image VM Operator would not pick from the VM as written, and
    /// its ID cannot record the choice (VM Operator would resolve that ID to another
    /// object, or the image's name is not a `vmi-` ID).
    #[error(
        "spec.imageName: {} resolves to {image} {}, but VM Operator would not resolve its name \
         {} to it (a VirtualMachineImage in the VM's namespace with that ID wins, and a name \
         not starting with \"vmi-\" is read as a display name); name the image by spec.image",
        go_quote(reference),
        by.words(),
        go_quote(&image.name)
    )]
    NotPinnable {
        /// `spec.imageName` as VM Operator reads it (empty for a selector).
        reference: String,
        /// The picked image.
        image: Arc<ImageEntry>,
        /// What picked it.
        by: PinnedBy,
    },
    /// The VM names no image and its image selector cannot be read or matches nothing.
    #[error("{0}")]
    Selector(SelectError),
}

fn copied_note(copied_from: Option<usize>, layout: VmLayout) -> String {
    copied_from.map_or_else(String::new, |i| {
        format!(
            " (spec.imageName is empty, so VM Operator copies it from {}.image.name)",
            layout.cdrom_field(i)
        )
    })
}

fn written(image: &ImageRef) -> String {
    format!(
        "{{kind: {}, name: {}}}",
        go_quote(&image.kind),
        go_quote(&image.name)
    )
}

impl PlanError {
    /// The underlying resolver error, if any.
    pub fn resolve_error(&self) -> Option<&ResolveError> {
        match self {
            Self::ImageName { error, .. } => Some(error),
            Self::Mismatch { .. } | Self::NotPinnable { .. } | Self::Selector(_) => None,
        }
    }

    /// A short machine-readable reason (a metric label): `NotFound`, `Ambiguous`,
    /// `Mismatch`, `NotPinnable`, `NoMatch` (a selector) or `Invalid`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ImageName { error, .. } => error.reason(),
            Self::Mismatch { .. } => "Mismatch",
            Self::NotPinnable { .. } => "NotPinnable",
            Self::Selector(SelectError::NoMatch { .. }) => "NoMatch",
            Self::Selector(_) => "Invalid",
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
    plan_in(&Images::without_libraries(index), vm, selection, None)
}

/// Plans with everything: libraries for qualified references, the selection, and an
/// image selector to use when the VM names no image and has no selector annotation of
/// its own (`pin --selector`).
pub fn plan_in(
    images: &Images<'_>,
    vm: &VmImageRefs,
    selection: Selection,
    default_selector: Option<&ImageSelector>,
) -> Result<Plan, PlanError> {
    let mut plan = Plan {
        layout: vm.layout,
        ..Plan::default()
    };
    let written = vm.image_name.as_deref().unwrap_or_default();
    let copied = if written.is_empty() { vm.cdrom_copy() } else { None };
    let reference = copied.map_or(written, |(_, name)| name);
    let image = vm.image.as_ref().filter(|_| vm.layout.has_image_ref());
    let planner = Planner {
        images,
        index: images.index,
        ns: &vm.namespace,
        selection,
    };
    let selector = ImageSelector::from_annotations(&vm.annotations);
    let names_an_image = !reference.is_empty() || image.is_some();
    if names_an_image {
        let named = Some(reference)
            .filter(|r| !r.is_empty())
            .or(image.map(|i| i.name.as_str()));
        plan.recorded_pick = match (&selector, vm.annotations.get(SELECTED_ANNOTATION), named) {
            (Ok(Some(selector)), Some(recorded), Some(id)) => {
                crate::select::recorded_pick(recorded, id, selector).map(str::to_string)
            }
            _ => None,
        };
        if !matches!(selector, Ok(None)) && plan.recorded_pick.is_none() {
            plan.warnings.push(Warning::SelectorIgnored);
        }
    } else {
        match selector.map_err(PlanError::Selector)? {
            Some(own) => planner.select(&own, &mut plan)?,
            None => {
                if let Some(given) = default_selector {
                    planner.select(given, &mut plan)?;
                }
            }
        }
    }
    if reference.is_empty() {
        // An imageless VM for VM Operator: spec.image stays as written, unchecked.
        if let Some(image) = image {
            planner.kept_image(image, &mut plan);
        }
    } else {
        let copied = copied.map(|(i, _)| (i, &vm.cdroms[i]));
        planner.boot(reference, copied, image, &mut plan)?;
    }
    for (i, cdrom) in vm.cdroms.iter().enumerate() {
        if copied.is_none_or(|(c, _)| c != i) {
            planner.other_cdrom(i, cdrom, &mut plan);
        }
    }
    // VM Operator's step 1, written out: its schema requires the kind, and its webhook
    // (which fills it in before validation) may not run where the VM is checked or pinned.
    for (i, cdrom) in vm.cdroms.iter().enumerate() {
        let rewritten = plan
            .changes
            .iter()
            .any(|c| matches!(c, Change::CdromImage { index, .. } if *index == i));
        if let Some(image) = cdrom.image.as_ref().filter(|im| im.kind.is_empty() && !rewritten) {
            plan.changes.push(Change::CdromImage {
                index: i,
                image: defaulted(Some(image)),
            });
        }
    }
    Ok(plan)
}

struct Planner<'a> {
    images: &'a Images<'a>,
    index: &'a Index,
    ns: &'a str,
    selection: Selection,
}

impl Planner<'_> {
    /// VM Operator's steps 3 and 4 for the reference it resolves, then the rewrite to the
    /// ID where that is a fixed point.
    fn boot(
        &self,
        reference: &str,
        copied: Option<(usize, &CdromRef)>,
        image: Option<&ImageRef>,
        plan: &mut Plan,
    ) -> Result<(), PlanError> {
        let (resolution, picked_by) = self
            .selection
            .resolve(self.images, self.ns, reference, &mut plan.notes)
            .map_err(|error| PlanError::ImageName {
                error,
                copied_from: copied.map(|(i, _)| i),
                layout: plan.layout,
            })?;
        let resolved = resolution.image;
        let target = image_ref(&resolved);
        match image {
            Some(image) if *image != target => {
                return Err(PlanError::Mismatch {
                    reference: reference.to_string(),
                    resolved,
                    image: image.clone(),
                });
            }
            Some(_) => {}
            None if plan.layout.has_image_ref() => plan.changes.push(Change::Image(target.clone())),
            None => {}
        }
        let pinned = if reference != &*resolved.name && self.is_fixed_point(&resolved) {
            &*resolved.name
        } else {
            reference
        };
        if let Some(by) = picked_by.filter(|_| pinned == reference) {
            // VM Operator cannot reach the choice from the name: only the ID can carry it.
            return Err(PlanError::NotPinnable {
                reference: reference.to_string(),
                image: resolved,
                by,
            });
        }
        let role = match copied {
            None => {
                if pinned != reference {
                    plan.changes.push(Change::ImageName(pinned.to_string()));
                }
                Role::Boot
            }
            Some((index, cdrom)) => {
                // The copied CD-ROM names the object itself; spec.imageName is written
                // so that VM Operator resolves what vmimage resolved, not a re-copy.
                let written = defaulted(cdrom.image.as_ref());
                if written != target {
                    plan.changes.push(Change::CdromImage { index, image: target });
                }
                if !plan.changes.is_empty() {
                    plan.changes.push(Change::ImageName(pinned.to_string()));
                }
                Role::Cdrom(index)
            }
        };
        if !plan.changes.is_empty() && reference != &*resolved.name {
            plan.requested = Some(reference.to_string());
        }
        plan.images.push((role, resolved));
        Ok(())
    }

    /// A VM naming no image, with an image selector: the newest Ready match, pinned by
    /// ID in `spec.image` (and `spec.imageName` where VM Operator resolves the ID to it;
    /// versions without `spec.image` need that).
    fn select(&self, selector: &ImageSelector, plan: &mut Plan) -> Result<(), PlanError> {
        let selected = selector
            .choose(self.index, self.ns)
            .map_err(PlanError::Selector)?;
        let image = selected.image;
        let fixed = self.is_fixed_point(&image);
        if plan.layout.has_image_ref() {
            plan.changes.push(Change::Image(image_ref(&image)));
        }
        if fixed {
            plan.changes.push(Change::ImageName(image.name.to_string()));
        } else if !plan.layout.has_image_ref() {
            return Err(PlanError::NotPinnable {
                reference: String::new(),
                image,
                by: PinnedBy::Selector,
            });
        }
        plan.selected = Some(selected.reason);
        plan.images.push((Role::Boot, image));
        Ok(())
    }

    /// `spec.image` with an empty `spec.imageName`: VM Operator keeps it unchecked, so
    /// vmimage changes nothing and warns when it names no image.
    fn kept_image(&self, image: &ImageRef, plan: &mut Plan) {
        match self.object(image) {
            Some(found) => plan.images.push((Role::Boot, found)),
            None => plan.warnings.push(Warning::KeptImage {
                image: image.clone(),
                namespace: self.ns.to_string(),
                nearest: self.nearest(&image.name),
            }),
        }
    }

    /// A CD-ROM VM Operator does not resolve: an existing object stays; a display name
    /// (or an ID of the other scope) becomes the object's reference; the rest is a warning.
    fn other_cdrom(&self, index: usize, cdrom: &CdromRef, plan: &mut Plan) {
        let Some(image) = cdrom.image.as_ref().filter(|i| !i.name.is_empty()) else {
            return;
        };
        if let Some(found) = self.object(&defaulted(Some(image))) {
            plan.images.push((Role::Cdrom(index), found));
            return;
        }
        match self
            .selection
            .resolve(self.images, self.ns, &image.name, &mut plan.notes)
        {
            Ok((r, _)) => {
                plan.changes.push(Change::CdromImage {
                    index,
                    image: image_ref(&r.image),
                });
                plan.images.push((Role::Cdrom(index), r.image));
            }
            Err(error) => plan.warnings.push(Warning::Cdrom {
                field: format!("{}.image.name", plan.layout.cdrom_field(index)),
                error,
            }),
        }
    }

    /// The object a typed reference names, exactly as written.
    fn object(&self, image: &ImageRef) -> Option<Arc<ImageEntry>> {
        match image.kind.parse::<ImageKind>() {
            Ok(ImageKind::VirtualMachineImage) => self.index.get(Some(self.ns), &image.name),
            Ok(ImageKind::ClusterVirtualMachineImage) => self.index.get(None, &image.name),
            Err(_) => None,
        }
        .cloned()
    }

    /// What VM Operator's resolver makes of `name`, to suggest in a warning.
    fn nearest(&self, name: &str) -> Option<Arc<ImageEntry>> {
        resolve(self.index, self.ns, name).ok().map(|r| r.image)
    }

    /// Whether VM Operator, given `image.name` as `spec.imageName`, would pick `image` itself.
    fn is_fixed_point(&self, image: &Arc<ImageEntry>) -> bool {
        looks_like_id(&image.name)
            && resolve(self.index, self.ns, &image.name).is_ok_and(|r| r.image == *image)
    }
}

/// A CD-ROM's image reference after VM Operator's kind default.
fn defaulted(image: Option<&ImageRef>) -> ImageRef {
    let mut image = image.cloned().unwrap_or_default();
    if image.kind.is_empty() {
        image.kind = ImageKind::VirtualMachineImage.as_str().to_string();
    }
    image
}

fn image_ref(image: &ImageEntry) -> ImageRef {
    ImageRef {
        kind: image.kind().as_str().to_string(),
        name: image.name.to_string(),
    }
}

#[cfg(test)]
mod tests;
