//! Which VirtualMachines run an old version of their image: the image a VM has, and the
//! newest Ready image of that image's family ([`crate::version::family_of`], found in one
//! pass by [`crate::version::newest_of_family`]) visible from the VM's namespace,
//! compared in vmimage's version order.
//!
//! The image a VM has is `spec.image` when set (looked up by kind and object name, as
//! VM Operator's controller reads it), else what VM Operator's resolver makes of
//! `spec.imageName` (or of the CD-ROM name it copies there on CREATE), then, for a name it
//! finds nothing for, its `<library>/<display name>` reading, which the webhook pins. A
//! VM whose image cannot be determined is reported as such, never taken for up to date.

use crate::{
    api::{ImageKind, VmImageRefs},
    index::{ImageEntry, Index},
    library::Libraries,
    resolve::{ResolveError, resolve_in},
    version::{compare, newest_of_family},
};
use std::{cmp::Ordering, collections::HashMap, fmt, sync::Arc};

/// Which field told the VM's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFrom {
    /// `spec.image {kind, name}`.
    ImageRef,
    /// `spec.imageName` (or the CD-ROM name VM Operator copies into it), resolved.
    ImageName,
}

impl ImageFrom {
    /// The field, as messages and `-o json` name it.
    pub fn field(self) -> &'static str {
        match self {
            Self::ImageRef => "spec.image",
            Self::ImageName => "spec.imageName",
        }
    }
}

impl fmt::Display for ImageFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// Why a VM's image cannot be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Undetermined {
    /// No `spec.image`, no `spec.imageName`, no CD-ROM image: an imageless VM.
    #[error("it names no image (no spec.image, spec.imageName or CD-ROM image)")]
    NoImage,
    /// `spec.image.kind` is not one of the two image kinds.
    #[error("spec.image.kind {kind:?} is neither VirtualMachineImage nor ClusterVirtualMachineImage")]
    BadKind {
        /// The kind as written.
        kind: String,
    },
    /// `spec.image` names an object that does not exist.
    #[error("spec.image names {kind} {name:?}, which does not exist {}", match namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "in the cluster".to_string(),
    })]
    Missing {
        /// The kind.
        kind: ImageKind,
        /// The object name as written.
        name: String,
        /// Where it was looked for (`None`: cluster scope).
        namespace: Option<String>,
    },
    /// `spec.imageName` does not resolve to exactly one image.
    #[error("spec.imageName: {0}")]
    Unresolved(ResolveError),
}

/// A VM's image and the newest Ready image of its family, if that is a newer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The image the VM has.
    pub current: Arc<ImageEntry>,
    /// Where that was read.
    pub from: ImageFrom,
    /// The newest Ready image of the family visible from the VM's namespace, when its
    /// version is newer than the current image's; `None`: the VM is up to date.
    pub newer: Option<Arc<ImageEntry>>,
}

impl Report {
    /// Whether a newer version is available.
    pub fn is_outdated(&self) -> bool {
        self.newer.is_some()
    }
}

/// The image `vm` has, from its namespace (`vm.namespace`, which the caller fills in
/// when a manifest leaves it out). `libraries` links the images of a qualified
/// `spec.imageName` to their libraries ([`crate::resolve::qualified::candidates_for_vm`]).
pub fn current_image(
    index: &Index,
    libraries: &Libraries,
    vm: &VmImageRefs,
) -> Result<(Arc<ImageEntry>, ImageFrom), Undetermined> {
    if let Some(image) = &vm.image {
        let kind: ImageKind = image.kind.parse().map_err(|_| Undetermined::BadKind {
            kind: image.kind.clone(),
        })?;
        let namespace = match kind {
            ImageKind::VirtualMachineImage => Some(vm.namespace.as_str()),
            ImageKind::ClusterVirtualMachineImage => None,
        };
        return index
            .get(namespace, &image.name)
            .map(|i| (i.clone(), ImageFrom::ImageRef))
            .ok_or_else(|| Undetermined::Missing {
                kind,
                name: image.name.clone(),
                namespace: namespace.map(str::to_string),
            });
    }
    let reference = vm.effective_image_name().ok_or(Undetermined::NoImage)?;
    resolve_in(index, libraries, &vm.namespace, reference)
        .map(|r| (r.image, ImageFrom::ImageName))
        .map_err(Undetermined::Unresolved)
}

/// The newest Ready image of `image`'s family visible from `namespace`, if its version
/// is newer than `image`'s. An image without a version has nothing to be older than, and
/// an equal version (a copy in another scope, a rebuild) is not newer.
pub fn newer_version(index: &Index, namespace: &str, image: &ImageEntry) -> Option<Arc<ImageEntry>> {
    image.version()?;
    newest_of_family(index, namespace, image, |i| i.ready)
        .filter(|newest| compare(newest.version(), image.version()) == Ordering::Greater)
}

/// Whether `vm` runs an old version of its image.
pub fn check(index: &Index, libraries: &Libraries, vm: &VmImageRefs) -> Result<Report, Undetermined> {
    Checker::new(index, libraries).check(vm)
}

/// [`check`] for many VMs: a family is scanned once per namespace and image, not once
/// per VM (a thousand VMs on one image cost one scan of the visible images).
#[derive(Debug)]
pub struct Checker<'a> {
    index: &'a Index,
    libraries: &'a Libraries,
    /// The newer version by (VM namespace, image kind, image name). A namespaced image
    /// is always the VM's namespace's, so the three name it.
    newer: HashMap<(String, ImageKind, Arc<str>), Option<Arc<ImageEntry>>>,
}

impl<'a> Checker<'a> {
    /// A checker reading `index` (and `libraries`, for qualified names).
    pub fn new(index: &'a Index, libraries: &'a Libraries) -> Self {
        Self {
            index,
            libraries,
            newer: HashMap::new(),
        }
    }

    /// Whether `vm` runs an old version of its image.
    pub fn check(&mut self, vm: &VmImageRefs) -> Result<Report, Undetermined> {
        let (current, from) = current_image(self.index, self.libraries, vm)?;
        let key = (vm.namespace.clone(), current.kind(), current.name.clone());
        let index = self.index;
        let newer = self
            .newer
            .entry(key)
            .or_insert_with(|| newer_version(index, &vm.namespace, &current))
            .clone();
        Ok(Report { current, from, newer })
    }
}

#[cfg(test)]
mod tests;
