//! The handler driven through the axum router with hand-built AdmissionReviews.

use super::router;
use crate::state::AppState;
use axum::{body::Body, http::StatusCode};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use kube::core::{DynamicObject, admission::AdmissionReview};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use vmimage_shared::{api::ImageKind, index::ImageEntry, policy::Policy};

const LIMIT: usize = 64 * 1024;
const UBUNTU: &str = "vmi-0a0044d7c690bcbea";

/// A state whose index holds `cached` (synced) and whose live reader answers `live`.
fn state(cached: Vec<ImageEntry>, live: Result<Vec<ImageEntry>, &str>) -> AppState {
    AppState::test(cached, live).0
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
    warnings: Vec<String>,
    audit: std::collections::HashMap<String, String>,
}

async fn post(state: &AppState, review: Value) -> Answer {
    let (status, body) = post_raw(state, serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let mut review: Value = serde_json::from_slice(&body).unwrap();
    // The patch is a base64 string on the wire (see answer.rs), which kube-core cannot read.
    let patch = review["response"]
        .as_object_mut()
        .unwrap()
        .remove("patch")
        .map(|p| {
            let bytes = B64
                .decode(p.as_str().expect("the patch is a base64 string"))
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        });
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(review).unwrap();
    let res = review.response.unwrap();
    Answer {
        allowed: res.allowed,
        code: res.result.code,
        message: res.result.message,
        patch,
        uid: res.uid,
        warnings: res.warnings.unwrap_or_default(),
        audit: res.audit_annotations,
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
            .contains(r#"vmimage_admissions_total{result="mutated",reason="Resolved"} 1"#)
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
    assert_not_found(&a);
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
        s.index.read().get(Some("ns1"), "vmi-bbbbbbbbbbbbbbbbb").is_none(),
        "only the watch writes the index: a live list can race a delete"
    );
}

/// A denial with VM Operator's not-found message for `no-such-image`.
fn assert_not_found(a: &Answer) {
    assert!(!a.allowed);
    assert!(
        a.message
            .starts_with(r#"no VM image exists for "no-such-image" in namespace or cluster scope"#),
        "{}",
        a.message
    );
}

/// A state whose live LIST is off (an index "too large" to list), so only the watch can
/// settle a miss.
fn without_live_confirmation(cached: Vec<ImageEntry>) -> (AppState, Arc<crate::live::FakeReader>) {
    let (mut s, reader) = AppState::test(cached, Err("no live reads expected"));
    s.misses = crate::state::MissPolicy {
        grace: std::time::Duration::from_millis(300),
        live_max_images: 0,
        relist_wait: std::time::Duration::from_millis(500),
    };
    (s, reader)
}

/// Starts a re-list of the cluster images in `s` (as a watch that could not resume
/// does): the old entries stay, the kind is not synced.
fn relisting(s: &AppState) {
    s.readiness
        .set(vmimage_shared::api::ImageKind::ClusterVirtualMachineImage, false);
}

#[tokio::test]
async fn a_large_index_re_listing_is_waited_for_instead_of_read_live() {
    let (s, reader) = without_live_confirmation(catalog());
    relisting(&s);
    let relist = {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            s.index
                .write()
                .apply(ImageEntry::test("vmi-bbbbbbbbbbbbbbbbb", "listed").in_ns("ns1"));
            s.readiness
                .set(vmimage_shared::api::ImageKind::ClusterVirtualMachineImage, true);
            s.changes.bump();
        })
    };
    let a = post(&s, create(json!({"imageName": "listed"}))).await;
    relist.await.unwrap();
    admitted_without_a_list(&a, &s, &reader, "vmi-bbbbbbbbbbbbbbbbb", "relist");
}

/// `a` admitted as `id` with no live read, the miss settled `by` that.
fn admitted_without_a_list(a: &Answer, s: &AppState, reader: &crate::live::FakeReader, id: &str, by: &str) {
    assert!(a.allowed, "{}", a.message);
    assert!(a.patch.as_ref().expect("a patch").to_string().contains(id));
    assert_eq!(reader.image_reads.load(std::sync::atomic::Ordering::SeqCst), 0);
    let metrics = s.metrics.render();
    assert!(
        metrics.contains(&format!(r#"vmimage_misses_settled_total{{by="{by}"}} 1"#)),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_re_list_that_outlasts_the_wait_refuses_without_reading_live() {
    let (s, reader) = without_live_confirmation(catalog());
    relisting(&s);
    // NB: even a name the old index resolves is not admitted from it.
    let a = post(&s, create(json!({"imageName": "ubuntu-24.04"}))).await;
    assert!(!a.allowed);
    assert!(
        a.message
            .contains("image index of 3 images is re-listing from the API server")
            && a.message.contains("did not finish within 500ms; retry shortly"),
        "{}",
        a.message
    );
    assert_eq!(reader.image_reads.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_image_the_watch_delivers_within_the_grace_is_admitted_without_a_list() {
    let (s, reader) = without_live_confirmation(catalog());
    let watch = {
        let s = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            s.index
                .write()
                .apply(ImageEntry::test("vmi-bbbbbbbbbbbbbbbbb", "fresh").in_ns("ns1"));
            s.changes.bump();
        })
    };
    let a = post(&s, create(json!({"imageName": "fresh"}))).await;
    watch.await.unwrap();
    admitted_without_a_list(&a, &s, &reader, "vmi-bbbbbbbbbbbbbbbbb", "watch");
}

#[tokio::test]
async fn a_miss_too_large_to_list_is_denied_from_the_synced_watch_saying_so() {
    let (s, reader) = without_live_confirmation(catalog());
    let a = post(&s, create(json!({"imageName": "no-such-image"}))).await;
    assert_not_found(&a);
    assert!(
        a.message
            .contains("from vmimage's watched image index of 3 images, in sync with the API server")
            && a.message.contains("created less than 300ms before this request"),
        "{}",
        a.message
    );
    assert_eq!(reader.image_reads.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        s.metrics
            .render()
            .contains(r#"vmimage_misses_settled_total{by="grace"} 1"#)
    );
}

#[tokio::test]
async fn a_change_that_settles_nothing_keeps_the_miss_waiting() {
    let (s, _) = without_live_confirmation(catalog());
    let noise = {
        let s = s.clone();
        tokio::spawn(async move {
            s.index
                .write()
                .apply(ImageEntry::test("vmi-ccccccccccccccccc", "other"));
            s.changes.bump();
        })
    };
    let a = post(&s, create(json!({"imageName": "debian-12"}))).await;
    noise.await.unwrap();
    assert!(!a.allowed, "still ambiguous: {}", a.message);
    assert!(a.message.contains("vmi-aaaaaaaaaaaaaaaa1"), "{}", a.message);
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
            .contains(r#"vmimage_admissions_total{result="error",reason="UnreadableReview"} 2"#)
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

// === image policies ===

const RHEL: &str = "vmi-b880fa100db6861c9";

/// The catalog plus a not-Ready image and an ISO.
fn patched(object: &Value, patch: &Value) -> Value {
    let mut out = object.clone();
    json_patch::patch(
        &mut out,
        &serde_json::from_value::<json_patch::Patch>(patch.clone()).unwrap(),
    )
    .unwrap();
    out
}

#[tokio::test]
async fn a_vm_with_only_a_cdrom_gets_the_image_vm_operator_would_copy_and_resolve() {
    let s = state(catalog(), Ok(catalog()));
    let spec = json!({"hardware": {"cdrom": [{"name": "cd0", "image": {"name": "ubuntu-24.04"}}]}});
    let a = post(&s, create(spec.clone())).await;
    assert!(a.allowed, "{}", a.message);
    let vm = patched(&vm(spec), a.patch.as_ref().expect("a patch"));
    assert_eq!(vm["spec"]["imageName"], UBUNTU);
    assert_eq!(
        vm["spec"]["image"],
        json!({"kind": "ClusterVirtualMachineImage", "name": UBUNTU})
    );
    assert_eq!(vm["spec"]["hardware"]["cdrom"][0]["image"], vm["spec"]["image"]);
    assert_eq!(
        vm["metadata"]["annotations"]["vmimage.io/requested-image"],
        "ubuntu-24.04"
    );
}

#[tokio::test]
async fn a_cdrom_vm_operator_never_resolves_only_warns() {
    let s = state(catalog(), Ok(catalog()));
    let spec = json!({"imageName": "ubuntu-24.04",
        "hardware": {"cdrom": [{"name": "cd0", "image": {"name": "no-such.iso"}}]}});
    let a = post(&s, create(spec)).await;
    assert!(a.allowed, "{}", a.message);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].starts_with(
            r#"vmimage: spec.hardware.cdrom[0].image.name: no VM image exists for "no-such.iso""#
        ),
        "{}",
        a.warnings[0]
    );
}

#[tokio::test]
async fn spec_image_must_equal_the_resolved_image_exactly_and_the_reason_is_counted() {
    let s = state(catalog(), Ok(catalog()));
    for image in [
        json!({}),
        json!({"kind": "", "name": UBUNTU}),
        json!({"kind": "ClusterVirtualMachineImage", "name": "ubuntu-24.04"}),
    ] {
        let a = post(&s, create(json!({"imageName": "ubuntu-24.04", "image": image}))).await;
        assert!(!a.allowed);
        assert!(
            a.message.starts_with(r#"spec.imageName: Invalid value: "ubuntu-24.04": must refer to the same resource as spec.image"#),
            "{}",
            a.message
        );
    }
    assert!(
        s.metrics
            .render()
            .contains(r#"vmimage_admissions_total{result="denied",reason="Mismatch"} 3"#),
        "{}",
        s.metrics.render()
    );
}

#[tokio::test]
async fn a_v1alpha2_vm_never_gets_spec_image() {
    let s = state(catalog(), Ok(catalog()));
    let mut object = vm(json!({"imageName": "ubuntu-24.04"}));
    object["apiVersion"] = json!("vmoperator.vmware.com/v1alpha2");
    let a = post(&s, review("CREATE", "VirtualMachine", object.clone(), false)).await;
    assert!(a.allowed, "{}", a.message);
    let vm = patched(&object, a.patch.as_ref().expect("a patch"));
    assert_eq!(vm["spec"]["imageName"], UBUNTU);
    assert!(vm["spec"].get("image").is_none(), "{vm}");
}

fn policy_catalog() -> Vec<ImageEntry> {
    let mut images = catalog();
    images.push(ImageEntry::test(RHEL, "rhel-9.4").not_ready());
    images.push(ImageEntry::test("vmi-6d121317c1fc7dfa5", "windows.iso").of_type("ISO"));
    images
}

fn policy(name: &str, mode: &str, selector: Option<Value>, rules: Value) -> Policy {
    let mut spec = json!({"mode": mode, "rules": rules});
    if let Some(selector) = selector {
        spec["namespaceSelector"] = selector;
    }
    Policy::from_json(&json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

/// A state with `policies` loaded and namespace ns1 labelled `env=prod`.
fn with_policies(policies: Vec<Policy>) -> AppState {
    let s = state(policy_catalog(), Ok(policy_catalog()));
    s.policies.write().reset(policies);
    let labels = [("env".to_string(), "prod".to_string())].into_iter().collect();
    s.namespaces.write().insert("ns1".into(), Arc::new(labels));
    s
}

fn update(old: Value, new: Value) -> Value {
    let mut r = review("UPDATE", "VirtualMachine", new, false);
    r["request"]["oldObject"] = old;
    r
}

#[tokio::test]
async fn an_enforce_violation_denies_naming_the_policy_and_the_rule() {
    let s = with_policies(vec![
        policy("ready-only", "Enforce", None, json!({"requireReady": true})),
        policy("by-id", "Enforce", None, json!({"requireId": true})),
    ]);
    let a = post(&s, create(json!({"imageName": "rhel-9.4"}))).await;
    assert!(!a.allowed);
    assert_eq!(a.code, 403);
    assert!(a.message.starts_with("denied by image policy: "), "{}", a.message);
    assert!(
        a.message
            .contains("policy ready-only (Enforce) rule requireReady: image vmi-b880fa100db6861c9 (rhel-9.4) is not Ready"),
        "{}",
        a.message
    );
    assert!(
        a.message.contains("policy by-id (Enforce) rule requireId"),
        "{}",
        a.message
    );
    assert!(a.patch.is_none());
    assert!(s.metrics.render().contains(
        r#"vmimage_policy_violations_total{policy="ready-only",mode="Enforce",rule="requireReady"} 1"#
    ));

    let a = post(&s, create(json!({"imageName": UBUNTU}))).await;
    assert!(a.allowed, "a Ready image named by ID passes: {}", a.message);
}

#[tokio::test]
async fn a_warn_violation_allows_with_one_warning_per_violation() {
    let s = with_policies(vec![policy(
        "boot-from-disk",
        "Warn",
        None,
        json!({"requireReady": true, "allowedBootTypes": ["OVF", "VM"]}),
    )]);
    let a = post(&s, create(json!({"imageName": "windows.iso"}))).await;
    assert!(a.allowed, "{}", a.message);
    assert!(a.patch.is_some(), "the name is still resolved");
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].starts_with(
            "policy boot-from-disk (Warn) rule allowedBootTypes: boot image vmi-6d121317c1fc7dfa5"
        ),
        "{:?}",
        a.warnings
    );

    let a = post(&s, create(json!({"imageName": "ubuntu-24.04"}))).await;
    assert!(a.allowed && a.warnings.is_empty(), "{:?}", a.warnings);
}

#[tokio::test]
async fn an_audit_violation_allows_with_an_audit_annotation_and_a_metric() {
    let s = with_policies(vec![policy(
        "legacy-images",
        "Audit",
        None,
        json!({"deniedNames": ["debian-*", "rhel-*"]}),
    )]);
    let a = post(&s, create(json!({"imageName": "rhel-9.4"}))).await;
    assert!(a.allowed, "{}", a.message);
    assert!(a.warnings.is_empty());
    let text = a.audit.get("policy-legacy-images").expect("an audit annotation");
    assert!(
        text.starts_with(
            "policy legacy-images (Audit) rule deniedNames: image vmi-b880fa100db6861c9 (rhel-9.4)"
        ),
        "{text}"
    );
    assert!(s.metrics.render().contains(
        r#"vmimage_policy_violations_total{policy="legacy-images",mode="Audit",rule="deniedNames"} 1"#
    ));

    let mut dry = create(json!({"imageName": "rhel-9.4"}));
    dry["request"]["dryRun"] = json!(true);
    let a = post(&s, dry).await;
    assert!(a.audit.contains_key("policy-legacy-images"));
    assert!(
        s.metrics.render().contains(
            r#"vmimage_policy_violations_total{policy="legacy-images",mode="Audit",rule="deniedNames"} 1"#
        ),
        "a dry run is not counted"
    );
}

#[tokio::test]
async fn a_namespace_selector_scopes_the_policy() {
    let s = with_policies(vec![policy(
        "prod",
        "Enforce",
        Some(json!({"matchLabels": {"env": "prod"}})),
        json!({"requireReady": true}),
    )]);
    let a = post(&s, create(json!({"imageName": "rhel-9.4"}))).await;
    assert!(!a.allowed, "ns1 is env=prod");
    assert!(
        a.message.contains("policy prod (Enforce) rule requireReady"),
        "{}",
        a.message
    );

    let mut other = create(json!({"imageName": "rhel-9.4"}));
    other["request"]["namespace"] = json!("dev");
    other["request"]["object"]["metadata"]["namespace"] = json!("dev");
    let a = post(&s, other).await;
    assert!(
        a.allowed,
        "dev is not selected (its labels are read live: none): {}",
        a.message
    );
}

#[tokio::test]
async fn an_update_that_changes_the_image_is_evaluated_without_a_patch() {
    let s = with_policies(vec![
        policy("ready-only", "Enforce", None, json!({"requireReady": true})),
        policy("no-iso", "Warn", None, json!({"allowedBootTypes": ["OVF"]})),
    ]);
    let before =
        vm(json!({"imageName": UBUNTU, "image": {"kind": "ClusterVirtualMachineImage", "name": UBUNTU}}));
    let a = post(&s, update(before.clone(), vm(json!({"imageName": "rhel-9.4"})))).await;
    assert!(!a.allowed);
    assert!(a.message.contains("rule requireReady"), "{}", a.message);

    let cdrom = json!({"imageName": UBUNTU, "hardware": {"cdrom": [{"name": "c", "image": {"name": "windows.iso"}}]}});
    let a = post(&s, update(before.clone(), vm(cdrom))).await;
    assert!(a.allowed, "an ISO CD-ROM is no boot disk: {}", a.message);

    let a = post(&s, update(before, vm(json!({"imageName": "windows.iso"})))).await;
    assert!(a.allowed, "{}", a.message);
    assert!(a.patch.is_none(), "UPDATEs are never patched");
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
}

#[tokio::test]
async fn an_update_that_leaves_the_images_alone_is_untouched() {
    let s = with_policies(vec![policy(
        "ready-only",
        "Enforce",
        None,
        json!({"requireReady": true}),
    )]);
    let mut before = vm(json!({"imageName": "rhel-9.4"}));
    let mut after = before.clone();
    after["metadata"]["labels"] = json!({"touched": "yes"});
    let a = post(&s, update(before.clone(), after)).await;
    assert!(
        a.allowed && a.patch.is_none() && a.warnings.is_empty(),
        "{}",
        a.message
    );
    before["spec"]["className"] = json!("small");
    let a = post(&s, update(vm(json!({"imageName": "rhel-9.4"})), before)).await;
    assert!(a.allowed, "{}", a.message);
    assert!(!s.metrics.render().contains("vmimage_policy_violations_total{"));
}

#[tokio::test]
async fn an_update_in_a_namespace_no_policy_selects_is_not_resolved() {
    let s = with_policies(vec![policy(
        "staging",
        "Enforce",
        Some(json!({"matchLabels": {"env": "staging"}})),
        json!({"requireReady": true}),
    )]);
    let a = post(
        &s,
        update(
            vm(json!({"imageName": UBUNTU})),
            vm(json!({"imageName": "no-such-image"})),
        ),
    )
    .await;
    assert!(a.allowed, "{}", a.message);
}

#[tokio::test]
async fn unloaded_policies_are_read_live_and_a_failed_read_denies() {
    let s = with_policies(vec![]);
    s.readiness.set_policies(false);
    let a = post(&s, create(json!({"imageName": "rhel-9.4"}))).await;
    assert!(a.allowed, "the live list (empty) is used: {}", a.message);
    assert!(s.metrics.render().contains("vmimage_live_reads_total 1"));

    let s = state(catalog(), Err("connection refused"));
    s.readiness.set_policies(false);
    let a = post(&s, create(json!({"imageName": "ubuntu-24.04"}))).await;
    assert!(!a.allowed);
    assert!(
        a.message.contains("image policies are not loaded"),
        "{}",
        a.message
    );
    assert!(a.message.contains("connection refused"), "{}", a.message);
}

#[test]
fn audit_keys_stay_qualified_names() {
    assert_eq!(super::verdict::audit_key("legacy"), "policy-legacy");
    let long = format!("{}.{}", "a".repeat(55), "b".repeat(20));
    let key = super::verdict::audit_key(&long);
    assert_eq!(key.len(), 62, "{key}: the trailing dot is trimmed");
    assert!(key.ends_with('a'));
}
