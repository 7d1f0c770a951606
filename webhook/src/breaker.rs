//! Sparing the API server image LISTs that cannot finish in time.
//!
//! A live read of images is a full LIST of the namespace's and the cluster's images. When
//! one outlasts `--live-read-timeout` (a catalog too large for the timeout, or an API
//! server in trouble), the next would too: each would cost the API server the whole LIST
//! and the user the whole timeout, for the same unconfirmed answer. So after a timeout,
//! image reads fail at once with [`LiveError::Skipped`] for [`COOLDOWN`], then are tried
//! again. A failed read never allows anything, so skipping one can only deny sooner.
//! Namespace, policy and library reads are small and always pass through.

use crate::live::{LiveError, LiveReader};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tokio::time::Instant;
use vmimage_shared::{index::ImageEntry, library::Libraries, policy::Policy};

/// How long image reads are skipped after one timed out.
pub const COOLDOWN: Duration = Duration::from_secs(5);

/// A [`LiveReader`] that stops listing images for a while after a LIST timed out.
pub struct Breaker<R> {
    inner: R,
    /// When the last image read timed out.
    tripped: Mutex<Option<Instant>>,
}

impl<R> Breaker<R> {
    /// Wraps `inner`, closed (reads go through).
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            tripped: Mutex::new(None),
        }
    }

    /// `Err(Skipped)` while within the cooldown of the last timeout.
    fn check(&self) -> Result<(), LiveError> {
        match *self.tripped.lock() {
            Some(at) if at.elapsed() < COOLDOWN => Err(LiveError::Skipped {
                ago: at.elapsed(),
                cooldown: COOLDOWN,
            }),
            _ => Ok(()),
        }
    }
}

impl<R: LiveReader> LiveReader for Breaker<R> {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        Box::pin(async move {
            self.check()?;
            let read = self.inner.images(namespace).await;
            if matches!(read, Err(LiveError::Timeout(_))) {
                *self.tripped.lock() = Some(Instant::now());
            }
            read
        })
    }

    fn namespace_labels<'a>(
        &'a self,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>> {
        self.inner.namespace_labels(namespace)
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>> {
        self.inner.policies()
    }

    fn libraries<'a>(&'a self, images: &'a [Arc<ImageEntry>]) -> BoxFuture<'a, Result<Libraries, LiveError>> {
        self.inner.libraries(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{FakeReader, fake::Images};
    use std::sync::atomic::Ordering;

    fn breaker(time_out: bool) -> Breaker<FakeReader> {
        let inner = FakeReader::new(Ok(Vec::new()));
        if time_out {
            inner.answer(Images::TimeOut);
        }
        Breaker::new(inner)
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_skips_image_reads_for_the_cooldown_then_tries_again() {
        let b = breaker(true);
        assert!(matches!(b.images("dev").await, Err(LiveError::Timeout(_))));
        tokio::time::advance(Duration::from_secs(1)).await;
        let skipped = b.images("dev").await.unwrap_err();
        assert!(matches!(skipped, LiveError::Skipped { .. }), "{skipped}");
        let text = skipped.to_string();
        assert!(
            text.contains("timed out 1.0s ago") && text.contains("for 5s"),
            "{text}"
        );
        assert_eq!(
            b.inner.image_reads.load(Ordering::SeqCst),
            1,
            "the skipped read reached the API"
        );

        b.inner.answer(Images::All(Vec::new()));
        tokio::time::advance(COOLDOWN).await;
        assert!(b.images("dev").await.is_ok());
        assert!(b.images("dev").await.is_ok(), "a success keeps it closed");
        assert_eq!(b.inner.image_reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn only_timeouts_trip_it_and_small_reads_always_pass() {
        let b = breaker(false);
        assert!(b.images("dev").await.is_ok());
        assert!(b.images("dev").await.is_ok());
        let b = breaker(true);
        let _ = b.images("dev").await;
        assert!(b.namespace_labels("dev").await.is_ok());
        assert!(b.policies().await.is_ok());
    }
}
