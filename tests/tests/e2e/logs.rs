//! What the webhook writes to its log: never a secret, never a whole object, never a line
//! a request could forge. Requests carrying a canary (in annotations, in a wrongly typed
//! field, as an unreadable review) and hostile names go through the real apiserver and
//! straight to the suite's webhook; then its whole log is read.

use anyhow::{Context, Result, ensure};
use serde_json::json;
use std::time::Duration;
use vmimage_testenv::{
    loadgen,
    suite::{Ctx, TestFn},
    webhook,
};

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![crate::logs::webhook_log_holds_no_secrets_objects_or_forged_lines]
}

/// Longest log line accepted: a few capped fields, never a body.
const MAX_LINE: usize = 4096;

async fn post(ctx: &Ctx, url: &str, body: serde_json::Value) -> Result<()> {
    let ca = std::fs::read_to_string(ctx.state_dir.join("ca.crt"))?;
    loadgen::post(
        url,
        &ca,
        serde_json::to_vec(&body)?.into(),
        Duration::from_secs(5),
    )
    .await?;
    Ok(())
}

pub async fn webhook_log_holds_no_secrets_objects_or_forged_lines(ctx: Ctx) -> Result<()> {
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let ns = ctx.namespace.clone();
    let vm = |name: &str, spec: serde_json::Value| {
        let mut vm = vmimage_testenv::suite::vm_manifest(&ns, name, spec);
        vm["metadata"]["annotations"] = json!({"example.com/api-token": canary});
        vm
    };

    // Through the apiserver: mutated, denied (no such image), and a wrongly typed field
    // whose value is the canary (the denial quotes it to the user; the log must not).
    for (name, spec, admitted) in [
        ("logged-ok", json!({"imageName": "ubuntu-24.04"}), true),
        ("logged-missing", json!({"imageName": "no-such-image"}), false),
        ("logged-typed", json!({"hardware": {"cdrom": canary}}), false),
    ] {
        let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&vm(name, spec).to_string()))?;
        ensure!(
            out.status.success() == admitted,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Straight to the webhook: an unreadable review quoting the canary, a name that tries
    // to forge a log line, and a 10,000-character image reference.
    let url = webhook::registered_url(&ctx.client().await?).await?;
    post(&ctx, &url, loadgen::review_of(&ns, json!(canary))).await?;
    let mut forged = loadgen::review_of(&ns, vm("x", json!({"imageName": "x".repeat(10_000)})));
    forged["request"]["object"]["metadata"]["name"] = json!("evil\nFORGED level=ERROR msg=\"owned\"");
    post(&ctx, &url, forged).await?;
    // The log writer takes queued lines every 10 ms (webhook/src/log_sink.rs): let it
    // write the last ones before they are read.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let path = ctx.state_dir.join("webhook.log");
    let log = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        log.contains("VirtualMachine denied"),
        "the denials were not logged at all: {}",
        path.display()
    );
    ensure!(
        !log.contains(&canary),
        "the canary reached the log: {}",
        path.display()
    );
    for (n, line) in log.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        ensure!(!line.starts_with("FORGED"), "a request forged a log line at {at}");
        ensure!(line.len() <= MAX_LINE, "a {}-byte log line at {at}", line.len());
        for needle in [
            "PRIVATE KEY",
            "BEGIN CERTIFICATE",
            "client-key-data",
            "Bearer ",
            "\"apiVersion\"",
            "managedFields",
            "\"spec\":{",
        ] {
            ensure!(!line.contains(needle), "{needle:?} in the log at {at}: {line}");
        }
    }
    Ok(())
}
