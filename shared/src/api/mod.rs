//! The VM Operator objects vmimage works with.
//!
//! Types here deserialize every served version VM Operator's fields agree on (v1alpha2 and
//! later, plus v1alpha1's `status.imageName` and spec-held details), so callers discover
//! the newest served version at run time instead of hard-coding one. Only the fields
//! vmimage needs are typed; tools that must round-trip an object keep it as JSON and
//! patch it. Images are read field by field ([`Image`], [`Unread`]): any object the real
//! schema accepts is read, and an odd field costs only itself.

mod condition;
mod image;
mod lenient;
mod library;
mod publish;
pub(crate) mod strict;
mod vm;

pub use condition::Condition;
pub use image::{Disk, Image, ImageKind, ImageSpec, ImageStatus, OsInfo, ProductInfo, ProviderRef};
pub use lenient::Unread;
pub use library::{ContentLibrary, ContentLibrarySpec, ContentLibraryStatus};
pub use publish::{
    PublishRequest, PublishRequestSpec, PublishRequestStatus, PublishSource, PublishTarget,
    PublishTargetItem, PublishTargetLocation, STAGES as PUBLISH_STAGES,
};
pub use vm::{CdromRef, ImageRef, VmImageRefs, VmLayout};

/// VM Operator's API group.
pub const GROUP: &str = "vmoperator.vmware.com";
/// The image registry API group (content libraries).
pub const IMAGE_REGISTRY_GROUP: &str = "imageregistry.vmware.com";
/// Annotation VM Operator copies the display name into.
pub const DISPLAY_NAME_ANNOTATION: &str = "vmware.com/display-name";
/// Label that marks a namespace's default content library (value empty).
pub const DEFAULT_LIBRARY_LABEL: &str = "imageregistry.vmware.com/default";

/// Identity of a custom resource kind: what discovery is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// API group.
    pub group: &'static str,
    /// Kind, e.g. `VirtualMachineImage`.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

/// `VirtualMachineImage`: namespaced images.
pub const VIRTUAL_MACHINE_IMAGE: KindInfo = KindInfo {
    group: GROUP,
    kind: "VirtualMachineImage",
    plural: "virtualmachineimages",
    namespaced: true,
};
/// `ClusterVirtualMachineImage`: cluster-scoped images.
pub const CLUSTER_VIRTUAL_MACHINE_IMAGE: KindInfo = KindInfo {
    group: GROUP,
    kind: "ClusterVirtualMachineImage",
    plural: "clustervirtualmachineimages",
    namespaced: false,
};
/// `VirtualMachine`.
pub const VIRTUAL_MACHINE: KindInfo = KindInfo {
    group: GROUP,
    kind: "VirtualMachine",
    plural: "virtualmachines",
    namespaced: true,
};
/// `VirtualMachinePublishRequest`.
pub const VIRTUAL_MACHINE_PUBLISH_REQUEST: KindInfo = KindInfo {
    group: GROUP,
    kind: "VirtualMachinePublishRequest",
    plural: "virtualmachinepublishrequests",
    namespaced: true,
};
/// `ContentLibrary` (namespaced).
pub const CONTENT_LIBRARY: KindInfo = KindInfo {
    group: IMAGE_REGISTRY_GROUP,
    kind: "ContentLibrary",
    plural: "contentlibraries",
    namespaced: true,
};
/// `ClusterContentLibrary`.
pub const CLUSTER_CONTENT_LIBRARY: KindInfo = KindInfo {
    group: IMAGE_REGISTRY_GROUP,
    kind: "ClusterContentLibrary",
    plural: "clustercontentlibraries",
    namespaced: false,
};
/// `ContentLibraryItem`: an image's `spec.providerRef` when the image is namespaced.
pub const CONTENT_LIBRARY_ITEM: KindInfo = KindInfo {
    group: IMAGE_REGISTRY_GROUP,
    kind: "ContentLibraryItem",
    plural: "contentlibraryitems",
    namespaced: true,
};
/// `ClusterContentLibraryItem`: a cluster image's `spec.providerRef`.
pub const CLUSTER_CONTENT_LIBRARY_ITEM: KindInfo = KindInfo {
    group: IMAGE_REGISTRY_GROUP,
    kind: "ClusterContentLibraryItem",
    plural: "clustercontentlibraryitems",
    namespaced: false,
};
