//! Reading what admission needs straight from the API server, for when the caches cannot
//! say: the reader trait, its errors and the production reader. When to read live is
//! decided in [`crate::admission`].

use crate::discovery::ImageResources;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};
use std::{
    collections::BTreeMap,
    sync::{Arc, OnceLock},
    time::Duration,
};
use vmimage_shared::{
    api::{
        CLUSTER_CONTENT_LIBRARY, CLUSTER_CONTENT_LIBRARY_ITEM, CONTENT_LIBRARY, CONTENT_LIBRARY_ITEM,
        IMAGE_REGISTRY_GROUP, ImageKind, KindInfo,
    },
    index::{ImageEntry, Scope},
    library::{Libraries, LibraryObjects, ToRead},
    policy::Policy,
};

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
pub(crate) use fake::FakeReader;

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
    /// Reading a content library item or library failed.
    #[error("reading {kind} {name}: {source}")]
    Library {
        /// The kind read.
        kind: &'static str,
        /// The object's name (namespace/name for namespaced kinds).
        name: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
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

    /// The content library of each of `images`, for `<library>/<display name>`
    /// references: each image's item (`spec.providerRef`), then the item's library, read
    /// by name. An image whose item or library does not exist has no library.
    fn libraries<'a>(&'a self, images: &'a [Arc<ImageEntry>]) -> BoxFuture<'a, Result<Libraries, LiveError>>;
}

/// The production reader: paged LISTs through a kube client.
pub struct KubeReader {
    client: Client,
    resources: Arc<OnceLock<ImageResources>>,
    timeout: Duration,
    /// Bounds concurrent live reads: a burst of bad names must not become a burst of
    /// full LISTs against the API server.
    permits: tokio::sync::Semaphore,
    /// The content library kinds at their newest served versions, once discovered
    /// (`None` inside: the API server serves no content libraries).
    library_kinds: tokio::sync::OnceCell<Option<LibraryKinds>>,
}

/// The four kinds an image's library is read through.
struct LibraryKinds {
    item: ApiResource,
    cluster_item: ApiResource,
    library: ApiResource,
    cluster_library: ApiResource,
}

impl LibraryKinds {
    fn of(&self, kind: KindInfo) -> &ApiResource {
        match kind.kind {
            "ContentLibraryItem" => &self.item,
            "ClusterContentLibraryItem" => &self.cluster_item,
            "ContentLibrary" => &self.library,
            _ => &self.cluster_library,
        }
    }
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
            library_kinds: tokio::sync::OnceCell::new(),
        }
    }

    /// Discovers the content library kinds once; a failed discovery is retried next time.
    async fn library_kinds(&self) -> Result<Option<&LibraryKinds>, LiveError> {
        let found = self
            .library_kinds
            .get_or_try_init(|| async {
                let group = match kube::discovery::group(&self.client, IMAGE_REGISTRY_GROUP).await {
                    Ok(group) => group,
                    // NB: no content library CRDs, no libraries: qualified names find nothing.
                    Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
                    Err(source) => {
                        return Err(LiveError::Library {
                            kind: "API group",
                            name: IMAGE_REGISTRY_GROUP.to_string(),
                            source: Box::new(source),
                        });
                    }
                };
                let pick = |kind: KindInfo| {
                    group
                        .versions()
                        .find_map(|v| {
                            group
                                .versioned_resources(v)
                                .into_iter()
                                .find(|(ar, _)| ar.kind == kind.kind)
                        })
                        .map(|(ar, _)| ar)
                };
                // NB: all four or none: a partial install links no image to a library.
                Ok(
                    match (
                        pick(CONTENT_LIBRARY_ITEM),
                        pick(CLUSTER_CONTENT_LIBRARY_ITEM),
                        pick(CONTENT_LIBRARY),
                        pick(CLUSTER_CONTENT_LIBRARY),
                    ) {
                        (Some(item), Some(cluster_item), Some(library), Some(cluster_library)) => {
                            Some(LibraryKinds {
                                item,
                                cluster_item,
                                library,
                                cluster_library,
                            })
                        }
                        _ => None,
                    },
                )
            })
            .await?;
        Ok(found.as_ref())
    }

    async fn read_libraries(&self, images: &[Arc<ImageEntry>]) -> Result<Libraries, LiveError> {
        let _permit = self.permit().await?;
        let Some(kinds) = self.library_kinds().await? else {
            return Ok(Libraries::default());
        };
        let mut objects = LibraryObjects::new();
        // The items, then their libraries; each step's reads in parallel.
        for step in 0..2 {
            let wanted = match step {
                0 => LibraryObjects::items_of(images),
                _ => objects.libraries_to_read(),
            };
            let found =
                futures::future::try_join_all(wanted.iter().map(|r| self.get(kinds.of(r.kind), r))).await?;
            for object in found.into_iter().flatten() {
                objects
                    .add(&object)
                    .map_err(|e| LiveError::Other(e.to_string()))?;
            }
        }
        Ok(objects.link(images))
    }

    /// One object as JSON (with its kind set, as a GET of a dynamic object may omit it);
    /// `None` when it does not exist.
    async fn get(&self, ar: &ApiResource, what: &ToRead) -> Result<Option<serde_json::Value>, LiveError> {
        let api: Api<DynamicObject> = match &what.scope {
            Scope::Namespace(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
            Scope::Cluster => Api::all_with(self.client.clone(), ar),
        };
        let object = api
            .get_opt(&what.name)
            .await
            .map_err(|source| LiveError::Library {
                kind: what.kind.kind,
                name: match what.scope.namespace() {
                    Some(ns) => format!("{ns}/{}", what.name),
                    None => what.name.to_string(),
                },
                source: Box::new(source),
            })?;
        Ok(object.and_then(|o| {
            let mut json = serde_json::to_value(o).ok()?;
            json["kind"] = serde_json::Value::from(what.kind.kind);
            Some(json)
        }))
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

    fn libraries<'a>(&'a self, images: &'a [Arc<ImageEntry>]) -> BoxFuture<'a, Result<Libraries, LiveError>> {
        Box::pin(self.bounded(self.read_libraries(images)))
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
