//! Why the webhook refuses a VirtualMachine: its decision, or a read it could not make.
//! Typed to the edge, where each becomes the 403 message and a metric reason.

use crate::live::LiveError;
use std::fmt;
use vmimage_shared::decide::Denial;

/// A refusal (the request is answered 403, never allowed).
#[derive(Debug)]
pub enum Refusal {
    /// VM Operator would deny the VM, or a policy does.
    Denied(Box<Denial>),
    /// The index said no, and the API server could not be read to confirm it.
    Unconfirmed {
        /// The index's answer.
        denial: Box<Denial>,
        /// Why the live read failed.
        error: LiveError,
    },
    /// The synced index said no after waiting `grace` for the watch, and it holds too
    /// many `images` to confirm with a LIST in time.
    FromWatch {
        /// The index's answer.
        denial: Box<Denial>,
        /// How long the watch was given to deliver.
        grace: std::time::Duration,
        /// How many images the index holds.
        images: usize,
    },
    /// The index is not synced, and the API server could not be read instead.
    Syncing(LiveError),
    /// The index, too large to read live instead, is re-listing and did not finish in time.
    Relisting {
        /// How many images the index held before the re-list.
        images: usize,
        /// How long the request waited (`--live-read-timeout`).
        waited: std::time::Duration,
    },
    /// The policies are not loaded, and could not be listed.
    Policies(LiveError),
    /// A policy selects namespaces by label, and the VM's namespace could not be read.
    Labels {
        /// The VM's namespace.
        namespace: String,
        /// Why.
        error: LiveError,
    },
    /// A reference reads as `<library>/<display name>`, and the content libraries of its
    /// candidates could not be read.
    Libraries(LiveError),
    /// The VM's image fields have the wrong shape or type.
    Unreadable(serde_json::Error),
    /// The patch could not be encoded.
    Patch(kube::core::admission::SerializePatchError),
    /// An UPDATE changed image fields, and they cannot be checked against the policies.
    ChangedImages(Box<Refusal>),
}

impl Refusal {
    /// The metric label (`reason` of `vmimage_admissions_total`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Denied(d) => d.reason(),
            Self::Unconfirmed { .. } => "Unconfirmed",
            Self::FromWatch { denial, .. } => denial.reason(),
            Self::Syncing(_) | Self::Relisting { .. } => "Syncing",
            Self::Policies(_) => "PoliciesUnavailable",
            Self::Labels { .. } => "LabelsUnavailable",
            Self::Libraries(_) => "LibrariesUnavailable",
            Self::Unreadable(_) => "Unreadable",
            Self::Patch(_) => "PatchFailed",
            Self::ChangedImages(inner) => inner.reason(),
        }
    }

    /// The message for the log: a JSON error's kind and place, never the value serde
    /// quotes (it may be anything from the object).
    pub fn for_log(&self) -> String {
        match self {
            Self::Unreadable(e) => format!("image fields unreadable: {}", crate::log_text::json_error(e)),
            other => crate::log_text::Untrusted(&other.to_string()).to_string(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(d) => d.fmt(f),
            Self::Unconfirmed { denial, error } => {
                write!(
                    f,
                    "{denial} (vmimage could not confirm this with the API server: {error})"
                )
            }
            Self::FromWatch {
                denial,
                grace,
                images,
            } => write!(
                f,
                "{denial} (from vmimage's watched image index of {images} images, in sync with \
                 the API server; an image created less than {grace:?} before this request may \
                 not be in it yet: retry if you just created it)"
            ),
            Self::Syncing(error) => write!(
                f,
                "vmimage's image index is still syncing and the API server could not be read ({error}); retry shortly"
            ),
            Self::Relisting { images, waited } => write!(
                f,
                "vmimage's image index of {images} images is re-listing from the API server (its \
                 watch could not resume) and did not finish within {waited:?}; retry shortly"
            ),
            Self::Policies(error) => write!(
                f,
                "vmimage's image policies are not loaded and the API server could not be read ({error}); retry shortly"
            ),
            Self::Labels { namespace, error } => write!(
                f,
                "vmimage could not read the labels of namespace {namespace} to apply image policies ({error}); retry shortly"
            ),
            Self::Libraries(error) => write!(
                f,
                "an image reference reads as <content library>/<display name>, and vmimage could \
                 not read the content libraries of its candidates ({error}); retry shortly, or name the image by VMI ID"
            ),
            Self::Unreadable(e) => write!(
                f,
                "cannot read the VirtualMachine's image fields (spec.imageName, spec.image, spec.hardware.cdrom): {e}"
            ),
            Self::Patch(e) => write!(f, "vmimage could not encode its patch: {e}"),
            Self::ChangedImages(inner) => write!(
                f,
                "{inner} (the changed image fields must resolve for image policies to be checked)"
            ),
        }
    }
}
