//! Bad input to the webhook over real TLS, as the apiserver would send it, and through
//! the real apiserver: every body gets a clear 4xx or a denial with a reason, within
//! seconds; never a 5xx, a hang or a crash.

use anyhow::{Result, ensure};
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::Duration;
use vmimage_testenv::{
    loadgen,
    suite::{Ctx, TestFn},
    webhook,
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::bad_input::bad_reviews_get_a_4xx_or_a_denial_never_a_5xx,
        crate::bad_input::hostile_image_references_through_the_apiserver_are_denied_clearly,
    ]
}

/// What an answer must be.
enum Want {
    /// HTTP 400 whose body contains the text.
    BadRequest(&'static str),
    /// HTTP 413.
    TooLarge,
    /// A 200 review denying, with the text in its message.
    Denied(&'static str),
    /// A 200 review allowing, without a patch.
    AllowedUntouched,
    /// A 200 review allowing, with a patch.
    Mutated,
}

fn vm(ns: &str, name: &str, spec: Value) -> Value {
    vmimage_testenv::suite::vm_manifest(ns, name, spec)
}

fn bytes(v: &Value) -> Bytes {
    serde_json::to_vec(v).expect("JSON").into()
}

pub async fn bad_reviews_get_a_4xx_or_a_denial_never_a_5xx(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let url = webhook::registered_url(&ctx.client().await?).await?;
    let ca = std::fs::read_to_string(ctx.state_dir.join("ca.crt"))?;
    let long = "a".repeat(10_000);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut without_spec = vm(ns, "no-spec", json!({}));
    without_spec.as_object_mut().expect("object").remove("spec");
    let mut wrong_kind = loadgen::review_of(ns, vm(ns, "k", json!({"imageName": "ubuntu-24.04"})));
    wrong_kind["kind"] = json!("ConfigMap");
    let mut v1beta1 = loadgen::review_of(ns, vm(ns, "v", json!({"imageName": "ubuntu-24.04"})));
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    // A field of the spec holding nested arrays.
    let deep_review = bytes(&loadgen::review_of(
        ns,
        vm(ns, "deep", json!({"imageName": "ubuntu-24.04", "x": "DEEP"})),
    ));
    let deep_review = String::from_utf8(deep_review.to_vec())?;
    // Deeper than the apiserver itself decodes: unreadable. 1,000 levels the apiserver
    // can send: resolved like any other VM.
    let (too_deep, deep_vm) = (
        deep_review.replace("\"DEEP\"", &deep),
        deep_review.replace("\"DEEP\"", &format!("{}{}", "[".repeat(1000), "]".repeat(1000))),
    );
    let cases: Vec<(&str, Bytes, Want)> = vec![
        (
            "malformed JSON",
            Bytes::from_static(b"{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\":"),
            Want::BadRequest("malformed AdmissionReview"),
        ),
        (
            "not UTF-8",
            Bytes::from_static(&[0xff, 0xfe, 0x7b, 0x80, 0x81]),
            Want::BadRequest("malformed AdmissionReview"),
        ),
        (
            "empty body",
            Bytes::new(),
            Want::BadRequest("malformed AdmissionReview"),
        ),
        (
            "another kind",
            bytes(&wrong_kind),
            Want::BadRequest("expected an admission.k8s.io/v1 AdmissionReview"),
        ),
        (
            "another version",
            bytes(&v1beta1),
            Want::BadRequest("expected an admission.k8s.io/v1 AdmissionReview"),
        ),
        (
            "no request",
            bytes(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})),
            Want::BadRequest("no request"),
        ),
        (
            "nesting deeper than the apiserver decodes",
            too_deep.into(),
            Want::BadRequest("deeper than the 10000 the apiserver decodes"),
        ),
        ("deep nesting", deep_vm.into(), Want::Mutated),
        (
            "huge body",
            Bytes::from(vec![b' '; 8 * 1024 * 1024]),
            Want::TooLarge,
        ),
        (
            "no spec",
            bytes(&loadgen::review_of(ns, without_spec)),
            Want::AllowedUntouched,
        ),
        (
            "spec a string",
            bytes(&loadgen::review_of(ns, vm(ns, "s", json!("ubuntu-24.04")))),
            Want::Denied("cannot read the VirtualMachine's image fields"),
        ),
        (
            "imageName a number",
            bytes(&loadgen::review_of(ns, vm(ns, "n", json!({"imageName": 42})))),
            Want::Denied("cannot read the VirtualMachine's image fields"),
        ),
        (
            "image a list",
            bytes(&loadgen::review_of(
                ns,
                vm(ns, "l", json!({"image": ["ubuntu-24.04"]})),
            )),
            Want::Denied("cannot read the VirtualMachine's image fields"),
        ),
        (
            "10,000-character image",
            bytes(&loadgen::review_of(
                ns,
                vm(ns, "long", json!({"imageName": long})),
            )),
            Want::Denied("no VM image exists"),
        ),
        (
            "control characters",
            bytes(&loadgen::review_of(
                ns,
                vm(ns, "ctl", json!({"imageName": "ubuntu\u{0}-24.04\n\u{1b}[2J"})),
            )),
            Want::Denied("no VM image exists"),
        ),
        (
            "10,000-character VM name",
            bytes(&loadgen::review_of(
                ns,
                vm(ns, &long, json!({"imageName": "ubuntu-24.04"})),
            )),
            Want::Mutated,
        ),
    ];
    let mut failures = Vec::new();
    for (what, body, want) in cases {
        let (status, answer) = match loadgen::post(&url, &ca, body, Duration::from_secs(5)).await {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{what}: {e:#}"));
                continue;
            }
        };
        let text = String::from_utf8_lossy(&answer);
        let review: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        let response = &review["response"];
        let message = response["status"]["message"].as_str().unwrap_or_default();
        let ok = match want {
            Want::BadRequest(needle) => status == 400 && text.contains(needle),
            Want::TooLarge => status == 413,
            Want::Denied(needle) => status == 200 && response["allowed"] == false && message.contains(needle),
            Want::AllowedUntouched => {
                status == 200 && response["allowed"] == true && response["patch"].is_null()
            }
            Want::Mutated => status == 200 && response["allowed"] == true && response["patch"].is_string(),
        };
        if !ok {
            let shown: String = text.chars().take(300).collect();
            let parsed = serde_json::from_slice::<Value>(&answer)
                .err()
                .map(|e| e.to_string());
            failures.push(format!(
                "{what}: got {status} ({} bytes, {parsed:?}): {shown}",
                answer.len()
            ));
        }
    }
    ensure!(failures.is_empty(), "wrong answers:\n{}", failures.join("\n"));

