//! The pure domain of vmimage: everything that must give the same answer in the
//! `kubectl vmimage` plugin, the admission webhook and VM Operator itself.
//!
//! - [`api`]: the VM Operator objects vmimage reads and writes (images, VMs, publish
//!   requests, content libraries), version-agnostic where VM Operator's versions agree.
//! - [`vmi_id`]: the deterministic VMI ID of a Content Library item.
//! - [`index`]: a lean in-memory index of images with O(1) lookups by ID and display name.
//! - [`label_selector`]: Kubernetes label selectors in their text form.
//! - [`library`]: which content library each image's item belongs to.
//! - [`resolve`]: VM Operator's image-name resolver, case for case, with errors that list
//!   every candidate.
//! - [`select`]: image selectors (labels and a version range) for VMs that name no image.
//! - [`version`]: version ordering, image families and opt-in newest selection.
//! - [`outdated`]: the image a VM has and whether its family has a newer Ready version.
//! - [`spread`]: what one name resolves to across namespaces, grouped by outcome.
//! - [`catalog`]: reading images from YAML/JSON documents and Kubernetes Lists.
//! - [`mutate`]: VM Operator's create-time image steps and vmimage's rewrite, as one plan.
//! - [`policy`]: cluster image policies (VMImagePolicy) and their evaluation.
//! - [`decide`]: the create-time decision (plan, then policies) that the webhook makes
//!   and `check`/`pin` predict.
//! - [`quote`]: Go's `%q`, which VM Operator's messages use.
//! - [`duration`]: kubectl-style durations for every flag that takes one.
//!
//! Nothing here performs network I/O; callers feed objects in.

pub mod api;
pub mod catalog;
pub mod decide;
pub mod duration;
#[cfg(any(test, feature = "test-util"))]
pub mod fixtures;
pub mod index;
pub mod label_selector;
pub mod library;
pub mod mutate;
pub mod outdated;
pub mod policy;
pub mod quote;
pub mod resolve;
pub mod select;
pub mod spread;
pub mod version;
pub mod vmi_id;

pub use index::{ImageEntry, Index, Scope};
pub use resolve::{Resolution, ResolveError, resolve};
pub use vmi_id::VmiId;
