//! The reads a decision needs, cache first, and the decision itself.
//!
//! The index lags the API server by a watch event: an image created a moment ago may be
//! missing (the name looks unknown), or a second image with the same display name may not
//! have arrived yet. Denying on such a miss would break `kubectl apply` of an image and a
//! VM in one go, so every cached "no" (and every reference that will not resolve) waits
//! up to `--miss-grace` for the watch to deliver, and is meanwhile confirmed by listing
//! the VM's namespace and the cluster's images live while the index is small enough for
//! that (`--live-confirm-max-images`); the first settled answer wins. Larger indexes
//! deny from the synced watch after the grace, and say so. While the index is not
//! synced, every answer is confirmed live. A failed live read never turns a "no" into a
//! "yes".

use super::refusal::Refusal;
use crate::{live::LiveError, log_text::Untrusted, namespaces::Labels, state::AppState};
use std::sync::Arc;
use vmimage_shared::{
    api::VmImageRefs,
    decide::{self, Admission, Context, Decision, Denial},
    index::Index,
    library::Libraries,
    policy::Policy,
    resolve::qualified,
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

/// The content libraries of the images a `<library>/<display name>` reference of `refs`
/// could name, read live (a few GETs); none for a VM without such a reference.
async fn libraries(state: &AppState, refs: &VmImageRefs) -> Result<Libraries, Refusal> {
    let wanted = qualified::candidates_for_vm(&state.index.read(), refs);
    if wanted.is_empty() {
        return Ok(Libraries::default());
    }
    state.metrics.live_read();
    state.live.libraries(&wanted).await.map_err(Refusal::Libraries)
}

/// Whether the index's answer needs no confirmation: an admission without warnings,
/// or a policy's denial (policies are watched too). An image denial may be a lag.
fn trusted(decision: &Decision) -> bool {
    match decision {
        Decision::Admit(a) => !a.plan.warnings.iter().any(|w| w.may_be_lag()),
        Decision::Deny(Denial::Policy { .. }) => true,
        Decision::Deny(Denial::Image(_)) => false,
    }
}

/// Decides `refs` ([`vmimage_shared::decide`]) from the index, confirming when the index
/// is unsynced or its answer could be a lag: the watch is given `--miss-grace` to
/// deliver, and while the index is small enough a live LIST runs at the same time;
/// whichever settles first wins.
pub(super) async fn decide(
    state: &AppState,
    inputs: &Inputs,
    refs: &VmImageRefs,
) -> Result<Admission, Refusal> {
    let libraries = libraries(state, refs).await?;
    let with = |index: &Index| {
        decide::decide(
            &Context {
                index,
                libraries: &libraries,
                policies: &inputs.policies,
                namespace_labels: &inputs.labels,
            },
            refs,
        )
    };
    // NB: subscribed before the read, so no change between the read and the wait is lost.
    let mut changes = state.changes.subscribe();
    let (cached, images) = {
        let index = state.index.read();
        (with(&index), index.len())
    };
    let synced = state.readiness.images_ready();
    if synced && trusted(&cached) {
        return settle(cached);
    }
    if !synced && images <= state.misses.live_max_images {
        return confirm_live(state, refs, cached, false, &with).await;
    }
    let (cached, images) = if synced {
        (cached, images)
    } else {
        // A large index re-listing: a live LIST would be the same read, slower than
        // the one under way. Its answer is as fresh as a live one.
        if !until_synced(state, &mut changes).await {
            return Err(Refusal::Relisting {
                images,
                waited: state.misses.relist_wait,
            });
        }
        state.metrics.miss_settled("relist");
        let index = state.index.read();
        let decision = with(&index);
        if trusted(&decision) {
            return settle(decision);
        }
        (decision, index.len())
    };
    let from_watch = until_trusted(state, &mut changes, &with);
    if images <= state.misses.live_max_images {
        tokio::select! {
            biased;
            Some(decision) = from_watch => {
                state.metrics.miss_settled("watch");
                settle(decision)
            }
            live = confirm_live(state, refs, cached, true, &with) => live,
        }
    } else if let Some(decision) = from_watch.await {
        state.metrics.miss_settled("watch");
        settle(decision)
    } else {
        // Too many images to LIST within the webhook's time: the synced watch, given
        // the grace to deliver, is the answer (the denial says so).
        state.metrics.miss_settled("grace");
        match with(&state.index.read()) {
            Decision::Deny(Denial::Image(error)) => Err(Refusal::FromWatch {
                denial: Box::new(Denial::Image(error)),
                grace: state.misses.grace,
                images,
            }),
            other => settle(other),
        }
    }
}

/// Whether the image index completes its re-list within `relist_wait`.
async fn until_synced(state: &AppState, changes: &mut tokio::sync::watch::Receiver<u64>) -> bool {
    let deadline = tokio::time::Instant::now() + state.misses.relist_wait;
    while !state.readiness.images_ready() {
        if !matches!(
            tokio::time::timeout_at(deadline, changes.changed()).await,
            Ok(Ok(()))
        ) {
            return state.readiness.images_ready();
        }
    }
    true
}

/// The index's answer once it needs no confirmation, re-decided on every change the
/// watches make within `--miss-grace`; `None` when the grace ends first or the index
/// stops being synced (a re-list).
async fn until_trusted(
    state: &AppState,
    changes: &mut tokio::sync::watch::Receiver<u64>,
    with: &impl Fn(&Index) -> Decision,
) -> Option<Decision> {
    let deadline = tokio::time::Instant::now() + state.misses.grace;
    while let Ok(Ok(())) = tokio::time::timeout_at(deadline, changes.changed()).await {
        if !state.readiness.images_ready() {
            return None;
        }
        let decision = with(&state.index.read());
        if trusted(&decision) {
            return Some(decision);
        }
    }
    None
}

/// The answer from a live LIST of the VM's namespace and the cluster's images; when the
/// read fails, the index's answer only if it admits and the index is `synced`.
async fn confirm_live(
    state: &AppState,
    refs: &VmImageRefs,
    cached: Decision,
    synced: bool,
    with: &impl Fn(&Index) -> Decision,
) -> Result<Admission, Refusal> {
    state.metrics.live_read();
    match state.live.images(&refs.namespace).await {
        // NB: the live answer is not written into the index. The watch is its only
        // writer: a live list that raced a delete event would otherwise put the deleted
        // image back, to resolve until the next re-list.
        Ok(entries) => {
            state.metrics.miss_settled("live");
            settle(with(&Index::from_entries(entries)))
        }
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
