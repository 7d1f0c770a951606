//! `POST /mutate`: the AdmissionReview handler.
//!
//! A CREATE of a VirtualMachine is resolved, checked against the image policies and
//! patched (VM Operator resolves images on CREATE only, and both image fields are
//! immutable afterwards). An UPDATE that changes an image field is resolved and checked
//! but never patched; every other request is allowed untouched. Dry-run requests take the
//! same path: the webhook has no side effects (a dry run only skips the policy metric).

use crate::{
    live,
    log_text::{self, Untrusted},
    metrics::Decision,
    patch,
    state::AppState,
};

mod answer;
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
    DynamicObject,
    admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
    response::StatusSummary,
};
use std::time::Instant;
use vmimage_shared::api::{GROUP, VIRTUAL_MACHINE, VmImageRefs};

/// The HTTPS router: `POST /mutate`, bodies above `max_body_bytes` refused with 413.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Answers one AdmissionReview; an unreadable one gets 400 with the reason.
pub async fn mutate(State(state): State<AppState>, body: Bytes) -> Response {
    let started = Instant::now();
    let (response, decision) = match read(&body) {
        Ok(req) => {
            let (res, decision) = admit(&state, &req).await;
            (answer::review(res), decision)
        }
        Err(unreadable) => {
            tracing::warn!(reason = %unreadable.for_log(), "unreadable AdmissionReview");
            let body = Untrusted(&unreadable.to_string()).to_string();
            ((StatusCode::BAD_REQUEST, body).into_response(), Decision::Error)
        }
    };
    state.metrics.admission(decision, started.elapsed());
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

fn read(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, Unreadable> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).map_err(Unreadable::Json)?;
    if review.types.api_version != "admission.k8s.io/v1" || review.types.kind != "AdmissionReview" {
        return Err(Unreadable::WrongKind {
            api_version: review.types.api_version,
            kind: review.types.kind,
        });
    }
    review.try_into().map_err(|_| Unreadable::NoRequest)
}

/// Decides one request.
async fn admit(state: &AppState, req: &AdmissionRequest<DynamicObject>) -> (AdmissionResponse, Decision) {
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
            (res, Decision::Allowed)
        }
    }
}

/// A VM as JSON and its image fields, the namespace filled in from the request.
struct Vm {
    json: serde_json::Value,
    refs: VmImageRefs,
    /// The image as written, for logs.
    image: String,
}

fn read_vm(object: &DynamicObject, ns: &str) -> Result<Vm, serde_json::Error> {
    let json = serde_json::to_value(object)?;
    let mut refs = VmImageRefs::from_json(&json)?;
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

fn name_of(object: &DynamicObject) -> &str {
    object
        .metadata
        .name
        .as_deref()
        .or(object.metadata.generate_name.as_deref())
        .unwrap_or_default()
}

/// CREATE: resolve, evaluate the image policies, then patch the resolved IDs in.
async fn create(
    state: &AppState,
    req: &AdmissionRequest<DynamicObject>,
    res: AdmissionResponse,
    ns: &str,
    object: &DynamicObject,
) -> (AdmissionResponse, Decision) {
    let name = name_of(object);
    let Vm { json, refs, image } = match read_vm(object, ns) {
        Ok(vm) => vm,
        Err(e) => return unreadable_vm(res, ns, name, &e),
    };
    let plan = match live::plan(state, &refs).await {
        Ok(plan) => plan,
        Err(reason) => return denied(res, ns, name, &image, reason),
    };
    let mut res = match verdict::check(state, req, ns, &plan, res).await {
        Ok(res) => res,
        Err((res, reason)) => return denied(res, ns, name, &image, reason),
    };
    // Newest selection settled an ambiguous name: say so where kubectl shows it.
    if !plan.notes.is_empty() {
        res.warnings
            .get_or_insert_default()
            .extend(plan.notes.iter().map(|n| format!("vmimage: {n}")));
    }
    if plan.changes.is_empty() {
        tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&image), decision = "allowed", "nothing to change");
        return (res, Decision::Allowed);
    }
    match res.clone().with_patch(patch::build(&json, &plan)) {
        Ok(res) => {
            let to: Vec<&str> = plan.images.iter().map(|(_, i)| i.name.as_ref()).collect();
            tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&image), to = ?to, decision = "mutated", "image references resolved");
            (res, Decision::Mutated)
        }
        Err(e) => {
            let reason = format!("vmimage could not encode its patch: {e}");
            let (res, _) = denied(res, ns, name, &image, reason);
            (res, Decision::Error)
        }
    }
}

