//! A namespace that does not exist: commands would silently show only cluster images,
//! so say so (kubectl's `get -n typo` answers "No resources found in typo namespace").

use crate::client::Cluster;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

/// Warns on stderr when `namespace` does not exist. Called only when no image of that
/// namespace was read, so the common case costs no request; a namespace that cannot be
/// read (no right to get namespaces) is not reported.
pub async fn warn_if_missing(cluster: &Cluster, namespace: &str) {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    if let Ok(None) = api.get_opt(namespace).await {
        note!(
            "warning: namespace {namespace:?} does not exist: only cluster images are visible \
             from it (check -n and the context's namespace)"
        );
    }
}
