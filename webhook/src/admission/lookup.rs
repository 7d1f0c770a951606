//! The reads a decision needs, cache first, and the decision itself.
//!
//! The index lags the API server by a watch event: an image created a moment ago may be
//! missing (the name looks unknown), or a second image with the same display name may not
//! have arrived yet. Denying on such a miss would break `kubectl apply` of an image and a
//! VM in one go, so every cached "no" (and every reference that will not resolve) is
//! confirmed by listing the VM's namespace and the cluster's images live, and the live
//! answer wins. While the index is not synced, every answer is confirmed. A failed live
//! read never turns a "no" into a "yes".

use super::refusal::Refusal;
use crate::{live::LiveError, log_text::Untrusted, namespaces::Labels, state::AppState};
use std::sync::Arc;
use vmimage_shared::{
    api::VmImageRefs,
    decide::{self, Admission, Context, Decision, Denial},
    index::Index,
    policy::Policy,
};

/// The policies and the namespace's labels, once per request.
pub(super) struct Inputs {
    policies: Arc<[Policy]>,
    labels: Arc<Labels>,
}

impl Inputs {
    /// Whether any policy selects the namespace.
    pub(super) fn any_policy_applies(&self) -> bool {
        self.policies.iter().any(|p| p.selects(&self.labels))
    }
}

/// Reads the policies (the watched set once synced, else a live list, so an unsynced
/// replica never admits what a policy forbids) and, when a selector needs them, the
/// namespace's labels.
pub(super) async fn inputs(state: &AppState, namespace: &str) -> Result<Inputs, Refusal> {
    let policies: Arc<[Policy]> = if state.readiness.policies_synced() {
        state.policies.read().active()
    } else {
        state.metrics.live_read();
        state.live.policies().await.map_err(Refusal::Policies)?.into()
    };
    // NB: the labels are read only when a selector needs them.
    let labels = if policies.iter().any(|p| p.spec.namespace_selector.is_some()) {
        labels(state, namespace).await.map_err(|error| Refusal::Labels {
            namespace: namespace.to_string(),
            error,
        })?
    } else {
        Arc::default()
    };
    Ok(Inputs { policies, labels })
}

/// The labels of `namespace`: from the cache, else read live (and remembered). A
/// namespace that does not exist has no labels.
async fn labels(state: &AppState, namespace: &str) -> Result<Arc<Labels>, LiveError> {
    if let Some(labels) = state.namespaces.read().get(namespace) {
        return Ok(labels.clone());
    }
    state.metrics.live_read();
    let labels = Arc::new(state.live.namespace_labels(namespace).await?.unwrap_or_default());
    state
        .namespaces
        .write()
        .entry(namespace.to_string())
        .or_insert_with(|| labels.clone());
    Ok(labels)
}

/// Decides `refs` ([`vmimage_shared::decide`]) from the index, confirming with a live
/// read when the index is unsynced or its answer could be a lag.
pub(super) async fn decide(
    state: &AppState,
    inputs: &Inputs,
    refs: &VmImageRefs,
) -> Result<Admission, Refusal> {
    let with = |index: &Index| {
        decide::decide(
            &Context {
                index,
                policies: &inputs.policies,
                namespace_labels: &inputs.labels,
            },
            refs,
        )
    };
    let cached = with(&state.index.read());
    let trusted = match &cached {
        Decision::Admit(a) => a.plan.warnings.is_empty(),
        Decision::Deny(Denial::Policy { .. }) => true,
        Decision::Deny(Denial::Image(_)) => false,
    };
    let synced = state.readiness.images_ready();
    if synced && trusted {
        return settle(cached);
    }
    state.metrics.live_read();
    match state.live.images(&refs.namespace).await {
        // NB: the live answer is not written into the index. The watch is its only
        // writer: a live list that raced a delete event would otherwise put the deleted
        // image back, to resolve until the next re-list.
        Ok(entries) => settle(with(&Index::from_entries(entries))),
        Err(error) => {
            if matches!(error, LiveError::Skipped { .. }) {
                state.metrics.live_read_skipped();
            }
            tracing::warn!(ns = %Untrusted(&refs.namespace), %error, "live confirmation failed");
            match cached {
                Decision::Deny(denial) => Err(Refusal::Unconfirmed {
                    denial: Box::new(denial),
                    error,
                }),
                // Admitted with warnings by a synced index: a live read could only have
                // resolved more of what VM Operator does not look at.
                Decision::Admit(admission) if synced => Ok(admission),
                Decision::Admit(_) => Err(Refusal::Syncing(error)),
            }
        }
    }
}

fn settle(decision: Decision) -> Result<Admission, Refusal> {
    match decision {
        Decision::Admit(admission) => Ok(admission),
        Decision::Deny(denial) => Err(Refusal::Denied(Box::new(denial))),
    }
}
