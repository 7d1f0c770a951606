//! The plain-HTTP admin port: `/healthz` (the process runs), `/readyz` (the index holds
//! every image and every image policy is loaded) and `/metrics`. Kept off the admission port so probes and scrapes need no
//! TLS and cannot be confused with admission traffic.

use crate::state::AppState;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// The admin router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.readiness.is_ready() {
        "ok\n".into_response()
    } else {
        let missing = state.readiness.missing().join(", ");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not synced yet: {missing}\n"),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{live::FakeReader, metrics::Metrics};
    use axum::body::Body;
    use std::sync::Arc;
    use tower::ServiceExt;
    use vmimage_shared::api::ImageKind;

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let req = axum::http::Request::get(path).body(Body::empty()).unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn ready_only_after_both_kinds_and_the_policies_synced_and_healthy_always() {
        let state = AppState::new(Arc::new(FakeReader::new(Ok(vec![]))), Arc::new(Metrics::new()));
        let readiness = state.readiness.clone();
        let (status, body) = get(router(state.clone()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("VirtualMachineImage, ClusterVirtualMachineImage, VMImagePolicy"),
            "{body}"
        );
        assert_eq!(get(router(state.clone()), "/healthz").await.0, StatusCode::OK);
        readiness.set(ImageKind::VirtualMachineImage, true);
        assert_eq!(
            get(router(state.clone()), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        readiness.set(ImageKind::ClusterVirtualMachineImage, true);
        let (status, body) = get(router(state.clone()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "not synced yet: VMImagePolicy\n");
        readiness.set_policies(true);
        assert_eq!(get(router(state.clone()), "/readyz").await.0, StatusCode::OK);
        let (status, body) = get(router(state), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("vmimage_index_synced"), "{body}");
    }
}
