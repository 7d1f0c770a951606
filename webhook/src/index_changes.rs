//! Telling admissions that the image index changed. A miss can then wait a moment for
//! the watch to deliver (an image created just before its VM arrives within
//! milliseconds) instead of paying for a LIST of every image.

use std::sync::Arc;
use tokio::sync::watch;

/// A change counter: the watches bump it, waiting admissions subscribe to it.
#[derive(Debug, Clone)]
pub struct IndexChanges(Arc<watch::Sender<u64>>);

impl Default for IndexChanges {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl IndexChanges {
    /// Records that the index changed, waking every subscriber.
    pub fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every change after this call (subscribe before reading the
    /// index, so no change between the read and the wait is missed).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}
