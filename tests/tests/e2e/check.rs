//! `kubectl vmimage check` gives the webhook's verdicts: offline (catalog + policy files)
//! and live, compared with what the real apiserver + webhook answer.

use anyhow::{Result, bail, ensure};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vmimage_testenv::suite::Ctx;

fn vm(ns: &str, name: &str, image: &str) -> Value {
    vmimage_testenv::suite::vm_manifest(ns, name, json!({"imageName": image, "className": "small"}))
}

/// What the webhook says about one VM, through a server-side dry run.
fn live_verdict(ctx: &Ctx, vm: &Value) -> Result<&'static str> {
    let out = ctx.kubectl_stdin(&["create", "--dry-run=server", "-f", "-"], Some(&vm.to_string()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    Ok(match (out.status.success(), stderr.contains("Warning:")) {
        (false, _) => "Denied",
        (true, true) => "Warned",
        (true, false) => "Allowed",
    })
}

/// Offline `check`, live `check` and the webhook agree, VM by VM.
pub async fn check_agrees_with_the_webhook_offline_and_live(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let policy_name = format!("check-{ns}");
    ctx.kubectl_ok(&["label", "ns", ns, &format!("vmimage.io/e2e-check={ns}")])?;
    let policy = json!({
        "apiVersion": "vmimage.io/v1alpha1", "kind": "VMImagePolicy", "metadata": {"name": policy_name},
        "spec": {"mode": "Enforce", "namespaceSelector": {"matchLabels": {"vmimage.io/e2e-check": ns}},
                 "rules": {"requireReady": true}}
    });
    let warn = json!({
        "apiVersion": "vmimage.io/v1alpha1", "kind": "VMImagePolicy", "metadata": {"name": format!("{policy_name}-warn")},
        "spec": {"mode": "Warn", "namespaceSelector": {"matchLabels": {"vmimage.io/e2e-check": ns}},
                 "rules": {"allowedBootTypes": ["OVF"]}}
    });
    let vms = [
        vm(ns, "ok", "ubuntu-24.04"),
        vm(ns, "not-ready", "rhel-9.4"),
        vm(ns, "iso", "windows-server-2022.iso"),
    ];
    let dir = std::env::temp_dir().join(format!("check-{ns}"));
    std::fs::create_dir_all(&dir)?;
    let manifest = dir.join("vms.yaml");
    let namespace_doc = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": {"vmimage.io/e2e-check": ns}}});
    let docs: Vec<String> = std::iter::once(&namespace_doc)
        .chain(vms.iter())
        .map(|v| v.to_string())
        .collect();
    std::fs::write(&manifest, docs.join("\n---\n"))?;
    let policy_file = dir.join("policies.yaml");
    std::fs::write(&policy_file, format!("{policy}\n---\n{warn}\n"))?;
    let catalog = dir.join("catalog.yaml");
    std::fs::write(
        &catalog,
        ctx.kubectl_ok(&["get", "vmi,cvmi", "-A", "-o", "yaml"])?,
    )?;

    let verdicts = |out: std::process::Output| -> Result<Vec<String>> {
        let rows: Value = serde_json::from_slice(&out.stdout)?;
        Ok(rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["verdict"].as_str().unwrap_or("").to_string())
            .collect())
    };
    let offline = ctx.kubectl(&[
        "vmimage",
        "check",
        "-f",
        manifest.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--policy",
        policy_file.to_str().unwrap(),
        "-o",
        "json",
    ])?;
    ensure!(offline.status.code() == Some(1), "a denied VM fails the check");
    let offline = verdicts(offline)?;
    ensure!(offline == ["Allowed", "Denied", "Warned"], "{offline:?}");

    let result = async {
        ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&format!("{policy}\n---\n{warn}")))?;
        // The webhook picks policies up through its watch; wait (bounded) until it does.
        let deadline = Instant::now() + Duration::from_secs(10);
        while live_verdict(&ctx, &vms[1])? != "Denied" {
            if Instant::now() > deadline {
                bail!("the webhook did not enforce the new policy within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let live: Vec<String> = vms
            .iter()
            .map(|v| live_verdict(&ctx, v).map(str::to_string))
            .collect::<Result<_>>()?;
        ensure!(live == offline, "webhook {live:?} vs check {offline:?}");
        let online =
            verdicts(ctx.kubectl(&["vmimage", "check", "-f", manifest.to_str().unwrap(), "-o", "json"])?)?;
        ensure!(online == offline, "live check {online:?} vs offline {offline:?}");
        Ok(())
    }
    .await;
    ctx.kubectl(&[
        "delete",
        "vmipol",
        &policy_name,
        &format!("{policy_name}-warn"),
        "--ignore-not-found",
    ])?;
    std::fs::remove_dir_all(&dir)?;
    result
}

/// The tests of this module.
pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![crate::check::check_agrees_with_the_webhook_offline_and_live]
}
