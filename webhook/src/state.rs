//! What every handler shares.

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
