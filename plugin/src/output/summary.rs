//! An image in a few fields, for the reports that name images rather than print them
//! (`outdated`, `where`): what a reader needs to tell two images apart.

use serde::Serialize;
use vmimage_shared::index::ImageEntry;

/// An image, as the reports' `-o json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSummary {
    /// `VirtualMachineImage` or `ClusterVirtualMachineImage`.
    pub kind: &'static str,
    /// The object name (VMI ID).
    pub name: String,
    /// The image's namespace (namespaced images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `status.name`.
    pub display_name: Option<String>,
    /// Product or OS version.
    pub version: Option<String>,
    /// Whether the image is Ready.
    pub ready: bool,
}

impl From<&ImageEntry> for ImageSummary {
    fn from(image: &ImageEntry) -> Self {
        Self {
            kind: image.kind().as_str(),
            name: image.name.to_string(),
            namespace: image.scope.namespace().map(str::to_string),
            display_name: image.display_name.as_deref().map(str::to_string),
            version: image.version().map(str::to_string),
            ready: image.ready,
        }
    }
}
