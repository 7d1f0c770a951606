//! Cluster image policy through the real apiserver, the real kubectl and the real webhook.
//!
//! Policies are cluster-scoped and the tests run in parallel, so every policy here
//! selects only its own test's namespace (labelled `vmimage.io/e2e-policy=<ns>`), is
//! named after that namespace, and is deleted when the test ends, failed or not.

use anyhow::{Context, Result, bail, ensure};
use kube::{
    Api,
    api::{DynamicObject, PostParams},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vmimage_testenv::suite::{Ctx, TestFn};

const RHEL: &str = "vmi-b880fa100db6861c9";
const SELECTOR_LABEL: &str = "vmimage.io/e2e-policy";
/// How soon a policy change must show in admission.
const TAKES_EFFECT: Duration = Duration::from_secs(1);

/// Every test in this file, for the e2e runner.
pub fn all() -> Vec<(&'static str, TestFn)> {
    vmimage_testenv::tests![
        crate::policy::enforce_denies_naming_policy_and_rule,
        crate::policy::warn_prints_warnings_and_creates_the_vm,
        crate::policy::audit_allows_and_counts_the_violation,
        crate::policy::namespace_selector_scopes_the_policy,
        crate::policy::invalid_policy_is_rejected_on_apply,
        crate::policy::policy_changes_take_effect_within_a_second,
        crate::policy::policy_status_reports_ready_and_observed_generation,
        crate::policy::update_that_changes_the_image_is_checked,
    ]
}

/// Deletes the test's policies and extra namespaces when dropped, so a failing test
/// cannot leave a cluster-wide policy behind.
pub(crate) struct Cleanup {
    ctx: Ctx,
    policies: Vec<String>,
    namespaces: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (kind, names) in [("vmimagepolicy", &self.policies), ("namespace", &self.namespaces)] {
            if names.is_empty() {
                continue;
            }
            let mut args = vec!["delete", kind, "--ignore-not-found", "--wait=false"];
            args.extend(names.iter().map(String::as_str));
            match self.ctx.kubectl(&args) {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "cleanup: kubectl {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("cleanup: {e:#}"),
            }
        }
    }
}

/// Labels the test's namespace so its policies can select it; returns the cleanup guard.
pub(crate) fn prepare(ctx: &Ctx) -> Result<Cleanup> {
    select(ctx, &ctx.namespace)?;
    Ok(Cleanup {
        ctx: ctx.clone(),
        policies: Vec::new(),
        namespaces: Vec::new(),
    })
}

/// Labels `ns` with this test's selector label.
fn select(ctx: &Ctx, ns: &str) -> Result<()> {
    ctx.kubectl_ok(&[
        "label",
        "namespace",
        ns,
        &format!("{SELECTOR_LABEL}={}", ctx.namespace),
        "--overwrite",
    ])?;
    Ok(())
}

/// A policy named `<ns>-<suffix>` selecting only the test's namespace.
pub(crate) fn policy(ctx: &Ctx, suffix: &str, mode: &str, rules: Value) -> (String, String) {
    let name = format!("{}-{suffix}", ctx.namespace);
    let manifest = json!({
        "apiVersion": "vmimage.io/v1alpha1",
        "kind": "VMImagePolicy",
        "metadata": {"name": name},
        "spec": {
            "mode": mode,
            "namespaceSelector": {"matchLabels": {SELECTOR_LABEL: ctx.namespace}},
            "rules": rules,
        },
    });
    (name, manifest.to_string())
}

/// `kubectl apply -f -` of a policy; records it for cleanup.
pub(crate) fn apply_policy(
    ctx: &Ctx,
    cleanup: &mut Cleanup,
    (name, manifest): (String, String),
) -> Result<String> {
    cleanup.policies.push(name.clone());
    let out = ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&manifest))?;
    ensure!(
        out.status.success(),
        "applying policy {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(name)
}

