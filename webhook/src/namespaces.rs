//! The labels of every namespace, for policies' `namespaceSelector`.
//!
//! A metadata-only watch on Namespaces keeps `name → labels` in memory (labels are all a
//! selector reads, and metadata-only lists stay small). A namespace the cache has not
//! seen yet (created a moment ago) is read live by [`labels`]; the watch is the authority
//! on everything it has delivered.

use crate::metrics::Metrics;
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client, core::PartialObjectMeta, runtime::watcher};
use parking_lot::RwLock;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

/// Labels by namespace name.
pub type Labels = BTreeMap<String, String>;

/// The namespace cache shared by the watch (writer) and the admission handler (readers).
pub type SharedNamespaces = Arc<RwLock<HashMap<String, Arc<Labels>>>>;

/// Runs the namespace watch until the process ends (a failed watch is restarted with a
/// full list, see [`crate::watch`]).
pub async fn run(
    client: Client,
    config: watcher::Config,
    namespaces: SharedNamespaces,
    metrics: Arc<Metrics>,
    restarts: crate::apiserver_probe::Restarts,
) {
    let api = Api::<PartialObjectMeta<Namespace>>::all(client);
    let mut sync = NamespaceSync::new(namespaces);
    let start = || watcher(api.clone(), config.clone());
    crate::watch::relist_on_error("Namespace", &metrics, start, &mut sync, restarts).await;
}

/// Applies namespace watch events to the cache.
pub struct NamespaceSync {
    namespaces: SharedNamespaces,
    /// Entries of a re-list in progress (between `Init` and `InitDone`).
    relisting: Option<HashMap<String, Arc<Labels>>>,
}

// === impl NamespaceSync ===

impl NamespaceSync {
    /// A sync writing into `namespaces`.
    pub fn new(namespaces: SharedNamespaces) -> Self {
        Self {
            namespaces,
            relisting: None,
        }
    }

    /// Applies one event. A re-list replaces the cache only once it is complete, so the
    /// cache never loses a namespace that still exists.
    pub fn handle(&mut self, event: watcher::Event<PartialObjectMeta<Namespace>>) {
        match event {
            watcher::Event::Init => self.relisting = Some(HashMap::new()),
            watcher::Event::InitApply(ns) => {
                if let Some((name, labels)) = entry(ns) {
                    self.relisting.get_or_insert_default().insert(name, labels);
                }
            }
            watcher::Event::InitDone => {
                let all = self.relisting.take().unwrap_or_default();
                tracing::info!(namespaces = all.len(), "namespace labels synced");
                *self.namespaces.write() = all;
            }
            watcher::Event::Apply(ns) => {
                if let Some((name, labels)) = entry(ns) {
                    self.namespaces.write().insert(name, labels);
                }
            }
            watcher::Event::Delete(ns) => {
                if let Some(name) = ns.metadata.name {
                    self.namespaces.write().remove(&name);
                }
            }
        }
    }
}

impl crate::watch::Cache<PartialObjectMeta<Namespace>> for NamespaceSync {
    fn event(&mut self, event: watcher::Event<PartialObjectMeta<Namespace>>) {
        self.handle(event);
    }

    /// Forgets every namespace: until the new list completes, labels are read live (and
    /// remembered), so a label changed during the outage is never missed.
    fn lost(&mut self, error: &watcher::Error) {
        self.relisting = None;
        self.namespaces.write().clear();
        tracing::warn!(%error, "namespace watch failed; reading labels live until a full re-list completes");
    }
}

fn entry(ns: PartialObjectMeta<Namespace>) -> Option<(String, Arc<Labels>)> {
    let name = ns.metadata.name?;
    Some((name, Arc::new(ns.metadata.labels.unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(name: &str, labels: serde_json::Value) -> PartialObjectMeta<Namespace> {
        serde_json::from_value(json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata",
            "metadata": {"name": name, "labels": labels}
        }))
        .unwrap()
    }

    #[test]
    fn a_relist_replaces_the_cache_and_events_apply_and_delete() {
        let cache = SharedNamespaces::default();
        let mut sync = NamespaceSync::new(cache.clone());
        sync.handle(watcher::Event::Apply(ns("gone", json!({}))));
        sync.handle(watcher::Event::Init);
        sync.handle(watcher::Event::InitApply(ns("prod", json!({"env": "prod"}))));
        assert!(cache.read().contains_key("gone"), "a partial list is not applied");
        sync.handle(watcher::Event::InitDone);
        assert!(!cache.read().contains_key("gone"));
        assert_eq!(cache.read()["prod"].get("env").map(String::as_str), Some("prod"));
        sync.handle(watcher::Event::Apply(ns("prod", json!({"env": "staging"}))));
        assert_eq!(
            cache.read()["prod"].get("env").map(String::as_str),
            Some("staging")
        );
        sync.handle(watcher::Event::Delete(ns("prod", json!({}))));
        assert!(cache.read().is_empty());
    }
}
