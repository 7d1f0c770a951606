//! `POST /mutate`: the AdmissionReview handler.
//!
//! A CREATE of a VirtualMachine is resolved, checked against the image policies and
//! patched (VM Operator resolves images on CREATE only, and both image fields are
//! immutable afterwards). An UPDATE that changes an image field is resolved and checked
//! but never patched; every other request is allowed untouched. Dry-run requests take the
//! same path: the webhook has no side effects (a dry run only skips the policy metric).

use crate::{
    log_text::{self, Untrusted},
    metrics::Decision,
    patch,
    state::AppState,
};

mod answer;
mod lookup;
mod refusal;
mod reviewed;
mod verdict;
use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use kube::core::{
    admission::{AdmissionRequest, AdmissionResponse, Operation},
    response::StatusSummary,
};
pub use refusal::Refusal;
use reviewed::Reviewed;
use std::time::Instant;
use vmimage_shared::{
    api::{GROUP, VIRTUAL_MACHINE, VmImageRefs},
    decide::{Admission, Denial},
};

/// The HTTPS router: `POST /mutate`, bodies above `max_body_bytes` refused with 413.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Answers one AdmissionReview; an unreadable one gets 400 with the reason.
pub async fn mutate(State(state): State<AppState>, body: Bytes) -> Response {
    answer_body(&state, &body, Depth::Bounded).await
}

/// How deep a review's JSON may nest for the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// serde_json's default limit (128 levels), safe on any thread.
    Bounded,
    /// No limit: only on a thread whose stack fits the review (see
    /// [`crate::deep_review`]); reading, copying and dropping a `Value` recurse per level.
    Unbounded,
}

/// Answers the AdmissionReview `body`, recording the decision's metric.
pub async fn answer_body(state: &AppState, body: &[u8], depth: Depth) -> Response {
    let started = Instant::now();
    let (response, decision, reason) = match read(body, depth) {
        Ok(req) => {
            let (res, decision, reason) = admit(state, &req).await;
            (answer::review(res), decision, reason)
        }
        Err(unreadable) => {
            tracing::warn!(reason = %unreadable.for_log(), "unreadable AdmissionReview");
            let body = Untrusted(&unreadable.to_string()).to_string();
            let response = (StatusCode::BAD_REQUEST, body).into_response();
            (response, Decision::Error, "UnreadableReview")
        }
    };
    state.metrics.admission(decision, reason, started.elapsed());
    response
}

/// Why a body is not an AdmissionReview the webhook can answer.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("malformed AdmissionReview: {0}")]
    Json(#[source] serde_json::Error),
    #[error("expected an admission.k8s.io/v1 AdmissionReview, got {api_version}/{kind}")]
    WrongKind { api_version: String, kind: String },
    #[error("the AdmissionReview has no request")]
    NoRequest,
}

impl Unreadable {
    /// The reason for the log: serde's message quotes the offending value, which may be
    /// anything from the object, so only its kind and place are logged.
    fn for_log(&self) -> String {
        match self {
            Self::Json(e) => format!("malformed AdmissionReview: {}", log_text::json_error(e)),
            other => Untrusted(&other.to_string()).to_string(),
        }
    }
}

fn read(body: &[u8], depth: Depth) -> Result<AdmissionRequest<Reviewed>, Unreadable> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(body);
    if depth == Depth::Unbounded {
        de.disable_recursion_limit();
    }
    let review = reviewed::Envelope::deserialize(&mut de)
        .and_then(|review| de.end().map(|()| review))
        .map_err(Unreadable::Json)?;
    if review.api_version != "admission.k8s.io/v1" || review.kind != "AdmissionReview" {
        return Err(Unreadable::WrongKind {
            api_version: review.api_version,
            kind: review.kind,
        });
    }
    review.try_into().map_err(|_| Unreadable::NoRequest)
}