/// Waits (bounded) until the webhook has loaded the policy: its status says Ready=True
/// for the current generation. The webhook writes that status after loading it.
pub(crate) async fn wait_loaded(ctx: &Ctx, name: &str) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ctx.kubectl_ok(&["get", "vmimagepolicy", name, "-o", "json"])?;
        let policy: Value = serde_json::from_str(&out)?;
        let generation = &policy["metadata"]["generation"];
        let ready = policy["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .cloned()
            .unwrap_or_default();
        if ready["status"] == "True"
            && &ready["observedGeneration"] == generation
            && &policy["status"]["observedGeneration"] == generation
        {
            return Ok(policy);
        }
        if Instant::now() > deadline {
            bail!(
                "policy {name} not reported loaded after 10 s: status = {}",
                policy["status"]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn vm(ns: &str, name: &str, spec: Value) -> String {
    vmimage_testenv::suite::vm_manifest(ns, name, spec).to_string()
}

/// `kubectl create -f -`; returns (success, stdout, stderr).
fn create(ctx: &Ctx, manifest: &str) -> Result<(bool, String, String)> {
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(manifest))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn exists(ctx: &Ctx, ns: &str, name: &str) -> Result<bool> {
    Ok(ctx.kubectl(&["get", "vm", name, "-n", ns])?.status.success())
}

/// An Enforce violation is a 403 naming the policy and the rule; a compliant VM passes.
pub async fn enforce_denies_naming_policy_and_rule(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(&ctx, "ready", "Enforce", json!({"requireReady": true})),
    )?;
    wait_loaded(&ctx, &name).await?;
    let (ok, stdout, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "rhel", json!({"imageName": "rhel-9.4"})),
    )?;
    ensure!(!ok, "expected a denial, got: {stdout}");
    ensure!(
        stderr.contains("admission webhook \"mutate.virtualmachine.vmimage.io\" denied the request"),
        "{stderr}"
    );
    ensure!(
        stderr.contains(&format!(
            "policy {name} (Enforce) rule requireReady: image {RHEL} (rhel-9.4) is not Ready"
        )),
        "{stderr}"
    );
    ensure!(
        !exists(&ctx, &ctx.namespace, "rhel")?,
        "a denied VM must not exist"
    );
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "ubuntu", json!({"imageName": "ubuntu-24.04"})),
    )?;
    ensure!(ok, "a Ready image passes: {stderr}");
    Ok(())
}

/// Warn: kubectl prints one `Warning:` line per violation and the VM is created.
pub async fn warn_prints_warnings_and_creates_the_vm(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(
            &ctx,
            "disk-boot",
            "Warn",
            json!({"allowedBootTypes": ["OVF", "VM"]}),
        ),
    )?;
    wait_loaded(&ctx, &name).await?;
    let (ok, _, stderr) = create(
        &ctx,
        &vm(
            &ctx.namespace,
            "installer",
            json!({"imageName": "windows-server-2022.iso"}),
        ),
    )?;
    ensure!(ok, "Warn must allow: {stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Warning: ")).collect();
    ensure!(warnings.len() == 1, "one warning expected: {stderr}");
    ensure!(
        warnings[0].starts_with(&format!(
            "Warning: policy {name} (Warn) rule allowedBootTypes: boot image "
        )),
        "{stderr}"
    );
    ensure!(exists(&ctx, &ctx.namespace, "installer")?);
    Ok(())
}

