//! `ContentLibrary` (imageregistry.vmware.com): where published images go.

use super::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// A namespaced content library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentLibrary {
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: ContentLibrarySpec,
    /// Observed state.
    #[serde(default)]
    pub status: ContentLibraryStatus,
}

/// `spec` of a content library (v1alpha2; v1alpha1's `writable` is read as `allowPublish`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentLibrarySpec {
    /// vSphere library UUID.
    #[serde(default)]
    pub id: String,
    /// `ContentLibrary` or `Inventory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_type: Option<String>,
    /// Whether VMs may be published into it.
    #[serde(default, alias = "writable")]
    pub allow_publish: bool,
    /// Whether items may be imported.
    #[serde(default)]
    pub allow_import: bool,
    /// Whether items may be deleted.
    #[serde(default)]
    pub allow_delete: bool,
}

/// `status` of a content library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentLibraryStatus {
    /// vSphere display name of the library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Conditions; `Ready` must be True to publish.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl ContentLibrary {
    /// Whether the library's `Ready` condition is True.
    pub fn is_ready(&self) -> bool {
        Condition::find(&self.status.conditions, "Ready").is_some_and(Condition::is_true)
    }
}
