//! What every handler shares: the stores the watches keep and the readers and metrics
//! the handlers use. Stores only hold data; the lookups that combine them live in
//! [`crate::admission`].

use crate::{
    index_sync::{Readiness, SharedIndex},
    live::LiveReader,
    metrics::Metrics,
    namespaces::SharedNamespaces,
    policies::SharedPolicies,
};
use std::sync::Arc;

/// The webhook's shared state, cloned into each request (everything is behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    /// The image index the watches keep current; read-locked briefly per request.
    pub index: SharedIndex,
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
