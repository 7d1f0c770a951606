//! The handler driven through the axum router with hand-built AdmissionReviews.

use super::router;
use crate::{index_sync::Readiness, live::FixedReader, metrics::Metrics, state::AppState};
use axum::{body::Body, http::StatusCode};
use kube::core::{DynamicObject, admission::AdmissionReview};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use vmimage_shared::{
    api::ImageKind,
    index::{ImageEntry, Index},
};

const LIMIT: usize = 64 * 1024;
const UBUNTU: &str = "vmi-0a0044d7c690bcbea";

/// A state whose index holds `cached` (synced) and whose live reader answers `live`.
fn state(cached: Vec<ImageEntry>, live: Result<Vec<ImageEntry>, &str>) -> AppState {
    let readiness = Readiness::default();
    readiness.set(ImageKind::VirtualMachineImage, true);
    readiness.set(ImageKind::ClusterVirtualMachineImage, true);
    AppState {
        index: Arc::new(parking_lot::RwLock::new(Index::from_entries(cached))),
        readiness,
        live: Arc::new(FixedReader(live.map_err(str::to_string))),
        metrics: Arc::new(Metrics::new()),
    }
}

/// The sample catalog's shape: one unique cluster image, two cluster images sharing a name.
fn catalog() -> Vec<ImageEntry> {
    vec![
        ImageEntry::test(UBUNTU, "ubuntu-24.04"),
        ImageEntry::test("vmi-aaaaaaaaaaaaaaaa1", "debian-12"),
        ImageEntry::test("vmi-aaaaaaaaaaaaaaaa2", "debian-12"),
    ]
}

fn vm(spec: Value) -> Value {
    json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6",
        "kind": "VirtualMachine",
        "metadata": {"name": "web", "namespace": "ns1"},
        "spec": spec
    })
}

fn review(operation: &str, kind: &str, object: Value, dry_run: bool) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "kind": kind},
            "resource": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "resource": "virtualmachines"},
            "name": "web",
            "namespace": "ns1",
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": object,
            "oldObject": if operation == "UPDATE" { object.clone() } else { Value::Null },
            "dryRun": dry_run,
        }
    })
}

fn create(spec: Value) -> Value {
    review("CREATE", "VirtualMachine", vm(spec), false)
}

async fn post_raw(state: &AppState, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = axum::http::Request::post("/mutate")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let res = router(state.clone(), LIMIT).oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
}

/// What the webhook answered: allowed, the status message and the decoded patch.
struct Answer {
    allowed: bool,
    code: u16,
    message: String,
    patch: Option<Value>,
    uid: String,
}

