//! The image-related fields of a `VirtualMachine`, read without owning the rest of the
//! object: the webhook and `pin` patch the original JSON/YAML, so nothing else is lost.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `spec.image` or `spec.hardware.cdrom[].image`: a typed reference to an image object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `VirtualMachineImage` or `ClusterVirtualMachineImage` (may be empty when written by hand).
    #[serde(default)]
    pub kind: String,
    /// The object name (a VMI ID), or a display name written by hand.
    #[serde(default)]
    pub name: String,
}

/// One CD-ROM of `spec.hardware.cdrom`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CdromRef {
    /// CD-ROM device name.
    #[serde(default)]
    pub name: String,
    /// The ISO image it mounts.
    #[serde(default)]
    pub image: Option<ImageRef>,
    /// Whether the device is connected (VM Operator prefers the first connected one).
    #[serde(default)]
    pub connected: Option<bool>,
}

/// Where a VirtualMachine's API version keeps its image fields (VM Operator's CRD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VmLayout {
    /// v1alpha1, v1alpha2: `spec.imageName` only; no `spec.image`, no CD-ROMs.
    ImageNameOnly,
    /// v1alpha3, v1alpha4: `spec.image`, CD-ROMs in `spec.cdrom`.
    SpecCdrom,
    /// v1alpha5 and later (and any version vmimage does not know): `spec.image`, CD-ROMs
    /// in `spec.hardware.cdrom`.
    #[default]
    HardwareCdrom,
}

impl VmLayout {
    /// The layout of `apiVersion` (`vmoperator.vmware.com/v1alpha3`, …).
    pub fn of(api_version: &str) -> Self {
        match api_version.rsplit('/').next().unwrap_or_default() {
            "v1alpha1" | "v1alpha2" => Self::ImageNameOnly,
            "v1alpha3" | "v1alpha4" => Self::SpecCdrom,
            _ => Self::HardwareCdrom,
        }
    }

    /// Whether the version has `spec.image` (writing one to v1alpha1/v1alpha2 is refused
    /// by the schema: `unknown field "spec.image"`).
    pub fn has_image_ref(self) -> bool {
        self != Self::ImageNameOnly
    }

    /// The path of the CD-ROM list, as object keys.
    pub fn cdrom_path(self) -> &'static [&'static str] {
        match self {
            Self::ImageNameOnly => &[],
            Self::SpecCdrom => &["spec", "cdrom"],
            Self::HardwareCdrom => &["spec", "hardware", "cdrom"],
        }
    }

    /// `spec.hardware.cdrom[i]` (or `spec.cdrom[i]`), for messages.
    pub fn cdrom_field(self, index: usize) -> String {
        format!("{}[{index}]", self.cdrom_path().join("."))
    }
}

/// What a VirtualMachine says about its images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmImageRefs {
    /// Where this VM's API version keeps its image fields.
    pub layout: VmLayout,
    /// `metadata.name` (may be empty on CREATE with `generateName`).
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `spec.imageName`: a VMI ID or a display name.
    pub image_name: Option<String>,
    /// `spec.image`: `None` when absent or null (VM Operator's nil); `{}` is `Some`.
    pub image: Option<ImageRef>,
    /// `spec.hardware.cdrom` (`spec.cdrom` in v1alpha3/v1alpha4).
    pub cdroms: Vec<CdromRef>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    spec: Option<RawSpec>,
}

#[derive(Default, Deserialize)]
struct RawMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    image_name: Option<String>,
    #[serde(default)]
    image: Option<ImageRef>,
    #[serde(default)]
    hardware: Option<RawHardware>,
    /// v1alpha3/v1alpha4 keep CD-ROMs here.
    #[serde(default)]
    cdrom: Option<Vec<CdromRef>>,
}

#[derive(Default, Deserialize)]
struct RawHardware {
    #[serde(default)]
    cdrom: Option<Vec<CdromRef>>,
}