/// UPDATE: nothing is rewritten (VM Operator resolves on CREATE only), but an UPDATE that
/// changes an image field is resolved and held to the image policies like a CREATE, so
/// policies cannot be sidestepped by creating a VM with an allowed image and switching.
async fn update(
    state: &AppState,
    req: &AdmissionRequest<DynamicObject>,
    res: AdmissionResponse,
    ns: &str,
    object: &DynamicObject,
) -> (AdmissionResponse, Decision) {
    let name = name_of(object);
    let new = match read_vm(object, ns) {
        Ok(vm) => vm,
        Err(e) => return unreadable_vm(res, ns, name, &e),
    };
    let old = req.old_object.as_ref().and_then(|old| read_vm(old, ns).ok());
    if old.is_some_and(|old| same_images(&old.refs, &new.refs)) {
        tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), decision = "allowed", "UPDATE leaves the image fields alone");
        return (res, Decision::Allowed);
    }
    match verdict::applies(state, ns).await {
        Ok(false) => {
            tracing::debug!(ns = %Untrusted(ns), name = %Untrusted(name), decision = "allowed", "image fields changed; no policy selects the namespace");
            return (res, Decision::Allowed);
        }
        Ok(true) => {}
        Err(reason) => return denied(res, ns, name, &new.image, reason),
    }
    let plan = match live::plan(state, &new.refs).await {
        Ok(plan) => plan,
        Err(reason) => {
            let reason =
                format!("{reason} (the changed image fields must resolve for image policies to be checked)");
            return denied(res, ns, name, &new.image, reason);
        }
    };
    match verdict::check(state, req, ns, &plan, res).await {
        Ok(res) => {
            tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(&new.image), decision = "allowed", "changed image fields pass the image policies");
            (res, Decision::Allowed)
        }
        Err((res, reason)) => denied(res, ns, name, &new.image, reason),
    }
}

/// Whether two versions of a VM name the same images (`spec.imageName`, `spec.image`,
/// `spec.hardware.cdrom[].image`).
fn same_images(old: &VmImageRefs, new: &VmImageRefs) -> bool {
    let cdrom_images = |vm: &VmImageRefs| vm.cdroms.iter().map(|c| c.image.clone()).collect::<Vec<_>>();
    old.image_name == new.image_name && old.image == new.image && cdrom_images(old) == cdrom_images(new)
}

fn is_virtual_machine(req: &AdmissionRequest<DynamicObject>) -> bool {
    req.kind.group == GROUP && req.kind.kind == VIRTUAL_MACHINE.kind && req.sub_resource.is_none()
}

/// Denies a VM whose image fields cannot be read; the log names the error's kind and
/// place, not the value serde's message quotes.
fn unreadable_vm(
    res: AdmissionResponse,
    ns: &str,
    name: &str,
    e: &serde_json::Error,
) -> (AdmissionResponse, Decision) {
    tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), decision = "denied", error = %log_text::json_error(e), "VirtualMachine denied: image fields unreadable");
    deny(
        res,
        format!(
            "cannot read the VirtualMachine's image fields (spec.imageName, spec.image, spec.hardware.cdrom): {e}"
        ),
    )
}

/// Denies with 403 Forbidden, as VM Operator's own webhook does.
fn denied(
    res: AdmissionResponse,
    ns: &str,
    name: &str,
    image: &str,
    reason: String,
) -> (AdmissionResponse, Decision) {
    tracing::info!(ns = %Untrusted(ns), name = %Untrusted(name), image = %Untrusted(image), decision = "denied", reason = %Untrusted(&reason), "VirtualMachine denied");
    deny(res, reason)
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
