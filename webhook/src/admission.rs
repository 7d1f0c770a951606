//! `POST /mutate`: the AdmissionReview handler.
//!
//! Only a CREATE of a VirtualMachine is looked at (VM Operator resolves images on CREATE
//! only, and both image fields are immutable afterwards); everything else is allowed
//! untouched. Dry-run requests take the same path: the webhook has no side effects.

use crate::{live, metrics::Decision, patch, state::AppState};
use axum::{
    Json, Router,
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
            (Json(res.into_review()).into_response(), decision)
        }
        Err(reason) => {
            tracing::warn!(%reason, "unreadable AdmissionReview");
            ((StatusCode::BAD_REQUEST, reason).into_response(), Decision::Error)
        }
    };
    state.metrics.admission(decision, started.elapsed());
    response
}

fn read(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, String> {
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_slice(body).map_err(|e| format!("malformed AdmissionReview: {e}"))?;
    if review.types.api_version != "admission.k8s.io/v1" || review.types.kind != "AdmissionReview" {
        return Err(format!(
            "expected an admission.k8s.io/v1 AdmissionReview, got {}/{}",
            review.types.api_version, review.types.kind
        ));
    }
    review
        .try_into()
        .map_err(|_| "the AdmissionReview has no request".to_string())
}

/// Decides one request.
async fn admit(state: &AppState, req: &AdmissionRequest<DynamicObject>) -> (AdmissionResponse, Decision) {
    let res = AdmissionResponse::from(req);
    let ns = req.namespace.as_deref().unwrap_or_default();
    let object = match (&req.operation, &req.object) {
        (Operation::Create, Some(object)) if is_virtual_machine(req) => object,
        _ => {
            tracing::debug!(%ns, name = %req.name, kind = %req.kind.kind, op = ?req.operation, decision = "allowed", "not a VirtualMachine CREATE");
            return (res, Decision::Allowed);
        }
    };
    let name = object
        .metadata
        .name
        .as_deref()
        .or(object.metadata.generate_name.as_deref())
        .unwrap_or_default();
    let json = match serde_json::to_value(object) {
        Ok(json) => json,
        Err(e) => return denied(res, ns, name, "", format!("cannot read the VirtualMachine: {e}")),
    };
    let mut refs = match VmImageRefs::from_json(&json) {
        Ok(refs) => refs,
        Err(e) => {
            let reason = format!(
                "cannot read the VirtualMachine's image fields (spec.imageName, spec.image, spec.hardware.cdrom): {e}"
            );
            return denied(res, ns, name, "", reason);
        }
    };
    if refs.namespace.is_empty() {
        refs.namespace = ns.to_string();
    }
    let image = refs
        .effective_image_name()
        .or(refs.image.as_ref().map(|i| i.name.as_str()))
        .unwrap_or_default()
        .to_string();
    match live::plan(state, &refs).await {
        Err(reason) => denied(res, ns, name, &image, reason),
        Ok(plan) if plan.changes.is_empty() => {
            tracing::debug!(%ns, %name, %image, decision = "allowed", "nothing to change");
            (res, Decision::Allowed)
        }
        Ok(plan) => match res.clone().with_patch(patch::build(&json, &plan)) {
            Ok(res) => {
                let to: Vec<&str> = plan.images.iter().map(|(_, i)| i.name.as_ref()).collect();
                tracing::info!(%ns, %name, %image, to = ?to, decision = "mutated", "image references resolved");
                (res, Decision::Mutated)
            }
            Err(e) => {
                let (res, _) = denied(
                    res,
                    ns,
                    name,
                    &image,
                    format!("vmimage could not encode its patch: {e}"),
                );
                (res, Decision::Error)
            }
        },
    }
}

fn is_virtual_machine(req: &AdmissionRequest<DynamicObject>) -> bool {
    req.kind.group == GROUP && req.kind.kind == VIRTUAL_MACHINE.kind && req.sub_resource.is_none()
}

/// Denies with 403 Forbidden, as VM Operator's own webhook does.
fn denied(
    res: AdmissionResponse,
    ns: &str,
    name: &str,
    image: &str,
    reason: String,
) -> (AdmissionResponse, Decision) {
    tracing::info!(%ns, %name, %image, decision = "denied", %reason, "VirtualMachine denied");
    let mut res = res.deny(reason);
    res.result.status = Some(StatusSummary::Failure);
    res.result.code = 403;
    res.result.reason = "Forbidden".to_string();
    (res, Decision::Denied)
}

#[cfg(test)]
mod tests;
