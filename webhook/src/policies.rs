//! Cluster image policies (`VMImagePolicy`, `vmimage.io/v1alpha1`) kept in memory by a
//! watch, and their status.
//!
//! The watch feeds a [`SharedPolicies`]; a policy takes effect as soon as its watch event
//! arrives (well within a second), without a restart. A policy that
//! [`Policy::from_json`] rejects is kept out of evaluation and logged.
//!
//! The policy CRD (`manifests/crds/vmimage.io_vmimagepolicies.yaml`) is part of the
//! webhook's install (the kustomize base carries it). Without it the watch logs a warning
//! and retries with backoff, and `/readyz` stays false: a replica that cannot see the
//! policies must not be asked to enforce them.
//!
//! Status: for every policy it loads, the webhook writes `status.observedGeneration` and
//! a `Ready` condition (`True`/`Accepted`, or `False`/`Invalid` with the parse error)
//! through the status subresource, only when that differs from what is there. The write
//! produces one more watch event, which then matches, so there is no write loop; two
//! replicas writing the same value is harmless.

use crate::index_sync::Readiness;
use kube::{
    Api, Client,
    api::{DynamicObject, GroupVersionKind, Patch, PatchParams},
    discovery::ApiResource,
    runtime::watcher,
};
use parking_lot::RwLock;
use serde_json::{Value, json};
use std::{collections::BTreeMap, sync::Arc};
use vmimage_shared::policy::{GROUP, KIND, PLURAL, Policy, PolicyError, VERSION};

/// The condition type the webhook maintains on every policy.
pub const READY: &str = "Ready";

/// The `VMImagePolicy` resource (vmimage's own API: its version is known, not discovered).
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, KIND), PLURAL)
}

/// The valid policies by name, and the list the evaluator reads.
#[derive(Debug, Default)]
pub struct PolicySet {
    by_name: BTreeMap<String, Policy>,
    /// Rebuilt on every change, so a request only clones an `Arc`.
    active: Arc<[Policy]>,
}

/// The policies shared by the watch (writer) and the admission handler (readers).
pub type SharedPolicies = Arc<RwLock<PolicySet>>;

// === impl PolicySet ===

impl PolicySet {
    /// A set holding `policies`.
    pub fn from_policies(policies: impl IntoIterator<Item = Policy>) -> Self {
        let mut set = Self::default();
        set.reset(policies);
        set
    }

    /// Every valid policy, in name order.
    pub fn active(&self) -> Arc<[Policy]> {
        self.active.clone()
    }

    /// Adds or replaces a policy.
    pub fn apply(&mut self, policy: Policy) {
        self.by_name.insert(policy.name.clone(), policy);
        self.rebuild();
    }

    /// Removes a policy (deleted, or no longer valid).
    pub fn remove(&mut self, name: &str) {
        if self.by_name.remove(name).is_some() {
            self.rebuild();
        }
    }

    /// Replaces every policy (a completed re-list).
    pub fn reset(&mut self, policies: impl IntoIterator<Item = Policy>) {
        self.by_name = policies.into_iter().map(|p| (p.name.clone(), p)).collect();
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.active = self.by_name.values().cloned().collect();
    }
}

/// A status write the watch asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The policy.
    pub name: String,
    /// The merge patch for the status subresource.
    pub patch: Value,
}

/// Runs the policy watch until the process ends. A failed watch (the CRD missing
/// included) is restarted with a full list (see [`crate::watch`]); status writes run
/// beside the watch.
pub async fn run(
    client: Client,
    config: watcher::Config,
    policies: SharedPolicies,
    readiness: Readiness,
    metrics: Arc<crate::metrics::Metrics>,
    restarts: crate::apiserver_probe::Restarts,
) {
    let api = Api::<DynamicObject>::all_with(client, &api_resource());
    let mut cache = PolicyWatch {
        sync: PolicySync::new(policies, readiness),
        api: api.clone(),
    };
    let start = || watcher(api.clone(), config.clone());
    crate::watch::relist_on_error(KIND, &metrics, start, &mut cache, restarts).await;
}

/// The policy set as a watch's cache: events applied, status writes spawned.
struct PolicyWatch {
    sync: PolicySync,
    api: Api<DynamicObject>,
}

impl crate::watch::Cache<DynamicObject> for PolicyWatch {
    fn event(&mut self, event: watcher::Event<DynamicObject>) {
        let now = k8s_openapi::jiff::Timestamp::now();
        for update in self.sync.handle(event, now) {
            tokio::spawn(write_status(self.api.clone(), update));
        }
    }

    fn lost(&mut self, error: &watcher::Error) {
        self.sync.lost();
        match error {
            watcher::Error::InitialListFailed(kube::Error::Api(status))
            | watcher::Error::WatchStartFailed(kube::Error::Api(status))
                if status.code == 404 =>
            {
                tracing::warn!(
                    crd = "vmimagepolicies.vmimage.io",
                    "the VMImagePolicy CRD is not installed (it is part of the webhook's install: \
                     manifests/webhook); not ready until it is; retrying"
                );
            }
            error => tracing::warn!(%error, "policy watch failed; not ready until a full re-list completes"),
        }
    }
}