impl VmImageRefs {
    /// Reads the image fields of a VirtualMachine given as JSON. Fails only when a field
    /// vmimage reads has the wrong type (e.g. `spec.imageName: 3`).
    pub fn from_json(vm: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let layout = VmLayout::of(
            vm.get("apiVersion")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default(),
        );
        check_objects(vm, layout)?;
        // The error names the field (`spec.imageName: invalid type: integer …`). Tracking
        // the path costs on every field, so it is done only to word an error.
        let raw = match Raw::deserialize(vm) {
            Ok(raw) => raw,
            Err(_) => serde_path_to_error::deserialize::<_, Raw>(vm).map_err(|e| {
                use serde::de::Error;
                let path = e.path().to_string();
                serde_json::Error::custom(format!("{path}: {}", e.into_inner()))
            })?,
        };
        let spec = raw.spec.unwrap_or_default();
        let (image, cdroms) = match layout {
            // Fields the version does not have are pruned by the API server: never read.
            VmLayout::ImageNameOnly => (None, None),
            VmLayout::SpecCdrom => (spec.image, spec.cdrom),
            VmLayout::HardwareCdrom => (spec.image, spec.hardware.and_then(|h| h.cdrom)),
        };
        Ok(Self {
            layout,
            name: raw.metadata.name.unwrap_or_default(),
            namespace: raw.metadata.namespace.unwrap_or_default(),
            annotations: raw.metadata.annotations.unwrap_or_default(),
            image_name: spec.image_name,
            image,
            cdroms: cdroms.unwrap_or_default(),
        })
    }

    /// The CD-ROM whose image name VM Operator copies into an empty `spec.imageName` on
    /// CREATE, and that name: the first connected CD-ROM (an omitted `connected` is true,
    /// the CRD's default); if none is connected, or its name is empty, the first CD-ROM.
    /// `None` without CD-ROMs. The name may be empty (nothing is then resolved).
    pub fn cdrom_copy(&self) -> Option<(usize, &str)> {
        fn name(c: &CdromRef) -> &str {
            c.image.as_ref().map_or("", |i| i.name.as_str())
        }
        let first = self.cdroms.first()?;
        match self.cdroms.iter().position(|c| c.connected.unwrap_or(true)) {
            Some(i) if !name(&self.cdroms[i]).is_empty() => Some((i, name(&self.cdroms[i]))),
            _ => Some((0, name(first))),
        }
    }

    /// The reference VM Operator's resolver reads on CREATE: `spec.imageName`, or, when
    /// it is empty, the name [`Self::cdrom_copy`] copies into it. `None`: nothing is resolved.
    pub fn effective_image_name(&self) -> Option<&str> {
        match self.image_name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => Some(name),
            None => self.cdrom_copy().map(|(_, name)| name).filter(|n| !n.is_empty()),
        }
    }
}

