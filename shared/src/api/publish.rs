//! `VirtualMachinePublishRequest`: publish a VM as a new image.

use super::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

/// The condition types a publish request moves through, in order.
pub const STAGES: [&str; 5] = [
    "SourceValid",
    "TargetValid",
    "Uploaded",
    "ImageAvailable",
    "Complete",
];

/// A publish request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishRequest {
    /// `apiVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: PublishRequestSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PublishRequestStatus>,
}

/// `spec` of a publish request; every field is optional in VM Operator's schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishRequestSpec {
    /// The VM to publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PublishSource>,
    /// Where to publish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PublishTarget>,
    /// Delete the request this long after it finished (nil = keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i64>,
    /// Attempts before giving up (default 3, 0 = unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i64>,
}

/// `spec.source`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishSource {
    /// VM name; defaults to the request's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Defaults to `vmoperator.vmware.com/v1alpha1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Defaults to `VirtualMachine`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// `spec.target`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishTarget {
    /// The library item to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<PublishTargetItem>,
    /// The library to create it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<PublishTargetLocation>,
}

/// `spec.target.item`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishTargetItem {
    /// Item name (becomes the display name); defaults to `<source>-image`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Item description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// `spec.target.location`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishTargetLocation {
    /// ContentLibrary name; required for a single request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Defaults to `imageregistry.vmware.com/v1alpha1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Must be `ContentLibrary`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// `status` of a publish request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishRequestStatus {
    /// Name of the new VirtualMachineImage once available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    /// Whether the request completed successfully.
    #[serde(default)]
    pub ready: bool,
    /// Number of upload attempts so far.
    #[serde(default)]
    pub attempts: i64,
    /// When processing started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// When the last attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_time: Option<String>,
    /// Conditions, one per stage in [`STAGES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