/// An answered request: the response, what it decided, and why (a metric label).
type Answered = (AdmissionResponse, Decision, &'static str);

/// Decides one request.
async fn admit(state: &AppState, req: &AdmissionRequest<Reviewed>) -> Answered {
    let res = AdmissionResponse::from(req);
    let ns = req.namespace.as_deref().unwrap_or_default();
    match (&req.operation, &req.object) {
        (Operation::Create, Some(object)) if is_virtual_machine(req) => {
            create(state, req, res, ns, object).await
        }
        (Operation::Update, Some(object)) if is_virtual_machine(req) => {
            update(state, req, res, ns, object).await
        }
        _ => {
            tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(&req.name), kind = %Untrusted(&req.kind.kind), op = ?req.operation, decision = "allowed", "not a VirtualMachine CREATE or UPDATE");
            (res, Decision::Allowed, "NotAVirtualMachineWrite")
        }
    }
}

/// A VM as JSON and its image fields, the namespace filled in from the request.
struct Vm<'a> {
    json: &'a serde_json::Value,
    refs: VmImageRefs,
    /// The image as written, for logs.
    image: String,
}

fn read_vm<'a>(object: &'a Reviewed, ns: &str) -> Result<Vm<'a>, Refusal> {
    let json = &object.json;
    let mut refs = VmImageRefs::from_json(json).map_err(Refusal::Unreadable)?;
    if refs.namespace.is_empty() {
        refs.namespace = ns.to_string();
    }
    let image = refs
        .effective_image_name()
        .or(refs.image.as_ref().map(|i| i.name.as_str()))
        .unwrap_or_default()
        .to_string();
    Ok(Vm { json, refs, image })
}

fn name_of(object: &Reviewed) -> &str {
    use kube::core::Resource;
    let meta = object.meta();
    meta.name
        .as_deref()
        .or(meta.generate_name.as_deref())
        .unwrap_or_default()
}

/// The user-facing warnings and the policy bookkeeping of an admitted VM.
fn admitted(
    state: &AppState,
    req: &AdmissionRequest<Reviewed>,
    admission: &Admission,
    res: AdmissionResponse,
) -> AdmissionResponse {
    let mut res = verdict::record(state, req, &admission.verdict, res);
    let warnings = admission.warnings();
    if !warnings.is_empty() {
        res.warnings.get_or_insert_default().extend(warnings);
    }
    res
}

/// CREATE: decide (VM Operator's steps, vmimage's rewrite, the policies), then patch.
async fn create(
    state: &AppState,
    req: &AdmissionRequest<Reviewed>,
    res: AdmissionResponse,
    ns: &str,
    object: &Reviewed,
) -> Answered {
    let name = name_of(object);
    let Vm { json, refs, image } = match read_vm(object, ns) {
        Ok(vm) => vm,
        Err(refusal) => return denied(state, req, res, name, "", refusal),
    };
    let admission = match lookup::inputs(state, ns).await {
        Ok(inputs) => lookup::decide(state, &inputs, &refs).await,
        Err(refusal) => Err(refusal),
    };
    let admission = match admission {
        Ok(admission) => admission,
        Err(refusal) => return denied(state, req, res, name, &image, refusal),
    };
    let res = admitted(state, req, &admission, res);
    let plan = &admission.plan;
    if plan.changes.is_empty() {
        tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&image), decision = "allowed", "nothing to change");
        return (res, Decision::Allowed, "Resolved");
    }
    match res.clone().with_patch(patch::build(json, plan)) {
        Ok(res) => {
            // NB: debug, not info: formatting a line per admitted VM was the largest part of
            // vmimage's own cost on the hop (issue 21); denials, which need a reason read,
            // stay at info, and vmimage_admissions_total counts every mutation.
            tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&image), to = ?plan.images.iter().map(|(_, i)| i.name.as_ref()).collect::<Vec<&str>>(), decision = "mutated", "image references resolved");
            (res, Decision::Mutated, "Resolved")
        }
        Err(e) => {
            let (res, _, reason) = denied(state, req, res, name, &image, Refusal::Patch(e));
            (res, Decision::Error, reason)
        }
    }
}