/// serde fills a struct from an array too (field by position), so `spec.image:
/// ["ubuntu"]` would read as `kind: ubuntu`; Kubernetes objects never take that form.
/// Every object vmimage reads must be a JSON object (or absent, or null).
fn check_objects(vm: &serde_json::Value, layout: VmLayout) -> Result<(), serde_json::Error> {
    use serde::de::Error;
    let shape = |v: &serde_json::Value| match v {
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) | serde_json::Value::Null => "an object",
    };
    let must_be_object = |field: &str, v: Option<&serde_json::Value>| match v {
        Some(v) if !(v.is_object() || v.is_null()) => Err(serde_json::Error::custom(format!(
            "{field} must be an object, not {}",
            shape(v)
        ))),
        _ => Ok(()),
    };
    must_be_object("the VirtualMachine", Some(vm))?;
    must_be_object("metadata", vm.get("metadata"))?;
    must_be_object("spec", vm.get("spec"))?;
    let spec = vm.get("spec");
    must_be_object("spec.image", spec.and_then(|s| s.get("image")))?;
    let hardware = spec.and_then(|s| s.get("hardware"));
    must_be_object("spec.hardware", hardware)?;
    let mut list = Some(vm);
    for key in layout.cdrom_path() {
        list = list.and_then(|v| v.get(key));
    }
    if let Some(serde_json::Value::Array(cdroms)) = list {
        for (i, cdrom) in cdroms.iter().enumerate() {
            let field = layout.cdrom_field(i);
            must_be_object(&field, Some(cdrom))?;
            must_be_object(&format!("{field}.image"), cdrom.get("image"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_given_as_arrays_or_scalars_are_refused_by_field() {
        for (vm, message) in [
            (
                json!({"spec": {"image": ["ubuntu"]}}),
                "spec.image must be an object, not an array",
            ),
            (
                json!({"spec": ["ubuntu"]}),
                "spec must be an object, not an array",
            ),
            (json!({"spec": "ubuntu"}), "spec must be an object, not a string"),
            (
                json!(["web"]),
                "the VirtualMachine must be an object, not an array",
            ),
            (
                json!({"spec": {"hardware": {"cdrom": [3]}}}),
                "spec.hardware.cdrom[0] must be an object, not a number",
            ),
            (
                json!({"spec": {"hardware": {"cdrom": [{"image": ["iso"]}]}}}),
                "spec.hardware.cdrom[0].image must be an object, not an array",
            ),
        ] {
            let e = VmImageRefs::from_json(&vm).unwrap_err();
            assert_eq!(e.to_string(), message, "{vm}");
        }
        assert!(VmImageRefs::from_json(&json!({"spec": {"image": null}})).is_ok());
    }

    #[test]
    fn reads_image_fields_and_ignores_the_rest() {
        let vm = json!({
            "metadata": {"name": "web", "namespace": "ns1"},
            "spec": {"imageName": "ubuntu", "className": "small", "image": {"kind": "VirtualMachineImage", "name": "vmi-1"}}
        });
        let refs = VmImageRefs::from_json(&vm).unwrap();
        assert_eq!(refs.image_name.as_deref(), Some("ubuntu"));
        assert_eq!(refs.image.unwrap().name, "vmi-1");
        assert_eq!(refs.namespace, "ns1");
    }

    #[test]
    fn empty_image_name_falls_back_to_first_connected_cdrom() {
        let vm = json!({"spec": {"hardware": {"cdrom": [
            {"name": "a", "image": {"kind": "VirtualMachineImage", "name": "iso-a"}, "connected": false},
            {"name": "b", "image": {"kind": "VirtualMachineImage", "name": "iso-b"}, "connected": true}
        ]}}});
        assert_eq!(
            VmImageRefs::from_json(&vm).unwrap().effective_image_name(),
            Some("iso-b")
        );
    }

    #[test]
    fn no_connected_cdrom_uses_the_first() {
        let vm = json!({"spec": {"imageName": "", "hardware": {"cdrom": [
            {"name": "a", "image": {"name": "iso-a"}}, {"name": "b", "image": {"name": "iso-b"}}
        ]}}});
        assert_eq!(
            VmImageRefs::from_json(&vm).unwrap().effective_image_name(),
            Some("iso-a")
        );
    }

    #[test]
    fn wrongly_typed_image_name_is_an_error_naming_the_field() {
        let e = VmImageRefs::from_json(&json!({"spec": {"imageName": 42}})).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.imageName: invalid type: integer `42`"),
            "{e}"
        );
        let e = VmImageRefs::from_json(&json!({"spec": {"hardware": {"cdrom": [{"image": {"name": 1}}]}}}))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.hardware.cdrom[0].image.name: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn missing_spec_means_no_image() {
        assert_eq!(
            VmImageRefs::from_json(&json!({"metadata": {}}))
                .unwrap()
                .effective_image_name(),
            None
        );
    }
}