async fn write_status(api: Api<DynamicObject>, update: StatusUpdate) {
    match api
        .patch_status(
            &update.name,
            &PatchParams::default(),
            &Patch::Merge(&update.patch),
        )
        .await
    {
        Ok(_) => tracing::debug!(policy = %update.name, "policy status written"),
        // NB: not retried here: the policy's next watch event (or the next re-list) asks again.
        Err(error) => tracing::warn!(policy = %update.name, %error, "cannot write policy status"),
    }
}

/// Applies policy watch events to the set and says which statuses need writing.
pub struct PolicySync {
    policies: SharedPolicies,
    readiness: Readiness,
    /// Policies of a re-list in progress (between `Init` and `InitDone`).
    relisting: Option<Vec<Policy>>,
}

// === impl PolicySync ===

impl PolicySync {
    /// A sync writing into `policies`, not yet synced.
    pub fn new(policies: SharedPolicies, readiness: Readiness) -> Self {
        readiness.set_policies(false);
        Self {
            policies,
            readiness,
            relisting: None,
        }
    }

    /// The watch failed: until a new list completes, policies are read live.
    pub fn lost(&mut self) {
        self.readiness.set_policies(false);
        self.relisting = None;
    }

    /// Applies one event; returns the status writes it calls for. `now` stamps a
    /// condition whose status changes.
    pub fn handle(
        &mut self,
        event: watcher::Event<DynamicObject>,
        now: k8s_openapi::jiff::Timestamp,
    ) -> Vec<StatusUpdate> {
        match event {
            watcher::Event::Init => {
                self.readiness.set_policies(false);
                self.relisting = Some(Vec::new());
                Vec::new()
            }
            watcher::Event::InitApply(obj) => {
                let (policy, update) = load(&obj, now);
                if let Some(policy) = policy {
                    self.relisting.get_or_insert_default().push(policy);
                }
                update.into_iter().collect()
            }
            watcher::Event::InitDone => {
                let all = self.relisting.take().unwrap_or_default();
                let count = all.len();
                self.policies.write().reset(all);
                self.readiness.set_policies(true);
                tracing::info!(policies = count, "image policies synced");
                Vec::new()
            }
            watcher::Event::Apply(obj) => {
                let (policy, update) = load(&obj, now);
                let name = obj.metadata.name.as_deref().unwrap_or_default();
                match policy {
                    Some(policy) => {
                        tracing::info!(policy = %name, mode = %policy.mode(), "image policy loaded");
                        self.policies.write().apply(policy);
                    }
                    None => self.policies.write().remove(name),
                }
                update.into_iter().collect()
            }
            watcher::Event::Delete(obj) => {
                if let Some(name) = obj.metadata.name.as_deref() {
                    tracing::info!(policy = %name, "image policy deleted");
                    self.policies.write().remove(name);
                }
                Vec::new()
            }
        }
    }
}

/// Parses one policy object; returns it when valid, and the status write it needs.
fn load(obj: &DynamicObject, now: k8s_openapi::jiff::Timestamp) -> (Option<Policy>, Option<StatusUpdate>) {
    let parsed = serde_json::to_value(obj)
        .map_err(|e| PolicyError::Invalid {
            name: obj.metadata.name.clone().unwrap_or_default(),
            message: e.to_string(),
        })
        .and_then(|json| Policy::from_json(&json));
    if let Err(error) = &parsed {
        tracing::warn!(%error, "image policy not loaded: it is left out of evaluation");
    }
    let update = obj
        .metadata
        .name
        .clone()
        .and_then(|name| status_patch(obj, &parsed, now).map(|patch| StatusUpdate { name, patch }));
    (parsed.ok(), update)
}

/// The status merge patch for a policy, or `None` when its status already says so.
pub fn status_patch(
    obj: &DynamicObject,
    parsed: &Result<Policy, PolicyError>,
    now: k8s_openapi::jiff::Timestamp,
) -> Option<Value> {
    let generation = obj.metadata.generation?;
    let (status, reason, message) = match parsed {
        Ok(_) => ("True", "Accepted", "the policy is in effect".to_string()),
        Err(error) => ("False", "Invalid", error.to_string()),
    };
    let current = &obj.data["status"];
    let ready = current["conditions"]
        .as_array()
        .and_then(|conditions| conditions.iter().find(|c| c["type"] == READY));
    let same = |c: &&Value| {
        c["status"] == status
            && c["reason"] == reason
            && c["message"] == message.as_str()
            && c["observedGeneration"] == generation
    };
    if current["observedGeneration"] == generation && ready.is_some_and(|c| same(&c)) {
        return None;
    }
    // The transition time moves only when the status flips (metav1.Condition's contract).
    let since = ready
        .filter(|c| c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            let time = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now);
            serde_json::to_value(time)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        });
    // NB: a merge patch replaces the conditions list; the webhook is its only writer.
    Some(json!({"status": {
        "observedGeneration": generation,
        "conditions": [{
            "type": READY,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
            "observedGeneration": generation,
        }],
    }}))
}

#[cfg(test)]
mod tests;