/// UPDATE: nothing is rewritten (VM Operator resolves on CREATE only), but an UPDATE that
/// changes an image field is decided and held to the image policies like a CREATE, so
/// policies cannot be sidestepped by creating a VM with an allowed image and switching.
async fn update(
    state: &AppState,
    req: &AdmissionRequest<Reviewed>,
    res: AdmissionResponse,
    ns: &str,
    object: &Reviewed,
) -> Answered {
    let name = name_of(object);
    let new = match read_vm(object, ns) {
        Ok(vm) => vm,
        Err(refusal) => return denied(state, req, res, name, "", refusal),
    };
    let old = req.old_object.as_ref().and_then(|old| read_vm(old, ns).ok());
    if old.is_some_and(|old| same_images(&old.refs, &new.refs)) {
        tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), decision = "allowed", "UPDATE leaves the image fields alone");
        return (res, Decision::Allowed, "ImagesUnchanged");
    }
    let inputs = match lookup::inputs(state, ns).await {
        Ok(inputs) => inputs,
        Err(refusal) => return denied(state, req, res, name, &new.image, refusal),
    };
    if !inputs.any_policy_applies() {
        tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), decision = "allowed", "image fields changed; no policy selects the namespace");
        return (res, Decision::Allowed, "NoPolicy");
    }
    match lookup::decide(state, &inputs, &new.refs).await {
        Ok(admission) => {
            tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&new.image), decision = "allowed", "changed image fields pass the image policies");
            (
                admitted(state, req, &admission, res),
                Decision::Allowed,
                "PolicyPassed",
            )
        }
        Err(Refusal::Denied(denial)) if matches!(*denial, Denial::Policy { .. }) => {
            denied(state, req, res, name, &new.image, Refusal::Denied(denial))
        }
        Err(refusal) => denied(
            state,
            req,
            res,
            name,
            &new.image,
            Refusal::ChangedImages(Box::new(refusal)),
        ),
    }
}

/// Whether two versions of a VM name the same images (`spec.imageName`, `spec.image`,
/// `spec.hardware.cdrom[].image`).
fn same_images(old: &VmImageRefs, new: &VmImageRefs) -> bool {
    let cdrom_images = |vm: &VmImageRefs| vm.cdroms.iter().map(|c| c.image.clone()).collect::<Vec<_>>();
    old.image_name == new.image_name && old.image == new.image && cdrom_images(old) == cdrom_images(new)
}

fn is_virtual_machine(req: &AdmissionRequest<Reviewed>) -> bool {
    req.kind.group == GROUP && req.kind.kind == VIRTUAL_MACHINE.kind && req.sub_resource.is_none()
}

/// Denies with 403 Forbidden, as VM Operator's own webhook does; a policy denial keeps
/// its Warn violations as warnings and its Audit ones as annotations.
fn denied(
    state: &AppState,
    req: &AdmissionRequest<Reviewed>,
    res: AdmissionResponse,
    name: &str,
    image: &str,
    refusal: Refusal,
) -> Answered {
    let ns = req.namespace.as_deref().unwrap_or_default();
    tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(image), decision = "denied", reason = refusal.reason(), message = %refusal.for_log(), "VirtualMachine denied");
    let mut res = res;
    if let Refusal::Denied(denial) = &refusal
        && let Denial::Policy { verdict, .. } = &**denial
    {
        res = verdict::record(state, req, verdict, res);
        let warnings: Vec<String> = verdict
            .of(vmimage_shared::policy::Mode::Warn)
            .map(ToString::to_string)
            .collect();
        if !warnings.is_empty() {
            res.warnings.get_or_insert_default().extend(warnings);
        }
    }
    let reason = refusal.reason();
    let (res, decision) = deny(res, refusal.to_string());
    (res, decision, reason)
}

fn deny(res: AdmissionResponse, reason: String) -> (AdmissionResponse, Decision) {
    let mut res = res.deny(reason);
    res.result.status = Some(StatusSummary::Failure);
    res.result.code = 403;
    res.result.reason = "Forbidden".to_string();
    (res, Decision::Denied)
}

#[cfg(test)]
mod tests;