/// Audit: allowed without a warning; the violation is counted on the webhook's metric.
pub async fn audit_allows_and_counts_the_violation(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(&ctx, "legacy", "Audit", json!({"deniedNames": ["rhel-*"]})),
    )?;
    wait_loaded(&ctx, &name).await?;
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "rhel", json!({"imageName": "rhel-9.4"})),
    )?;
    ensure!(ok, "Audit must allow: {stderr}");
    ensure!(!stderr.contains("Warning:"), "Audit does not warn: {stderr}");
    let metrics = vmimage_testenv::webhook::metrics(&ctx.state_dir).await?;
    let line =
        format!(r#"vmimage_policy_violations_total{{policy="{name}",mode="Audit",rule="deniedNames"}} 1"#);
    ensure!(
        metrics.lines().any(|l| l == line),
        "{line} missing from the webhook's metrics:\n{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("vmimage_policy"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

/// A policy selecting one namespace leaves a VM in another namespace alone.
pub async fn namespace_selector_scopes_the_policy(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let other = format!("{}-b", ctx.namespace);
    cleanup.namespaces.push(other.clone());
    ctx.kubectl_ok(&["create", "namespace", &other])?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(&ctx, "ready", "Enforce", json!({"requireReady": true})),
    )?;
    wait_loaded(&ctx, &name).await?;
    let (ok, _, stderr) = create(&ctx, &vm(&other, "rhel", json!({"imageName": "rhel-9.4"})))?;
    ensure!(ok, "the other namespace is not selected: {stderr}");
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "rhel", json!({"imageName": "rhel-9.4"})),
    )?;
    ensure!(
        !ok && stderr.contains(&format!("policy {name} (Enforce)")),
        "{stderr}"
    );

    // Labelling the other namespace brings it under the policy.
    select(&ctx, &other)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (ok, _, stderr) = create(&ctx, &vm(&other, "rhel-2", json!({"imageName": "rhel-9.4"})))?;
        if !ok && stderr.contains(&format!("policy {name} (Enforce)")) {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the newly labelled namespace is still not selected after 5 s: {stderr}"
        );
        ctx.kubectl(&["delete", "vm", "rhel-2", "-n", &other, "--ignore-not-found"])?;
    }
}

/// The CRD's validation rejects a policy without rules, with a message saying what to do.
pub async fn invalid_policy_is_rejected_on_apply(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let (name, manifest) = policy(&ctx, "empty", "Enforce", json!({}));
    cleanup.policies.push(name.clone());
    let out = ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&manifest))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a policy without rules must be rejected");
    ensure!(stderr.contains("set at least one rule"), "{stderr}");
    ensure!(stderr.contains("spec.rules"), "the field is named: {stderr}");

    let (_, manifest) = policy(&ctx, "empty", "Block", json!({"requireReady": true}));
    let out = ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&manifest))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "an unknown mode must be rejected");
    ensure!(
        stderr.contains("spec.mode") && stderr.contains("Enforce"),
        "{stderr}"
    );
    let out = ctx.kubectl(&["get", "vmimagepolicy", &name])?;
    ensure!(!out.status.success(), "nothing was stored");
    Ok(())
}

/// Creating, changing and deleting a policy each show in admission within a second: they
/// arrive through the webhook's watch, no restart.
pub async fn policy_changes_take_effect_within_a_second(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let client = ctx.client().await?;
    let resource = vmimage_testenv::webhook::vm_resource(&client).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client, &ctx.namespace, &resource);
    let probe: DynamicObject =
        serde_json::from_str(&vm(&ctx.namespace, "probe", json!({"imageName": "rhel-9.4"})))?;
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    // A server-side dry run goes through the whole admission chain and stores nothing.
    let admitted = || async {
        match api.create(&dry_run, &probe).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 403 => Ok(false),
            Err(e) => Err(e).context("dry-run create of the probe VM"),
        }
    };
    ensure!(admitted().await?, "no policy yet: the probe must be admitted");

    let enforce = policy(&ctx, "live", "Enforce", json!({"requireReady": true}));
    let name = apply_policy(&ctx, &mut cleanup, enforce)?;
    let took = until(|| async { Ok(!admitted().await?) }).await?;
    ensure!(took <= TAKES_EFFECT, "the new policy took {took:?} to deny");

    let (_, warn) = policy(&ctx, "live", "Warn", json!({"requireReady": true}));
    ctx.kubectl_stdin(&["apply", "-f", "-"], Some(&warn))?;
    let took = until(&admitted).await?;
    ensure!(took <= TAKES_EFFECT, "switching to Warn took {took:?} to allow");

    ctx.kubectl_stdin(
        &["apply", "-f", "-"],
        Some(&policy(&ctx, "live", "Enforce", json!({"requireReady": true})).1),
    )?;
    until(|| async { Ok(!admitted().await?) }).await?;
    ctx.kubectl_ok(&["delete", "vmimagepolicy", &name])?;
    let took = until(&admitted).await?;
    ensure!(took <= TAKES_EFFECT, "deleting the policy took {took:?} to allow");
    Ok(())
}

