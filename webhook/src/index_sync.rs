//! Keeping the image index in step with the API server: one kube-runtime watcher per
//! image kind, fed into a [`SharedIndex`] with kubert's apply/delete/reset contract.
//!
//! A kind counts as synced once its watch has delivered a complete list, and stops
//! counting while a re-list is under way, so `/readyz` never reports an index that may
//! be missing images. The policy watch ([`crate::policies`]) reports into the same
//! [`Readiness`]: a replica that may be missing a policy is not ready either.

use crate::{discovery::ImageResources, index_changes::IndexChanges, metrics::Metrics};
use kube::{Api, Client, api::DynamicObject, runtime::watcher};
use parking_lot::RwLock;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use vmimage_shared::{
    api::{Image, ImageKind},
    index::{ImageEntry, Index},
};

/// The index shared by the watches (writers) and the admission handler (readers).
/// Never hold its lock across an `.await`.
pub type SharedIndex = Arc<RwLock<Index>>;

/// Whether each image kind's watch, and the policy watch, has completed its latest list.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    namespaced: Arc<AtomicBool>,
    cluster: Arc<AtomicBool>,
    policies: Arc<AtomicBool>,
}

// === impl Readiness ===

impl Readiness {
    fn flag(&self, kind: ImageKind) -> &AtomicBool {
        match kind {
            ImageKind::VirtualMachineImage => &self.namespaced,
            ImageKind::ClusterVirtualMachineImage => &self.cluster,
        }
    }

    /// Marks one kind synced or not.
    pub fn set(&self, kind: ImageKind, synced: bool) {
        self.flag(kind).store(synced, Ordering::Release);
    }

    /// Whether one kind is synced.
    pub fn is_synced(&self, kind: ImageKind) -> bool {
        self.flag(kind).load(Ordering::Acquire)
    }

    /// Marks the policy watch synced or not.
    pub fn set_policies(&self, synced: bool) {
        self.policies.store(synced, Ordering::Release);
    }

    /// Whether the policy watch is synced: every `VMImagePolicy` is in memory.
    pub fn policies_synced(&self) -> bool {
        self.policies.load(Ordering::Acquire)
    }

    /// Whether both image kinds are synced: the index holds every image.
    pub fn images_ready(&self) -> bool {
        self.is_synced(ImageKind::VirtualMachineImage)
            && self.is_synced(ImageKind::ClusterVirtualMachineImage)
    }

    /// Whether everything is synced (both image kinds and the policies): `/readyz`.
    pub fn is_ready(&self) -> bool {
        self.images_ready() && self.policies_synced()
    }

    /// The kinds that are not synced, for `/readyz`'s body.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing: Vec<&'static str> = [
            ImageKind::VirtualMachineImage,
            ImageKind::ClusterVirtualMachineImage,
        ]
        .into_iter()
        .filter(|k| !self.is_synced(*k))
        .map(ImageKind::as_str)
        .collect();
        if !self.policies_synced() {
            missing.push(vmimage_shared::policy::KIND);
        }
        missing
    }
}

/// Runs both watches until the process ends (a failed watch is restarted with a full
/// list, see [`crate::watch`]). `config` is shared by both.
pub async fn run(
    client: Client,
    resources: ImageResources,
    config: watcher::Config,
    (index, changes): (SharedIndex, IndexChanges),
    readiness: Readiness,
    metrics: Arc<Metrics>,
    restarts: crate::apiserver_probe::Restarts,
) {
    let namespaced = Api::<DynamicObject>::all_with(client.clone(), &resources.namespaced);
    let cluster = Api::<DynamicObject>::all_with(client, &resources.cluster);
    let sync = |kind| {
        KindSync::new(
            kind,
            index.clone(),
            changes.clone(),
            readiness.clone(),
            metrics.clone(),
        )
    };
    tokio::join!(
        watch(
            namespaced,
            config.clone(),
            sync(ImageKind::VirtualMachineImage),
            restarts.clone()
        ),
        watch(
            cluster,
            config.clone(),
            sync(ImageKind::ClusterVirtualMachineImage),
            restarts
        ),
    );
}

async fn watch(
    api: Api<DynamicObject>,
    config: watcher::Config,
    mut sync: KindSync,
    restarts: crate::apiserver_probe::Restarts,
) {
    let metrics = sync.metrics.clone();
    let start = || watcher(api.clone(), config.clone());
    crate::watch::relist_on_error(sync.kind.as_str(), &metrics, start, &mut sync, restarts).await;
}

