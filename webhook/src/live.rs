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
use kube::{
    Api, Client,
    api::{DynamicObject, ListParams},
};
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use vmimage_shared::{
    api::{ImageKind, VmImageRefs},
    index::{ImageEntry, Index},
    mutate::{self, Plan},
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
    /// The read took longer than `--live-read-timeout`.
    #[error("no answer within {0:?} (--live-read-timeout)")]
    Timeout(Duration),
    /// Any other reader's failure (used by test readers).
    #[error("{0}")]
    Other(String),
}

/// Reads the images a VM in a namespace can see, straight from the API server.
pub trait LiveReader: Send + Sync + 'static {
    /// Every `VirtualMachineImage` in `namespace` and every `ClusterVirtualMachineImage`.
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>>;
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
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| LiveError::Other("the live reader is shutting down".into()))?;
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
}

impl LiveReader for KubeReader {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        Box::pin(async move {
            tokio::time::timeout(self.timeout, self.read(namespace))
                .await
                .map_err(|_| LiveError::Timeout(self.timeout))?
        })
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
    let cached = {
        let index = state.index.read();
        mutate::plan(&index, refs)
    };
    let synced = state.readiness.is_ready();
    if cached.is_ok() && synced {
        return cached.map_err(|e| e.to_string());
    }
    state.metrics.live_read();
    match state.live.images(&refs.namespace).await {
        Ok(entries) => {
            let live = Index::from_entries(entries.iter().cloned());
            remember(state, entries);
            mutate::plan(&live, refs).map_err(|e| e.to_string())
        }
        Err(error) => {
            tracing::warn!(ns = %refs.namespace, %error, "live confirmation failed");
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

/// Adds live-read images the index lacks, so the next request need not read again. Images
/// already indexed are left alone: the watch is the authority on updates and deletes.
fn remember(state: &AppState, entries: Vec<ImageEntry>) {
    let mut index = state.index.write();
    for entry in entries {
        if index.get(entry.scope.namespace(), &entry.name).is_none() {
            index.apply(entry);
        }
    }
}

/// A reader with a fixed answer, for tests.
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
}
