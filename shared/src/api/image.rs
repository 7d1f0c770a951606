//! `VirtualMachineImage` and `ClusterVirtualMachineImage`: identical spec and status,
//! different scope.

use super::{CLUSTER_VIRTUAL_MACHINE_IMAGE, Condition, KindInfo, VIRTUAL_MACHINE_IMAGE};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Which of the two image kinds an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ImageKind {
    /// Namespaced `VirtualMachineImage`.
    VirtualMachineImage,
    /// Cluster-scoped `ClusterVirtualMachineImage`.
    ClusterVirtualMachineImage,
}

impl ImageKind {
    /// The kind's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        self.info().kind
    }

    /// Group, plural and scope of the kind.
    pub fn info(self) -> KindInfo {
        match self {
            Self::VirtualMachineImage => VIRTUAL_MACHINE_IMAGE,
            Self::ClusterVirtualMachineImage => CLUSTER_VIRTUAL_MACHINE_IMAGE,
        }
    }
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "VirtualMachineImage" => Ok(Self::VirtualMachineImage),
            "ClusterVirtualMachineImage" => Ok(Self::ClusterVirtualMachineImage),
            other => Err(format!(
                "unknown image kind {other:?}: expected VirtualMachineImage or ClusterVirtualMachineImage"
            )),
        }
    }
}

/// An image object of either kind, as read from the API or a catalog file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// `apiVersion`, when the source carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `kind`, when the source carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object metadata; `name` is the VMI ID.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: ImageSpec,
    /// Observed state, including the display name.
    #[serde(default)]
    pub status: ImageStatus,
}

/// `spec` of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// The Content Library item the image comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_ref: Option<ProviderRef>,
}

/// Reference to the object that provides an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderRef {
    /// API version of the provider.
    #[serde(default)]
    pub api_version: String,
    /// Kind of the provider, e.g. `ContentLibraryItem`.
    #[serde(default)]
    pub kind: String,
    /// Name of the provider object.
    #[serde(default)]
    pub name: String,
}

/// `status` of an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStatus {
    /// The display name (v1alpha1: `imageName`). Not unique.
    #[serde(default, alias = "imageName", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `OVF`, `ISO` or `VM`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Conditions; `Ready` is the main one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Product information from the OVF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_info: Option<ProductInfo>,
    /// Guest OS information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_info: Option<OsInfo>,
    /// Capabilities, e.g. `cloud-init`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// `BIOS` or `EFI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Virtual hardware version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<i64>,
    /// Disks in the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<Disk>,
    /// Content version of the library item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_content_version: Option<String>,
    /// The library item UUID the VMI ID derives from.
    #[serde(default, rename = "providerItemID", skip_serializing_if = "Option::is_none")]
    pub provider_item_id: Option<String>,
}

/// `status.productInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    /// Product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Short version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Full version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_version: Option<String>,
}

/// `status.osInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsInfo {
    /// Guest OS identifier, e.g. `ubuntu64Guest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OS type, e.g. `linux`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// OS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One entry of `status.disks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Disk name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Requested capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// Capacity limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

// === impl Image ===

impl Image {
    /// The image's kind: from `kind` when present, else from whether it has a namespace.
    pub fn image_kind(&self) -> ImageKind {
        match self.kind.as_deref() {
            Some("ClusterVirtualMachineImage") => ImageKind::ClusterVirtualMachineImage,
            Some("VirtualMachineImage") => ImageKind::VirtualMachineImage,
            _ if self.metadata.namespace.is_some() => ImageKind::VirtualMachineImage,
            _ => ImageKind::ClusterVirtualMachineImage,
        }
    }

    /// The display name (`status.name`). VM Operator's resolver compares only this
    /// field, never the `vmware.com/display-name` annotation, so neither does vmimage.
    pub fn display_name(&self) -> Option<&str> {
        self.status.name.as_deref()
    }

    /// Whether the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        Condition::find(&self.status.conditions, "Ready").is_some_and(Condition::is_true)
    }
}
