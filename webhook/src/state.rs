//! What every handler shares: the stores the watches keep and the readers and metrics
//! the handlers use. Stores only hold data; the lookups that combine them live in
//! [`crate::admission`].

use crate::{
    index_changes::IndexChanges,
    index_sync::{Readiness, SharedIndex},
    live::LiveReader,
    metrics::Metrics,
    namespaces::SharedNamespaces,
    policies::SharedPolicies,
};
use std::{sync::Arc, time::Duration};

/// How a miss of the index (a name it cannot resolve, or a warning) is confirmed: the
/// watch is given `grace` to deliver, and a live LIST is made only while the index
/// holds at most `live_max_images` (beyond that a LIST takes seconds; the synced watch
/// and the grace are the guarantee instead). An index that large which is re-listing
/// (a watch that could not resume) is waited for, up to `relist_wait`, instead of read
/// live: the re-list is the same LIST, already under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissPolicy {
    /// How long a miss waits for the watch to deliver.
    pub grace: Duration,
    /// The largest index a miss is confirmed by a live LIST for.
    pub live_max_images: usize,
    /// How long a request waits for a large index's re-list (`--live-read-timeout`).
    pub relist_wait: Duration,
}

impl Default for MissPolicy {
    fn default() -> Self {
        Self {
            grace: Duration::from_millis(200),
            live_max_images: 10_000,
            relist_wait: Duration::from_secs(3),
        }
    }
}

/// The webhook's shared state, cloned into each request (everything is behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    /// The image index the watches keep current; read-locked briefly per request.
    pub index: SharedIndex,
    /// Bumped by the watches on every change to `index`.
    pub changes: IndexChanges,
    /// How a cache miss is confirmed (`--miss-grace`, `--live-confirm-max-images`).
    pub misses: MissPolicy,
    /// The valid image policies the policy watch keeps current.
    pub policies: SharedPolicies,
    /// Namespace labels (for policies' `namespaceSelector`), kept by a metadata watch.
    pub namespaces: SharedNamespaces,
    /// Which image kinds and whether the policies have completed their (re-)list;
    /// drives `/readyz`.
    pub readiness: Readiness,
    /// Confirms cache misses (and answers while unsynced) by reading the API server.
    pub live: Arc<dyn LiveReader>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Empty stores, nothing synced yet.
    pub fn new(live: Arc<dyn LiveReader>, metrics: Arc<Metrics>) -> Self {
        Self {
            index: Default::default(),
            changes: Default::default(),
            misses: MissPolicy::default(),
            policies: Default::default(),
            namespaces: Default::default(),
            readiness: Default::default(),
            live,
            metrics,
        }
    }

    /// For tests: the index holding `images`, every store synced, and a fake reader
    /// answering image reads with `live`.
    #[cfg(test)]
    pub(crate) fn test(
        images: Vec<vmimage_shared::ImageEntry>,
        live: Result<Vec<vmimage_shared::ImageEntry>, &str>,
    ) -> (Self, Arc<crate::live::FakeReader>) {
        use vmimage_shared::api::ImageKind;
        let reader = Arc::new(crate::live::FakeReader::new(live));
        let state = Self::new(reader.clone(), Arc::new(Metrics::new()));
        *state.index.write() = vmimage_shared::Index::from_entries(images);
        state.readiness.set(ImageKind::VirtualMachineImage, true);
        state.readiness.set(ImageKind::ClusterVirtualMachineImage, true);
        state.readiness.set_policies(true);
        (state, reader)
    }
}
