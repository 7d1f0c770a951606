//! `VirtualMachineImage` and `ClusterVirtualMachineImage`: identical spec and status,
//! different scope.

use super::{
    CLUSTER_VIRTUAL_MACHINE_IMAGE, Condition, KindInfo, VIRTUAL_MACHINE_IMAGE,
    lenient::{self, Fields, Unread},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
///
/// Reading fails only on malformed `metadata` (which the API server never serves):
/// every other typed field is read on its own, and what does not fit is left out and
/// listed in [`Image::unread`], so one odd field costs that field, never the image or
/// the list it came in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "RawImage")]
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
    /// Fields that were present but could not be read (and are absent above).
    #[serde(skip)]
    pub unread: Vec<Unread>,
}

/// `spec` of an image (written, not read: reading goes through [`Image`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

/// `status` of an image (written, not read: reading goes through [`Image`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageStatus {
    /// The display name (v1alpha1: `imageName`). Not unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// Requested capacity (a quantity: `10Gi` or `10737418240`).
    #[serde(
        default,
        deserialize_with = "lenient::quantity",
        skip_serializing_if = "Option::is_none"
    )]
    pub requested: Option<String>,
    /// Capacity limit (a quantity).
    #[serde(
        default,
        deserialize_with = "lenient::quantity",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<String>,
    /// v1alpha3/v1alpha4: capacity (a quantity; later versions say `limit`).
    #[serde(
        default,
        deserialize_with = "lenient::quantity",
        skip_serializing_if = "Option::is_none"
    )]
    pub capacity: Option<String>,
    /// v1alpha3/v1alpha4: size (a quantity; later versions say `requested`).
    #[serde(
        default,
        deserialize_with = "lenient::quantity",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<String>,
}

// === impl Image ===

/// An image as first read: metadata typed at once (the API server has validated it, and
/// buffering `managedFields` would double the cost of a large list), the rest kept as
/// JSON to be read field by field.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawImage {
    #[serde(default)]
    api_version: Option<Value>,
    #[serde(default)]
    kind: Option<Value>,
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
}

impl From<RawImage> for Image {
    fn from(raw: RawImage) -> Self {
        let mut unread = Vec::new();
        let text = |v: Option<Value>, field: &str, unread: &mut Vec<Unread>| match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                unread.push(Unread {
                    field: field.to_string(),
                    message: format!("expected a string, found {other}"),
                });
                None
            }
        };
        let api_version = text(raw.api_version, "apiVersion", &mut unread);
        let kind = text(raw.kind, "kind", &mut unread);
        let metadata = raw.metadata;

        let mut spec = Fields::of(raw.spec, "spec", &mut unread);
        let provider_ref = spec.take("providerRef");
        // v1alpha1 kept these in spec; later versions moved them to status.
        let v1alpha1_type = spec.take::<String>("type");
        let v1alpha1_product = spec.take::<ProductInfo>("productInfo");
        let v1alpha1_os = spec.take::<OsInfo>("osInfo");
        let v1alpha1_hw = spec.take::<i64>("hwVersion");

        let mut st = Fields::of(raw.status, "status", &mut unread);
        // v1alpha1 names the display name `imageName`; a status with both uses `name`.
        let name = if st.has("name") {
            st.take("name")
        } else {
            st.take("imageName")
        };
        let status = ImageStatus {
            name,
            type_: st.take("type").or(v1alpha1_type),
            conditions: st.take_each("conditions"),
            product_info: st.take("productInfo").or(v1alpha1_product),
            os_info: st.take("osInfo").or(v1alpha1_os),
            capabilities: st.take_each("capabilities"),
            firmware: st.take("firmware"),
            hardware_version: st.take("hardwareVersion").or(v1alpha1_hw),
            disks: st.take_each("disks"),
            provider_content_version: st.take("providerContentVersion"),
            provider_item_id: st.take("providerItemID"),
        };
        Self {
            api_version,
            kind,
            metadata,
            spec: ImageSpec { provider_ref },
            status,
            unread,
        }
    }
}