/// Applies one kind's watch events to the index.
pub struct KindSync {
    kind: ImageKind,
    index: SharedIndex,
    changes: IndexChanges,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    /// Entries of a re-list in progress (between `Init` and `InitDone`).
    relisting: Option<Vec<ImageEntry>>,
}

// === impl KindSync ===

impl KindSync {
    /// A sync for `kind`, not yet synced.
    pub fn new(
        kind: ImageKind,
        index: SharedIndex,
        changes: IndexChanges,
        readiness: Readiness,
        metrics: Arc<Metrics>,
    ) -> Self {
        readiness.set(kind, false);
        Self {
            kind,
            index,
            changes,
            readiness,
            metrics,
            relisting: None,
        }
    }

    /// Applies one event.
    pub fn handle(&mut self, event: watcher::Event<DynamicObject>) {
        // NB: counting namespaced images walks every namespace; a buffered InitApply
        // changes nothing visible, so it skips the metrics update.
        let visible = !matches!(event, watcher::Event::InitApply(_));
        match event {
            watcher::Event::Init => {
                self.readiness.set(self.kind, false);
                self.relisting = Some(Vec::new());
            }
            watcher::Event::InitApply(obj) => {
                if let Some(entry) = self.entry(&obj) {
                    self.relisting.get_or_insert_default().push(entry);
                }
            }
            watcher::Event::InitDone => {
                let entries = self.relisting.take().unwrap_or_default();
                self.index.write().reset(self.kind, entries);
                self.readiness.set(self.kind, true);
                self.changes.bump();
                tracing::info!(kind = %self.kind, images = self.count(), "image index synced");
            }
            watcher::Event::Apply(obj) => {
                if let Some(entry) = self.entry(&obj) {
                    self.index.write().apply(entry);
                    self.changes.bump();
                }
            }
            watcher::Event::Delete(obj) => {
                let ns = match self.kind {
                    ImageKind::VirtualMachineImage => obj.metadata.namespace.as_deref(),
                    ImageKind::ClusterVirtualMachineImage => None,
                };
                if let Some(name) = obj.metadata.name.as_deref() {
                    self.index.write().delete(ns, name);
                    self.changes.bump();
                }
            }
        }
        if visible {
            self.metrics
                .index(self.kind, self.count(), self.readiness.is_synced(self.kind));
        }
    }

    fn count(&self) -> usize {
        self.index.read().len_of(self.kind)
    }

    fn entry(&self, obj: &DynamicObject) -> Option<ImageEntry> {
        match entry_of(self.kind, obj) {
            Ok(entry) => Some(entry),
            Err(error) => {
                let name = obj.metadata.name.as_deref().unwrap_or_default();
                tracing::warn!(kind = %self.kind, %name, %error, "image not indexed");
                None
            }
        }
    }
}

impl crate::watch::Cache<DynamicObject> for KindSync {
    fn event(&mut self, event: watcher::Event<DynamicObject>) {
        self.handle(event);
    }

    /// Until a new list completes, the kind is not synced, so every resolution is
    /// confirmed live and `/readyz` fails.
    fn lost(&mut self, error: &watcher::Error) {
        self.readiness.set(self.kind, false);
        self.relisting = None;
        self.metrics.index(self.kind, self.count(), false);
        tracing::warn!(kind = %self.kind, %error, "image watch failed; not ready until a full re-list completes");
    }
}

