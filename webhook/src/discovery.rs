//! Which version of the image kinds to watch: the newest one the API server serves,
//! found at start-up, never hard-coded (older Supervisors serve fewer versions).

use kube::{
    Client,
    discovery::{self, ApiGroup, ApiResource},
};
use std::time::Duration;
use vmimage_shared::api::{CLUSTER_VIRTUAL_MACHINE_IMAGE, GROUP, KindInfo, VIRTUAL_MACHINE_IMAGE};

/// The discovered resources of both image kinds.
#[derive(Debug, Clone)]
pub struct ImageResources {
    /// `VirtualMachineImage` at its newest served version.
    pub namespaced: ApiResource,
    /// `ClusterVirtualMachineImage` at its newest served version.
    pub cluster: ApiResource,
}

/// Why discovery did not find the image kinds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The API server could not be asked.
    #[error("discovering API group {GROUP}: {0}")]
    Kube(#[from] kube::Error),
    /// The group is served but not the kind (VM Operator's CRDs are missing or partial).
    #[error("API group {GROUP} serves no version of {0}")]
    KindMissing(&'static str),
}

/// Discovers both image kinds once.
pub async fn discover(client: &Client) -> Result<ImageResources, DiscoveryError> {
    let group = discovery::group(client, GROUP).await?;
    Ok(ImageResources {
        namespaced: pick(&group, VIRTUAL_MACHINE_IMAGE)?,
        cluster: pick(&group, CLUSTER_VIRTUAL_MACHINE_IMAGE)?,
    })
}

/// Discovers until it works: without the kinds there is nothing to watch, and readiness
/// stays false meanwhile, so retrying is all a webhook can do.
pub async fn discover_until_found(client: &Client) -> ImageResources {
    let mut delay = Duration::from_millis(500);
    loop {
        match discover(client).await {
            Ok(found) => {
                tracing::info!(
                    vmi = %found.namespaced.api_version,
                    cvmi = %found.cluster.api_version,
                    "discovered image kinds"
                );
                return found;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "image kinds not discovered yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// The preferred version when it serves the kind, else the newest version that does
/// (`ApiGroup::versions` is newest first by Kubernetes version priority).
fn pick(group: &ApiGroup, info: KindInfo) -> Result<ApiResource, DiscoveryError> {
    let serves = |version: &str| {
        group
            .versioned_resources(version)
            .into_iter()
            .map(|(ar, _)| ar)
            .find(|ar| ar.kind == info.kind)
    };
    group
        .preferred_version()
        .and_then(serves)
        .or_else(|| group.versions().find_map(serves))
        .ok_or(DiscoveryError::KindMissing(info.kind))
}
