//! What every handler shares.

use crate::{
    index_sync::{Readiness, SharedIndex},
    live::LiveReader,
    metrics::Metrics,
};
use std::sync::Arc;

/// The webhook's shared state, cloned into each request (everything is behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    /// The image index the watches keep current; read-locked briefly per request.
    pub index: SharedIndex,
    /// Which image kinds have completed their (re-)list; drives `/readyz`.
    pub readiness: Readiness,
    /// Confirms cache misses (and answers while unsynced) by reading the API server.
    pub live: Arc<dyn LiveReader>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
}
