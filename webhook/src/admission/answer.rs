//! The AdmissionReview answer on the wire.
//!
//! `AdmissionResponse.patch` is a Go `[]byte`, which Kubernetes' JSON carries as a base64
//! string. kube-core keeps it as `Vec<u8>`, and serde writes that as an array of numbers:
//! the apiserver's decoder takes it, but it is about 2.6 times the size of base64 and
//! surprises every other reader of the review. So the patch is written here as base64.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use kube::core::admission::AdmissionResponse;
use serde::Serialize;

/// `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": …}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Review {
    api_version: &'static str,
    kind: &'static str,
    response: Answer,
}

#[derive(Serialize)]
struct Answer {
    /// Every field kube-core writes, its own `patch` taken out (and so skipped).
    #[serde(flatten)]
    response: AdmissionResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
}

/// The 200 answer to one review.
pub(super) fn review(mut response: AdmissionResponse) -> Response {
    let patch = response.patch.take().map(|bytes| B64.encode(bytes));
    Json(Review {
        api_version: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: Answer { response, patch },
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use kube::core::admission::AdmissionRequest;
    use serde_json::{Value, json};

    async fn body(response: AdmissionResponse) -> Value {
        let bytes = to_bytes(review(response).into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn response() -> AdmissionResponse {
        let req: AdmissionRequest<kube::core::DynamicObject> = serde_json::from_value(json!({
            "uid": "0a3c", "kind": {"group": "g", "version": "v", "kind": "K"},
            "resource": {"group": "g", "version": "v", "resource": "ks"},
            "operation": "CREATE", "userInfo": {}, "dryRun": false,
        }))
        .unwrap();
        AdmissionResponse::from(&req)
    }

    #[tokio::test]
    async fn the_patch_is_base64_with_its_type() {
        let ops: json_patch::Patch = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/imageName", "value": "vmi-0a0044d7c690bcbea"}
        ]))
        .unwrap();
        let body = body(response().with_patch(ops).unwrap()).await;
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        let answer = &body["response"];
        assert_eq!(answer["uid"], "0a3c");
        assert_eq!(answer["allowed"], true);
        assert_eq!(answer["patchType"], "JSONPatch");
        let patch = B64
            .decode(answer["patch"].as_str().expect("a base64 string"))
            .unwrap();
        let patch: Value = serde_json::from_slice(&patch).unwrap();
        assert_eq!(patch[0]["value"], "vmi-0a0044d7c690bcbea");
    }

    #[tokio::test]
    async fn no_patch_means_no_patch_fields() {
        let denied = response().deny("no such image");
        let answer = body(denied).await["response"].clone();
        assert_eq!(answer["allowed"], false);
        assert_eq!(answer["status"]["message"], "no such image");
        assert!(
            answer.get("patch").is_none() && answer.get("patchType").is_none(),
            "{answer}"
        );
    }
}