async fn post(state: &AppState, review: Value) -> Answer {
    let (status, body) = post_raw(state, serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(&body).unwrap();
    let res = review.response.unwrap();
    Answer {
        allowed: res.allowed,
        code: res.result.code,
        message: res.result.message,
        patch: res.patch.map(|p| serde_json::from_slice(&p).unwrap()),
        uid: res.uid,
    }
}

fn paths(patch: &Value) -> Vec<&str> {
    patch
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["path"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_display_name_is_rewritten_to_the_vmi_id_with_the_users_text_kept() {
    let s = state(catalog(), Ok(vec![]));
    let a = post(&s, create(json!({"imageName": "ubuntu-24.04"}))).await;
    assert!(a.allowed);
    assert_eq!(a.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    let patch = a.patch.expect("a patch");
    let paths = paths(&patch);
    assert!(paths.contains(&"/spec/imageName"), "{patch}");
    assert!(paths.contains(&"/spec/image"), "{patch}");
    assert!(paths.contains(&"/metadata/annotations"), "{patch}");
    assert!(
        paths.contains(&"/metadata/annotations/vmimage.io~1requested-image"),
        "{patch}"
    );
    let mut patched = vm(json!({"imageName": "ubuntu-24.04"}));
    let patch: json_patch::Patch = serde_json::from_value(patch).unwrap();
    json_patch::patch(&mut patched, &patch).unwrap();
    assert_eq!(patched["spec"]["imageName"], UBUNTU);
    assert_eq!(
        patched["spec"]["image"],
        json!({"kind": "ClusterVirtualMachineImage", "name": UBUNTU})
    );
    assert_eq!(
        patched["metadata"]["annotations"]["vmimage.io/requested-image"],
        "ubuntu-24.04"
    );
    assert!(
        s.metrics
            .render()
            .contains(r#"vmimage_admissions_total{result="mutated"} 1"#)
    );
}

#[tokio::test]
async fn an_ambiguous_name_is_denied_with_every_candidate_listed() {
    let s = state(catalog(), Ok(catalog()));
    let a = post(&s, create(json!({"imageName": "debian-12"}))).await;
    assert!(!a.allowed);
    assert_eq!(a.code, 403);
    assert!(
        a.message
            .starts_with(r#"multiple VM images exist for "debian-12" in cluster scope"#),
        "{}",
        a.message
    );
    assert!(a.message.contains("vmi-aaaaaaaaaaaaaaaa1"), "{}", a.message);
    assert!(a.message.contains("vmi-aaaaaaaaaaaaaaaa2"), "{}", a.message);
    assert!(a.patch.is_none());
}

#[tokio::test]
async fn a_missing_name_is_denied_once_the_live_read_confirms_it() {
    let s = state(catalog(), Ok(catalog()));
    let a = post(&s, create(json!({"imageName": "no-such-image"}))).await;
    assert!(!a.allowed);
    assert!(
        a.message
            .starts_with(r#"no VM image exists for "no-such-image" in namespace or cluster scope"#),
        "{}",
        a.message
    );
    assert!(s.metrics.render().contains("vmimage_live_reads_total 1"));
}

#[tokio::test]
async fn an_image_the_cache_has_not_seen_yet_is_found_by_the_live_read() {
    let fresh = ImageEntry::test("vmi-bbbbbbbbbbbbbbbbb", "fresh").in_ns("ns1");
    let s = state(catalog(), Ok(vec![fresh]));
    let a = post(&s, create(json!({"imageName": "fresh"}))).await;
    assert!(a.allowed, "{}", a.message);
    let patch = a.patch.expect("a patch");
    assert!(
        patch
            .to_string()
            .contains(r#"{"kind":"VirtualMachineImage","name":"vmi-bbbbbbbbbbbbbbbbb"}"#),
        "{patch}"
    );
    assert!(
        s.index.read().get(Some("ns1"), "vmi-bbbbbbbbbbbbbbbbb").is_some(),
        "the live read is remembered"
    );
}

#[tokio::test]
async fn a_failed_live_read_denies_with_the_cached_reason_and_says_so() {
    let s = state(catalog(), Err("connection refused"));
    let a = post(&s, create(json!({"imageName": "no-such-image"}))).await;
    assert!(!a.allowed);
    assert!(
        a.message.starts_with(r#"no VM image exists for "no-such-image""#),
        "{}",
        a.message
    );
    assert!(a.message.contains("could not confirm"), "{}", a.message);
    assert!(a.message.contains("connection refused"), "{}", a.message);
}

#[tokio::test]
async fn an_unsynced_index_confirms_even_a_cached_match() {
    let s = state(
        vec![ImageEntry::test("vmi-aaaaaaaaaaaaaaaa1", "debian-12")],
        Ok(catalog()),
    );
    s.readiness.set(ImageKind::VirtualMachineImage, false);
    let a = post(&s, create(json!({"imageName": "debian-12"}))).await;
    assert!(!a.allowed, "the live read sees both debian-12 images");
    assert!(a.message.contains("multiple VM images"), "{}", a.message);
}

#[tokio::test]
async fn an_unsynced_index_with_a_failed_live_read_denies() {
    let s = state(catalog(), Err("timeout"));
    s.readiness.set(ImageKind::ClusterVirtualMachineImage, false);
    let a = post(&s, create(json!({"imageName": "ubuntu-24.04"}))).await;
    assert!(!a.allowed);
    assert!(a.message.contains("still syncing"), "{}", a.message);
}

#[tokio::test]
async fn a_vm_already_naming_its_image_by_id_passes_untouched() {
    let s = state(catalog(), Ok(vec![]));
    let spec = json!({"imageName": UBUNTU, "image": {"kind": "ClusterVirtualMachineImage", "name": UBUNTU}});
    let a = post(&s, create(spec)).await;
    assert!(a.allowed);
    assert!(a.patch.is_none());
}

#[tokio::test]
async fn the_namespace_comes_from_the_request_when_the_object_has_none() {
    let s = state(
        vec![ImageEntry::test("vmi-ccccccccccccccccc", "mine").in_ns("ns1")],
        Ok(vec![]),
    );
    let mut object = vm(json!({"imageName": "mine"}));
    object["metadata"] = json!({"generateName": "web-"});
    let a = post(&s, review("CREATE", "VirtualMachine", object, false)).await;
    assert!(a.allowed, "{}", a.message);
    assert!(a.patch.unwrap().to_string().contains("vmi-ccccccccccccccccc"));
}

#[tokio::test]
async fn an_update_is_allowed_untouched() {
    let s = state(catalog(), Err("must not be called"));
    let a = post(
        &s,
        review(
            "UPDATE",
            "VirtualMachine",
            vm(json!({"imageName": "debian-12"})),
            false,
        ),
    )
    .await;
    assert!(a.allowed);
    assert!(a.patch.is_none());
}

#[tokio::test]
async fn other_kinds_and_subresources_are_allowed_untouched() {
    let s = state(catalog(), Err("must not be called"));
    let a = post(
        &s,
        review(
            "CREATE",
            "VirtualMachineImage",
            vm(json!({"imageName": "debian-12"})),
            false,
        ),
    )
    .await;
    assert!(a.allowed && a.patch.is_none());

    let mut status = create(json!({"imageName": "debian-12"}));
    status["request"]["subResource"] = json!("status");
    let a = post(&s, status).await;
    assert!(a.allowed && a.patch.is_none());

    let mut delete = review("DELETE", "VirtualMachine", Value::Null, false);
    delete["request"]["oldObject"] = vm(json!({"imageName": "debian-12"}));
    let a = post(&s, delete).await;
    assert!(a.allowed && a.patch.is_none());
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let s = state(catalog(), Ok(vec![]));
    let (status, body) = post_raw(&s, b"{\"apiVersion\": \"admission.k8s.io/v1\", ".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("malformed AdmissionReview"));
    let (status, _) = post_raw(&s, b"[1, 2]".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        s.metrics
            .render()
            .contains(r#"vmimage_admissions_total{result="error"} 2"#)
    );
}

#[tokio::test]
async fn a_review_of_another_api_version_is_a_bad_request() {
    let s = state(catalog(), Ok(vec![]));
    let mut old = create(json!({"imageName": "ubuntu-24.04"}));
    old["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = post_raw(&s, serde_json::to_vec(&old).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("admission.k8s.io/v1beta1"));

    let mut empty = create(json!({}));
    empty.as_object_mut().unwrap().remove("request");
    assert_eq!(
        post_raw(&s, serde_json::to_vec(&empty).unwrap()).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_wrongly_typed_image_field_is_denied_not_a_server_error() {
    let s = state(catalog(), Ok(vec![]));
    let a = post(&s, create(json!({"imageName": 3}))).await;
    assert!(!a.allowed);
    assert_eq!(a.code, 403);
    assert!(a.message.contains("spec.imageName"), "{}", a.message);
    assert!(a.message.contains("invalid type"), "{}", a.message);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let s = state(catalog(), Ok(vec![]));
    let big = "x".repeat(LIMIT + 1);
    let (status, _) = post_raw(
        &s,
        serde_json::to_vec(&create(json!({"imageName": big}))).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_dry_run_is_answered_exactly_like_a_real_request() {
    let s = state(catalog(), Ok(catalog()));
    for spec in [
        json!({"imageName": "ubuntu-24.04"}),
        json!({"imageName": "debian-12"}),
    ] {
        let real = post(&s, review("CREATE", "VirtualMachine", vm(spec.clone()), false)).await;
        let dry = post(&s, review("CREATE", "VirtualMachine", vm(spec), true)).await;
        assert_eq!(
            (real.allowed, real.code, real.message, real.patch),
            (dry.allowed, dry.code, dry.message, dry.patch)
        );
    }
}