/// Polls `check` every 20 ms until it is true; returns how long that took. Gives up
/// (an error) after five times [`TAKES_EFFECT`], so a slow answer reports its time.
async fn until<F, Fut>(mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = Instant::now();
    loop {
        if check().await? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > TAKES_EFFECT * 5 {
            bail!("still not in effect after {:?}", started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The webhook reports each policy it loads: Ready=True/Accepted for the current
/// generation, following spec changes.
pub async fn policy_status_reports_ready_and_observed_generation(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(&ctx, "status", "Audit", json!({"requireId": true})),
    )?;
    let loaded = wait_loaded(&ctx, &name).await?;
    ensure!(
        loaded["status"]["observedGeneration"] == 1,
        "{}",
        loaded["status"]
    );
    let ready = &loaded["status"]["conditions"][0];
    ensure!(
        ready["reason"] == "Accepted" && ready["lastTransitionTime"].is_string(),
        "{ready}"
    );
    let column = ctx.kubectl_ok(&["get", "vmimagepolicy", &name, "--no-headers"])?;
    ensure!(
        column.contains(" Audit ") && column.contains(" True "),
        "{column}"
    );

    ctx.kubectl_ok(&[
        "patch",
        "vmimagepolicy",
        &name,
        "--type=merge",
        "-p",
        r#"{"spec":{"mode":"Warn"}}"#,
    ])?;
    let loaded = wait_loaded(&ctx, &name).await?;
    ensure!(
        loaded["status"]["observedGeneration"] == 2,
        "{}",
        loaded["status"]
    );
    ensure!(
        loaded["status"]["conditions"][0]["lastTransitionTime"] == ready["lastTransitionTime"],
        "the status did not flip, so the transition time stays"
    );
    Ok(())
}

/// An UPDATE that switches the VM's image is held to the policies (never patched); one
/// that leaves the images alone passes.
pub async fn update_that_changes_the_image_is_checked(ctx: Ctx) -> Result<()> {
    let mut cleanup = prepare(&ctx)?;
    let (ok, _, stderr) = create(
        &ctx,
        &vm(&ctx.namespace, "web", json!({"imageName": "ubuntu-24.04"})),
    )?;
    ensure!(ok, "{stderr}");
    let name = apply_policy(
        &ctx,
        &mut cleanup,
        policy(&ctx, "ready", "Enforce", json!({"requireReady": true})),
    )?;
    wait_loaded(&ctx, &name).await?;
    let patch = |p: &str| {
        ctx.kubectl(&[
            "patch",
            "vm",
            "web",
            "-n",
            &ctx.namespace,
            "--type=merge",
            "-p",
            p,
        ])
    };
    let out = patch(&format!(
        r#"{{"spec":{{"imageName":"{RHEL}","image":{{"kind":"ClusterVirtualMachineImage","name":"{RHEL}"}}}}}}"#
    ))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success(),
        "switching to a not-Ready image must be denied"
    );
    ensure!(
        stderr.contains(&format!("policy {name} (Enforce) rule requireReady")),
        "{stderr}"
    );
    let out = patch(r#"{"metadata":{"labels":{"touched":"yes"}}}"#)?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}
