use super::*;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use vmimage_shared::ImageEntry;

fn nested(levels: usize) -> Value {
    let mut value = json!("bottom");
    for _ in 0..levels {
        // Not `json!`, which copies its argument (quadratic here).
        value = Value::Object(serde_json::Map::from_iter([("x".to_string(), value)]));
    }
    value
}

fn vm(spec_x_levels: usize, image: &str) -> Value {
    json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": "deep", "namespace": "ns"},
        "spec": {"imageName": image, "className": "small", "x": nested(spec_x_levels)},
    })
}

/// The review's JSON text. Built on a big stack: `json!` copies a `Value` recursively and
/// dropping one recurses too.
fn review(operation: &'static str, object: fn() -> Value, old: Option<fn() -> Value>) -> Vec<u8> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || review_text(operation, object(), old.map(|old| old())))
        .unwrap()
        .join()
        .unwrap()
}

fn review_text(operation: &str, object: Value, old: Option<Value>) -> Vec<u8> {
    let mut request = json!({
        "uid": "u-1",
        "kind": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "kind": "VirtualMachine"},
        "resource": {"group": "vmoperator.vmware.com", "version": "v1alpha6", "resource": "virtualmachines"},
        "namespace": "ns", "operation": operation, "userInfo": {"username": "u"},
        "object": object,
    });
    if let Some(old) = old {
        request["oldObject"] = old;
    }
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
    serde_json::to_vec(&review).unwrap()
}

#[test]
fn measuring_counts_what_serde_json_counts() {
    let arrays = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let ok = arrays(READ_LIMIT);
    assert_eq!(measure(ok.as_bytes()), READ_LIMIT);
    assert!(serde_json::from_str::<Value>(&ok).is_ok());
    let deep = arrays(READ_LIMIT + 1);
    assert_eq!(measure(deep.as_bytes()), READ_LIMIT + 1);
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}

#[test]
fn brackets_in_strings_do_not_count() {
    let text = br#"{"a\"{[": "[[[[", "b": [1, {"c": [[{"d": "}}]]"}]]}]}"#;
    assert_eq!(measure(text), 6);
}

async fn post(body: Vec<u8>) -> (StatusCode, Value) {
    let (state, _) = AppState::test(
        vec![ImageEntry::test("vmi-0123456789abcdef0", "ubuntu")],
        Ok(vec![]),
    );
    let budget = crate::body_budget::Budget::new(
        64 << 20,
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(10),
        8 << 20,
        state.metrics.clone(),
    );
    let router = crate::intake::router(state, 8 << 20, budget);
    let req = Request::post("/mutate")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, json)
}

#[tokio::test]
async fn a_200_deep_create_is_resolved_like_any_other() {
    let (status, answer) = post(review("CREATE", || vm(200, "ubuntu"), None)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let response = &answer["response"];
    assert_eq!(response["uid"], "u-1");
    assert_eq!(response["allowed"], true, "{answer}");
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().expect("a patch"))
        .unwrap();
    let patch = String::from_utf8(patch).unwrap();
    assert!(patch.contains("vmi-0123456789abcdef0"), "{patch}");
}

#[tokio::test]
async fn a_deep_update_is_answered_like_a_shallow_one() {
    let (status, answer) = post(review("UPDATE", || vm(300, "ubuntu"), Some(|| vm(300, "ubuntu")))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    // Changed image fields with no policy selecting the namespace: allowed, as shallow.
    let (_, answer) = post(review("UPDATE", || vm(300, "debian"), Some(|| vm(300, "ubuntu")))).await;
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
}

#[tokio::test]
async fn nesting_as_deep_as_the_apiserver_allows_never_overflows_the_stack() {
    let (status, answer) = post(review(
        "UPDATE",
        || vm(9_000, "ubuntu"),
        Some(|| vm(9_000, "ubuntu")),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response"]["allowed"], true);
    let (status, answer) = post(review("CREATE", || vm(9_000, "ubuntu"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer["response"]["patch"].is_string(), "{answer}");
    let (status, _) = post(review("CREATE", || vm(APISERVER_LIMIT, "ubuntu"), None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn shallow_reviews_reach_the_handler_and_big_ones_get_413() {
    let (status, answer) = post(review("CREATE", || vm(100, "ubuntu"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert!(
        answer["response"]["patch"].is_string(),
        "the handler resolved it: {answer}"
    );
    let big = review("CREATE", || json!({"pad": "p".repeat(9 << 20)}), None);
    assert_eq!(post(big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}
