//! What vmimage warns about but never denies: image references VM Operator does not
//! resolve on CREATE (a CD-ROM other than the one it copies, a `spec.image` it keeps as
//! written), which will not find an image later.

use crate::{api::ImageRef, index::ImageEntry, quote::go_quote, resolve::ResolveError};
use std::{fmt, sync::Arc};

/// A reference that will not resolve, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// `spec.image` names no object (`spec.imageName` is empty, so VM Operator keeps it).
    KeptImage {
        /// As written.
        image: ImageRef,
        /// The VM's namespace.
        namespace: String,
        /// What VM Operator's resolver makes of the name, if anything.
        nearest: Option<Arc<ImageEntry>>,
    },
    /// A CD-ROM's image name resolves to no image, or to several.
    Cdrom {
        /// JSON path of the name.
        field: String,
        /// The resolver's error (VM Operator's text first).
        error: ResolveError,
    },
    /// The VM names an image and also carries an image selector, which is then not used
    /// (not said when `vmimage.io/selected-image` records that the selector picked the
    /// image the VM names).
    SelectorIgnored,
}

impl Warning {
    /// Whether a newer view of the images could remove the warning (an image that had not
    /// arrived yet); a selector ignored because the VM names an image stays ignored.
    pub fn may_be_lag(&self) -> bool {
        !matches!(self, Self::SelectorIgnored)
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeptImage {
                image,
                namespace,
                nearest,
            } => {
                let place = match image.kind.as_str() {
                    "VirtualMachineImage" => format!(
                        "no VirtualMachineImage {} in namespace {namespace}",
                        go_quote(&image.name)
                    ),
                    "ClusterVirtualMachineImage" => {
                        format!("no ClusterVirtualMachineImage {}", go_quote(&image.name))
                    }
                    other => format!(
                        "kind {} is neither VirtualMachineImage nor ClusterVirtualMachineImage",
                        go_quote(other)
                    ),
                };
                write!(
                    f,
                    "spec.image: {place}; spec.imageName is empty, so VM Operator keeps spec.image as written and does not check it"
                )?;
                if let Some(nearest) = nearest {
                    write!(f, "; the name resolves to {nearest} (kind: {})", nearest.kind())?;
                }
                Ok(())
            }
            Self::SelectorIgnored => write!(
                f,
                "{} is ignored: the VM names an image, and a selector is used only when it names none",
                crate::select::IMAGE_SELECTOR_ANNOTATION
            ),
            Self::Cdrom { field, error } => write!(
                f,
                "{field}: {error}; VM Operator does not resolve this CD-ROM when the VM is created, so it will not find an image"
            ),
        }
    }
}
