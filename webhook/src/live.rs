//! Confirming a resolution with the API server before acting on the cache.
//!
//! The index lags the API server by a watch event: an image created a moment ago may be
//! missing (the name looks unknown) or a second image with the same display name may not
//! have arrived yet. Denying on such a cache miss would break `kubectl apply` of an image
//! and a VM in one go, so every cached "no" is confirmed by listing the VM's namespace
//! and the cluster's images live, and the live answer wins. While the index is not
//! synced, every answer is confirmed.

use crate::{discovery::ImageResources, state::AppState};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{DynamicObject, ListParams},
};
use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::Duration,
};
use vmimage_shared::{
    api::{ImageKind, VmImageRefs},
    index::{ImageEntry, Index},
    mutate::{self, Plan},
    policy::Policy,
};

/// Why a live read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// Discovery has not found the image kinds yet.
    #[error("the image kinds have not been discovered yet")]
    NotDiscovered,
    /// The list call failed.
    #[error("listing {kind}: {source}")]
    List {
        /// The kind being listed.
        kind: ImageKind,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading a namespace's labels failed.
    #[error("reading namespace {name}: {source}")]
    Namespace {
        /// The namespace.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Listing the image policies failed.
    #[error("listing VMImagePolicies: {0}")]
    Policies(#[source] kube::Error),
    /// The read took longer than `--live-read-timeout`.
    #[error("no answer within {0:?} (--live-read-timeout)")]
    Timeout(Duration),
    /// Not tried: an image read timed out `ago`, and reads resume `cooldown` after that
    /// (see [`crate::breaker`]).
    #[error(
        "skipped: an image LIST timed out {:.1}s ago, and none is tried for {}s after a timeout",
        ago.as_secs_f64(),
        cooldown.as_secs()
    )]
    Skipped {
        /// Since the timeout.
        ago: Duration,
        /// How long reads are skipped after one.
        cooldown: Duration,
    },
    /// Any other reader's failure (used by test readers).
    #[error("{0}")]
    Other(String),
}

/// Reads what admission needs straight from the API server, when the caches cannot say.
pub trait LiveReader: Send + Sync + 'static {
    /// Every `VirtualMachineImage` in `namespace` and every `ClusterVirtualMachineImage`.
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>>;

    /// The labels of `namespace`; `None` when it does not exist.
    fn namespace_labels<'a>(
        &'a self,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>>;

    /// Every valid `VMImagePolicy` (invalid ones are left out, as the watch leaves them
    /// out); none when the policy CRD is not installed.
    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>>;
}

/// The production reader: paged LISTs through a kube client.
pub struct KubeReader {
    client: Client,
    resources: Arc<OnceLock<ImageResources>>,
    timeout: Duration,
    /// Bounds concurrent live reads: a burst of bad names must not become a burst of
    /// full LISTs against the API server.
    permits: tokio::sync::Semaphore,
}

/// Items per page of a live list.
const PAGE: u32 = 500;
/// Live reads in flight at once per replica; later ones wait (within the timeout).
const CONCURRENT_READS: usize = 4;

// === impl KubeReader ===

impl KubeReader {
    /// A reader that works once `resources` has been filled in by discovery.
    pub fn new(client: Client, resources: Arc<OnceLock<ImageResources>>, timeout: Duration) -> Self {
        Self {
            client,
            resources,
            timeout,
            permits: tokio::sync::Semaphore::new(CONCURRENT_READS),
        }
    }