impl Image {
    /// Reads one image from its JSON text: in one typed pass when every field fits (nearly
    /// always), else field by field like any other read of an [`Image`]. The result is the
    /// same either way; only the time differs.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        super::strict::read(text).or_else(|_| serde_json::from_str(text))
    }

    /// `Kind namespace/name` (or `Kind name`), for messages about this object.
    pub fn describe_ref(&self) -> String {
        let name = self.metadata.name.as_deref().unwrap_or("<unnamed>");
        match (self.image_kind(), self.metadata.namespace.as_deref()) {
            (ImageKind::VirtualMachineImage, Some(ns)) => format!("VirtualMachineImage {ns}/{name}"),
            (kind, _) => format!("{kind} {name}"),
        }
    }

    /// One line saying which fields were left unread, or `None` when all were read.
    pub fn unread_warning(&self) -> Option<String> {
        if self.unread.is_empty() {
            return None;
        }
        let fields: Vec<String> = self.unread.iter().map(Unread::to_string).collect();
        Some(format!(
            "{}: ignoring fields vmimage cannot read: {}",
            self.describe_ref(),
            fields.join("; ")
        ))
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_misfit_field_costs_that_field_only() {
        let image: Image = serde_json::from_value(json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": "vmi-1", "namespace": "dev"},
            "status": {
                "name": "ubuntu",
                "firmware": 7,
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "R", "message": "m",
                     "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": 3}
                ],
                "disks": [{"name": "disk-0", "requested": 10737418240_u64, "limit": "20Gi"}]
            }
        }))
        .unwrap();
        assert_eq!(image.display_name(), Some("ubuntu"));
        assert!(image.is_ready());
        assert_eq!(image.status.firmware, None);
        assert_eq!(image.status.disks[0].requested.as_deref(), Some("10737418240"));
        let fields: Vec<&str> = image.unread.iter().map(|u| u.field.as_str()).collect();
        assert_eq!(fields, ["status.conditions[1]", "status.firmware"]);
        let warning = image.unread_warning().unwrap();
        assert!(
            warning.starts_with("VirtualMachineImage dev/vmi-1: ignoring fields"),
            "{warning}"
        );
    }

    #[test]
    fn a_list_with_one_odd_image_reads_every_image() {
        let list: Vec<Image> = serde_json::from_str(
            r#"[{"metadata": {"name": "vmi-1"}, "status": {"name": "a", "hardwareVersion": "x"}},
                {"metadata": {"name": "vmi-2"}, "status": "nonsense"},
                {"metadata": {"name": "vmi-3"}, "status": {"name": "c"}}]"#,
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].display_name(), Some("a"));
        assert_eq!(list[1].unread[0].field, "status");
        assert_eq!(list[2].display_name(), Some("c"));
    }

    #[test]
    fn v1alpha1_images_keep_the_display_name_and_details_elsewhere() {
        let image: Image = serde_json::from_value(json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha1",
            "kind": "ClusterVirtualMachineImage",
            "metadata": {"name": "vmi-1"},
            "spec": {
                "type": "ovf", "imageID": "x", "hwVersion": 13,
                "providerRef": {"apiVersion": "vmoperator.vmware.com/v1alpha1", "kind": "ContentLibraryProvider", "name": "p"},
                "productInfo": {"version": "24.04"},
                "osInfo": {"type": "linux", "version": "24.04"}
            },
            "status": {"imageName": "ubuntu", "imageSupported": true}
        }))
        .unwrap();
        assert!(image.unread.is_empty(), "{:?}", image.unread);
        assert_eq!(image.display_name(), Some("ubuntu"));
        assert_eq!(image.status.type_.as_deref(), Some("ovf"));
        assert_eq!(image.status.hardware_version, Some(13));
        assert_eq!(
            image.status.product_info.unwrap().version.as_deref(),
            Some("24.04")
        );
        assert_eq!(image.spec.provider_ref.unwrap().name, "p");
    }

    #[test]
    fn v1alpha3_disks_keep_capacity_and_size() {
        let image: Image = serde_json::from_value(json!({
            "metadata": {"name": "vmi-1"},
            "status": {"disks": [{"capacity": 10737418240_u64, "size": "1Gi"}]}
        }))
        .unwrap();
        assert!(image.unread.is_empty(), "{:?}", image.unread);
        assert_eq!(image.status.disks[0].capacity.as_deref(), Some("10737418240"));
        assert_eq!(image.status.disks[0].size.as_deref(), Some("1Gi"));
    }

    #[test]
    fn writing_and_reading_back_keeps_every_typed_field() {
        let text = json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6",
            "kind": "VirtualMachineImage",
            "metadata": {"name": "vmi-1", "namespace": "dev"},
            "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibraryItem", "name": "clitem-1"}},
            "status": {
                "name": "ubuntu", "type": "OVF", "firmware": "efi", "hardwareVersion": 19,
                "capabilities": ["cloud-init"], "providerItemID": "u", "providerContentVersion": "1",
                "productInfo": {"product": "p", "vendor": "v", "version": "1", "fullVersion": "1.0"},
                "osInfo": {"id": "ubuntu64Guest", "type": "linux", "version": "24.04"},
                "disks": [{"name": "d", "requested": "10Gi", "limit": "20Gi"}],
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        });
        let image: Image = serde_json::from_value(text.clone()).unwrap();
        assert!(image.unread.is_empty(), "{:?}", image.unread);
        assert_eq!(serde_json::to_value(&image).unwrap(), text);
    }
}
