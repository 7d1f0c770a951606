//! The one test reader: answers as scripted, counts image reads, and can be switched to
//! time out or fail between calls.

use super::{LiveError, LiveReader};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::sync::Arc;
use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};
use vmimage_shared::{index::ImageEntry, library::Libraries, policy::Policy};

/// What the next image read answers.
#[derive(Debug, Clone)]
pub(crate) enum Images {
    /// Every image, filtered to the namespace asked for (and the cluster's).
    All(Vec<ImageEntry>),
    /// A failure with this message.
    Fail(String),
    /// `--live-read-timeout` ran out.
    TimeOut,
}

/// A scripted [`LiveReader`].
pub(crate) struct FakeReader {
    pub(crate) images: Mutex<Images>,
    /// Labels by namespace; an unknown namespace does not exist.
    pub(crate) namespaces: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    pub(crate) policies: Mutex<Vec<Policy>>,
    /// What library reads answer (the links, for whichever images are asked about).
    pub(crate) libraries: Mutex<Libraries>,
    /// Image reads that reached this reader.
    pub(crate) image_reads: AtomicUsize,
}

impl FakeReader {
    /// A reader whose image reads answer `images` (or fail with the message).
    pub(crate) fn new(images: Result<Vec<ImageEntry>, &str>) -> Self {
        Self {
            images: Mutex::new(match images {
                Ok(all) => Images::All(all),
                Err(e) => Images::Fail(e.to_string()),
            }),
            namespaces: Mutex::default(),
            policies: Mutex::default(),
            libraries: Mutex::default(),
            image_reads: AtomicUsize::new(0),
        }
    }

    /// Makes the following image reads answer `images`.
    pub(crate) fn answer(&self, images: Images) {
        *self.images.lock() = images;
    }

    fn failure(&self) -> Option<LiveError> {
        match &*self.images.lock() {
            Images::Fail(e) => Some(LiveError::Other(e.clone())),
            _ => None,
        }
    }
}

impl LiveReader for FakeReader {
    fn images<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<ImageEntry>, LiveError>> {
        self.image_reads.fetch_add(1, Ordering::SeqCst);
        let answer = match &*self.images.lock() {
            Images::All(all) => Ok(all
                .iter()
                .filter(|e| e.scope.namespace().is_none_or(|ns| ns == namespace))
                .cloned()
                .collect()),
            Images::Fail(e) => Err(LiveError::Other(e.clone())),
            Images::TimeOut => Err(LiveError::Timeout(Duration::from_secs(3))),
        };
        Box::pin(async move { answer })
    }

    fn namespace_labels<'a>(
        &'a self,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, LiveError>> {
        let answer = match self.failure() {
            Some(e) => Err(e),
            None => Ok(self.namespaces.lock().get(namespace).cloned()),
        };
        Box::pin(async move { answer })
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, LiveError>> {
        let answer = match self.failure() {
            Some(e) => Err(e),
            None => Ok(self.policies.lock().clone()),
        };
        Box::pin(async move { answer })
    }

    fn libraries<'a>(
        &'a self,
        _images: &'a [Arc<ImageEntry>],
    ) -> BoxFuture<'a, Result<Libraries, LiveError>> {
        let answer = match self.failure() {
            Some(e) => Err(e),
            None => Ok(self.libraries.lock().clone()),
        };
        Box::pin(async move { answer })
    }
}