    async fn read(&self, namespace: &str) -> Result<Vec<ImageEntry>, LiveError> {
        let _permit = self.permit().await?;
        let resources = self.resources.get().ok_or(LiveError::NotDiscovered)?;
        let namespaced = Api::namespaced_with(self.client.clone(), namespace, &resources.namespaced);
        let cluster = Api::all_with(self.client.clone(), &resources.cluster);
        let (mut entries, cluster) = futures::try_join!(
            list_all(namespaced, ImageKind::VirtualMachineImage),
            list_all(cluster, ImageKind::ClusterVirtualMachineImage),
        )?;
        entries.extend(cluster);
        Ok(entries)
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, LiveError> {
        self.permits
            .acquire()
            .await
            .map_err(|_| LiveError::Other("the live reader is shutting down".into()))
    }

    async fn read_namespace(&self, namespace: &str) -> Result<Option<BTreeMap<String, String>>, LiveError> {
        let _permit = self.permit().await?;
        let api = Api::<Namespace>::all(self.client.clone());
        let meta = api
            .get_metadata_opt(namespace)
            .await
            .map_err(|source| LiveError::Namespace {
                name: namespace.to_string(),
                source,
            })?;
        Ok(meta.map(|m| m.metadata.labels.unwrap_or_default()))
    }

    async fn read_policies(&self) -> Result<Vec<Policy>, LiveError> {
        let _permit = self.permit().await?;
        let api = Api::<DynamicObject>::all_with(self.client.clone(), &crate::policies::api_resource());
        let mut policies = Vec::new();
        let mut params = ListParams::default().limit(PAGE);
        loop {
            let page = match api.list(&params).await {
                Ok(page) => page,
                // NB: no CRD, no policies: the install is incomplete, but nothing can violate.
                Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Vec::new()),
                Err(source) => return Err(LiveError::Policies(source)),
            };
            policies.extend(page.items.iter().filter_map(|obj| {
                let json = serde_json::to_value(obj).ok()?;
                Policy::from_json(&json).ok()
            }));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(policies),
            }
        }
    }

    async fn bounded<T>(&self, read: impl Future<Output = Result<T, LiveError>>) -> Result<T, LiveError> {
        tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| LiveError::Timeout(self.timeout))?
    }
}

impl LiveReader for KubeReader {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        Box::pin(self.bounded(self.read(namespace)))
    }

    fn namespace_labels<'a>(
        &'a self,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>> {
        Box::pin(self.bounded(self.read_namespace(namespace)))
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>> {
        Box::pin(self.bounded(self.read_policies()))
    }
}

async fn list_all(api: Api<DynamicObject>, kind: ImageKind) -> Result<Vec<ImageEntry>, LiveError> {
    let mut entries = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|source| LiveError::List { kind, source })?;
        entries.extend(
            page.items
                .iter()
                .filter_map(|obj| crate::index_sync::entry_of(kind, obj).ok()),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(entries),
        }
    }
}

/// Plans the VM's changes: from the cache when it is synced and says yes; otherwise from
/// a live read. A failed live read never turns a "no" into a "yes".
pub async fn plan(state: &AppState, refs: &VmImageRefs) -> Result<Plan, String> {
    // Newest-version selection is opt-in per VM (annotation `vmimage.io/select: newest`).
    let selection = mutate::Selection::from_annotations(&refs.annotations);
    let cached = {
        let index = state.index.read();
        mutate::plan_with(&index, refs, selection)
    };
    let synced = state.readiness.images_ready();
    if cached.is_ok() && synced {
        return cached.map_err(|e| e.to_string());
    }
    state.metrics.live_read();
    match state.live.images(&refs.namespace).await {
        // NB: the live answer is not written into the index. The watch is its only
        // writer: a live list that raced a delete event would otherwise put the deleted
        // image back, to resolve until the next re-list.
        Ok(entries) => {
            let live = Index::from_entries(entries);
            mutate::plan_with(&live, refs, selection).map_err(|e| e.to_string())
        }
        Err(error) => {
            if matches!(error, LiveError::Skipped { .. }) {
                state.metrics.live_read_skipped();
            }
            tracing::warn!(ns = %crate::log_text::Untrusted(&refs.namespace), %error, "live confirmation failed");
            Err(match cached {
                Err(cached) => {
                    format!("{cached} (vmimage could not confirm this with the API server: {error})")
                }
                Ok(_) => format!(
                    "vmimage's image index is still syncing and the API server could not be read \
                     ({error}); retry shortly"
                ),
            })
        }
    }
}

/// A reader with a fixed answer, for tests: the images given (or the error); no
/// namespaces; no policies (or the error).
#[cfg(test)]
pub(crate) struct FixedReader(pub(crate) Result<Vec<ImageEntry>, String>);

#[cfg(test)]
impl LiveReader for FixedReader {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        let answer = match &self.0 {
            Ok(all) => Ok(all
                .iter()
                .filter(|e| e.scope.namespace().is_none_or(|ns| ns == namespace))
                .cloned()
                .collect()),
            Err(e) => Err(LiveError::Other(e.clone())),
        };
        Box::pin(async move { answer })
    }

    fn namespace_labels<'a>(
        &'a self,
        _namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>> {
        Box::pin(async { Ok(None) })
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>> {
        let answer = match &self.0 {
            Ok(_) => Ok(Vec::new()),
            Err(e) => Err(LiveError::Other(e.clone())),
        };
        Box::pin(async move { answer })
    }
}