/// Reads an image object of `kind` (the kind is set explicitly: list items carry none).
/// Fields that cannot be read are logged and left out; the image is still indexed, so a
/// VM naming it is never denied because of a field vmimage does not need.
pub fn entry_of(kind: ImageKind, obj: &DynamicObject) -> Result<ImageEntry, String> {
    let mut value = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    value["kind"] = serde_json::Value::from(kind.as_str());
    let image: Image = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if !image.unread.is_empty() {
        let name = image.describe_ref();
        let fields: Vec<String> = image.unread.iter().map(|u| u.to_string()).collect();
        tracing::warn!(%name, unread = %fields.join("; "), "image read in part");
    }
    ImageEntry::from_image(&image).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Cache;
    use serde_json::json;

    fn image(ns: Option<&str>, name: &str, display: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6",
            "metadata": {"name": name, "namespace": ns},
            "status": {"name": display}
        }))
        .unwrap()
    }

    fn sync(kind: ImageKind) -> (KindSync, SharedIndex, Readiness) {
        let index = SharedIndex::default();
        let readiness = Readiness::default();
        let s = KindSync::new(
            kind,
            index.clone(),
            IndexChanges::default(),
            readiness.clone(),
            Arc::new(Metrics::new()),
        );
        (s, index, readiness)
    }

    #[test]
    fn a_kind_is_synced_only_between_init_done_and_the_next_init() {
        let (mut s, index, readiness) = sync(ImageKind::ClusterVirtualMachineImage);
        assert!(!readiness.is_synced(ImageKind::ClusterVirtualMachineImage));
        s.handle(watcher::Event::Init);
        s.handle(watcher::Event::InitApply(image(None, "vmi-1", "ubuntu")));
        assert!(!readiness.is_synced(ImageKind::ClusterVirtualMachineImage));
        assert_eq!(index.read().len(), 0, "a partial list is not applied");
        s.handle(watcher::Event::InitDone);
        assert!(readiness.is_synced(ImageKind::ClusterVirtualMachineImage));
        assert_eq!(index.read().len(), 1);
        s.handle(watcher::Event::Init);
        assert!(!readiness.is_synced(ImageKind::ClusterVirtualMachineImage));
        assert!(!readiness.is_ready());
    }

    #[test]
    fn a_failed_watch_unsyncs_its_kind_until_the_next_full_list() {
        let (mut s, index, readiness) = sync(ImageKind::VirtualMachineImage);
        s.handle(watcher::Event::Init);
        s.handle(watcher::Event::InitApply(image(Some("ns1"), "vmi-1", "ubuntu")));
        s.handle(watcher::Event::InitDone);
        assert!(readiness.is_synced(ImageKind::VirtualMachineImage));
        s.lost(&watcher::Error::NoResourceVersion);
        assert!(!readiness.is_synced(ImageKind::VirtualMachineImage));
        assert_eq!(
            index.read().len(),
            1,
            "kept for live reads to fall back on, never trusted"
        );
        s.handle(watcher::Event::Init);
        s.handle(watcher::Event::InitDone);
        assert!(readiness.is_synced(ImageKind::VirtualMachineImage));
        assert!(
            index.read().is_empty(),
            "the new list replaced what the old watch knew"
        );
    }

    #[test]
    fn readiness_needs_both_kinds_and_the_policies() {
        let (mut cluster, _, readiness) = sync(ImageKind::ClusterVirtualMachineImage);
        cluster.handle(watcher::Event::Init);
        cluster.handle(watcher::Event::InitDone);
        assert!(!readiness.is_ready());
        assert_eq!(readiness.missing(), vec!["VirtualMachineImage", "VMImagePolicy"]);
        readiness.set(ImageKind::VirtualMachineImage, true);
        assert!(readiness.images_ready());
        assert!(!readiness.is_ready());
        readiness.set_policies(true);
        assert!(readiness.is_ready());
        assert!(readiness.missing().is_empty());
    }

    #[test]
    fn an_image_with_integer_quantities_or_odd_fields_is_indexed() {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "vmoperator.vmware.com/v1alpha6",
            "metadata": {"name": "vmi-1", "namespace": "dev"},
            "status": {
                "name": "ubuntu",
                "disks": [{"name": "d", "requested": 10737418240_u64, "limit": 10737418240_u64}],
                "hardwareVersion": "not a number"
            }
        }))
        .unwrap();
        let entry = entry_of(ImageKind::VirtualMachineImage, &obj).unwrap();
        assert_eq!(entry.display_name.as_deref(), Some("ubuntu"));
    }

    #[test]
    fn a_relist_replaces_the_kind_and_events_apply_and_delete() {
        let (mut s, index, _) = sync(ImageKind::VirtualMachineImage);
        s.handle(watcher::Event::Apply(image(Some("ns1"), "vmi-old", "old")));
        s.handle(watcher::Event::Init);
        s.handle(watcher::Event::InitApply(image(Some("ns1"), "vmi-1", "ubuntu")));
        s.handle(watcher::Event::InitDone);
        assert!(index.read().get(Some("ns1"), "vmi-old").is_none());
        let entry = index.read().get(Some("ns1"), "vmi-1").cloned().unwrap();
        assert_eq!(entry.kind(), ImageKind::VirtualMachineImage);
        assert_eq!(entry.display_name.as_deref(), Some("ubuntu"));
        s.handle(watcher::Event::Delete(image(Some("ns1"), "vmi-1", "ubuntu")));
        assert!(index.read().is_empty());
    }
}