    // Still alive and answering: ready, and a good review is mutated.
    let admin = webhook::admin_port(&ctx.state_dir)?;
    ensure!(
        webhook::http_status(admin, "/readyz").await == Some(200),
        "the webhook is not ready after the bad input"
    );
    let (status, answer) = loadgen::post(
        &url,
        &ca,
        loadgen::create_review(ns, "ubuntu-24.04"),
        Duration::from_secs(5),
    )
    .await?;
    ensure!(
        status == 200 && String::from_utf8_lossy(&answer).contains("\"patch\""),
        "a good review after the bad ones: {status}"
    );
    Ok(())
}

pub async fn hostile_image_references_through_the_apiserver_are_denied_clearly(ctx: Ctx) -> Result<()> {
    for (what, image) in [
        ("10,000 characters", "u".repeat(10_000)),
        ("control characters", "ubuntu\u{7}-24.04\t\u{1b}[0m".to_string()),
    ] {
        let manifest = vm(&ctx.namespace, "hostile", json!({"imageName": image}));
        let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&manifest.to_string()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(!out.status.success(), "{what}: admitted");
        ensure!(
            stderr.contains("admission webhook \"mutate.virtualmachine.vmimage.io\" denied the request")
                && stderr.contains("no VM image exists"),
            "{what}: not a clear denial from vmimage: {}",
            stderr.chars().take(400).collect::<String>()
        );
    }
    Ok(())
}
