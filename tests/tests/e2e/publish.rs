//! `kubectl vmimage publish` end to end, against the simulated publisher.

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vmimage_shared::VmiId;
use vmimage_testenv::{
    catalog,
    publisher::{MANUAL_LABEL, create_library},
    suite::Ctx,
};

async fn vm(ctx: &Ctx, name: &str) -> Result<()> {
    let vm = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": ctx.namespace},
        "spec": {"imageName": "vmi-0a0044d7c690bcbea", "className": "small"}
    });
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&vm.to_string()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Publish with --wait, then resolve the new display name to the new image.
pub async fn publish_waits_for_the_new_image_and_resolve_finds_it(ctx: Ctx) -> Result<()> {
    create_library(&ctx.client().await?, &ctx.namespace, "team-lib", true, true).await?;
    vm(&ctx, "golden").await?;
    let out = ctx.kubectl(&[
        "vmimage",
        "publish",
        "golden",
        "-n",
        &ctx.namespace,
        "--item-name",
        "golden-2026.11",
        "--wait",
        "--timeout",
        "60s",
    ])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "publish failed:\n{stdout}\n{stderr}");
    ensure!(stderr.contains("Using content library \"team-lib\""), "{stderr}");
    ensure!(
        stderr.contains("Complete"),
        "plain progress lines expected off a TTY:\n{stderr}"
    );
    ensure!(stdout.contains("published: VirtualMachineImage vmi-"), "{stdout}");
    let id = ctx.kubectl_ok(&[
        "vmimage",
        "resolve",
        "golden-2026.11",
        "-n",
        &ctx.namespace,
        "-o",
        "id",
    ])?;
    ensure!(
        id.trim().starts_with("vmi-") && stdout.contains(id.trim()),
        "resolve gave {id}, publish said {stdout}"
    );
    // The defaults were written out explicitly.
    let req: serde_json::Value = serde_json::from_str(&ctx.kubectl_ok(&[
        "get",
        "vmpub",
        "golden-2026.11",
        "-n",
        &ctx.namespace,
        "-o",
        "json",
    ])?)?;
    ensure!(
        req["spec"]["source"]["kind"] == "VirtualMachine"
            && req["spec"]["source"]["apiVersion"] == "vmoperator.vmware.com/v1alpha6",
        "{req}"
    );
    ensure!(
        req["spec"]["target"]["location"]["kind"] == "ContentLibrary",
        "{req}"
    );
    // The simulated publisher wrote every status field VM Operator's controller writes.
    let st = &req["status"];
    for field in ["startTime", "lastAttemptTime", "completionTime"] {
        ensure!(st[field].is_string(), "status.{field} missing: {st}");
    }
    ensure!(
        st["attempts"] == 1 && st["ready"] == true && st["imageName"] == id.trim(),
        "{st}"
    );
    ensure!(
        st["sourceRef"]["name"] == "golden"
            && st["targetRef"]["item"]["name"] == "golden-2026.11"
            && st["targetRef"]["location"]["name"] == "team-lib",
        "{st}"
    );
    let types: Vec<&str> = st["conditions"]
        .as_array()
        .context("status.conditions")?
        .iter()
        .map(|c| c["type"].as_str().unwrap_or_default())
        .collect();
    ensure!(
        types
            == [
                "Complete",
                "ImageAvailable",
                "SourceValid",
                "TargetValid",
                "Uploaded"
            ],
        "{types:?}"
    );
    for c in st["conditions"].as_array().into_iter().flatten() {
        ensure!(
            c["status"] == "True"
                && c["reason"] == "True"
                && c["message"].is_string()
                && c["lastTransitionTime"].is_string(),
            "{c}"
        );
    }
    let list = ctx.kubectl_ok(&["vmimage", "publish", "list", "-n", &ctx.namespace])?;
    ensure!(
        list.contains("golden-2026.11") && list.contains("Complete"),
        "{list}"
    );
    // Publishing the same display name again is refused: it would become ambiguous.
    let again = ctx.kubectl(&[
        "vmimage",
        "publish",
        "golden",
        "-n",
        &ctx.namespace,
        "--item-name",
        "golden-2026.11",
        "--request-name",
        "again",
    ])?;
    ensure!(again.status.code() == Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    ensure!(
        err.contains("already visible") && err.contains("--allow-duplicate-name"),
        "{err}"
    );
    Ok(())
}

/// Failures are clear and create nothing: no such VM, no default library, a read-only library.
pub async fn publish_failures_are_clear_and_create_nothing(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let out = ctx.kubectl(&["vmimage", "publish", "ghost", "-n", ns])?;
    ensure!(out.status.code() == Some(1));
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("VirtualMachine \"ghost\" not found"),
        "{:?}",
        out
    );
    vm(&ctx, "web").await?;
    let out = ctx.kubectl(&["vmimage", "publish", "web", "-n", ns])?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && err.contains("cannot find a default content library"),
        "{err}"
    );
    create_library(&ctx.client().await?, ns, "readonly", false, false).await?;
    let out = ctx.kubectl(&["vmimage", "publish", "web", "-n", ns, "--library", "readonly"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(1) && err.contains("target location readonly is not writable"),
        "{err}"
    );
    let left = ctx.kubectl_ok(&["get", "vmpub", "-n", ns, "-o", "name"])?;
    ensure!(left.trim().is_empty(), "requests were created: {left}");
    // A client dry run prints the request with every default filled in.
    create_library(&ctx.client().await?, ns, "lib", true, true).await?;
    let yaml = ctx.kubectl_ok(&["vmimage", "publish", "web", "-n", ns, "--dry-run=client"])?;
    ensure!(
        yaml.contains("name: web-image") && yaml.contains("kind: ContentLibrary"),
        "{yaml}"
    );
    ensure!(
        ctx.kubectl_ok(&["get", "vmpub", "-n", ns, "-o", "name"])?
            .trim()
            .is_empty()
    );
    Ok(())
}

/// An upload that keeps failing ends at backoffLimit with VM Operator's Fatal message.
pub async fn publish_reports_a_failed_upload(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    create_library(&ctx.client().await?, ns, "lib", true, true).await?;
    vm(&ctx, "flaky").await?;
    let req = json!({
        "apiVersion": "vmoperator.vmware.com/v1alpha6", "kind": "VirtualMachinePublishRequest",
        "metadata": {"name": "flaky", "namespace": ns, "annotations": {"vmimage.io/simulate": "upload-failure"}},
        "spec": {"target": {"location": {"name": "lib"}}, "backoffLimit": 2}
    });
    let out = ctx.kubectl_stdin(&["create", "-f", "-"], Some(&req.to_string()))?;
    ensure!(out.status.success());
    let mut status = String::new();
    for _ in 0..60 {
        status = ctx.kubectl_ok(&["vmimage", "publish", "status", "flaky", "-n", ns])?;
        if status.contains("Fatal") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    ensure!(
        status.contains("publish attempts limit has been reached: 2"),
        "{status}"
    );
    Ok(())
}

/// Kills a child process on drop, so a failing test leaves no `--wait` behind.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    /// The process's output once it exits, which it must within 30 s of the state `after`.
    async fn exited_within_30s(&mut self, after: &str) -> Result<std::process::Output> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.0.as_mut().context("running")?.try_wait()?.is_none() {
            ensure!(
                Instant::now() < deadline,
                "publish --wait still running 30 s after {after}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(self.0.take().context("running")?.wait_with_output()?)
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn publish_requests() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(
            "vmoperator.vmware.com",
            "v1alpha6",
            "VirtualMachinePublishRequest",
        ),
        "virtualmachinepublishrequests",
    )
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str, at: &str) -> Value {
    json!({"type": type_, "status": if ok { "True" } else { "False" }, "reason": reason,
           "message": message, "lastTransitionTime": at})
}

/// A namespace whose publish requests the simulated publisher leaves alone, a writable
/// library and a VM `src`, and `publish src --item-name ITEM --wait` running against it.
async fn publish_by_hand(
    ctx: &Ctx,
    item: &str,
    timeout: &str,
) -> Result<(kube::Client, KillOnDrop, Api<DynamicObject>)> {
    let ns = ctx.namespace.as_str();
    let client = ctx.client().await?;
    Api::<Namespace>::all(client.clone())
        .patch(
            ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {MANUAL_LABEL: "true"}}})),
        )
        .await?;
    create_library(&client, ns, "lib", true, true).await?;
    vm(ctx, "src").await?;
    let wait = KillOnDrop(Some(ctx.kubectl_spawn(&[
        "vmimage",
        "publish",
        "src",
        "-n",
        ns,
        "--item-name",
        item,
        "--wait",
        "--timeout",
        timeout,
    ])?));
    let requests: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &publish_requests());
    Ok((client, wait, requests))
}

/// `publish --wait` against VM Operator's own status sequence, written by hand through the
/// status subresource as its controller persists it (conditions sorted by type, every
/// in-progress state False): it keeps waiting through all of them, `publish list` shows
/// the Uploaded step while uploading, and it ends with the new image.
pub async fn publish_wait_follows_vm_operators_own_status_sequence(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let item = "src-2026.12";
    let (client, mut wait, requests) = publish_by_hand(&ctx, item, "120s").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while requests.get_opt(item).await?.is_none() {
        if let Some(status) = wait.0.as_mut().context("running")?.try_wait()? {
            bail!("publish exited ({status}) before creating its request");
        }
        ensure!(Instant::now() < deadline, "no request {item} after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    let image = VmiId::for_item(&uuid)?.to_string();
    let t = "2026-12-01T10:00:00Z";
    let valid = [
        condition("SourceValid", true, "True", "", t),
        condition("TargetValid", true, "True", "", t),
    ];
    let not_uploaded = condition(
        "Complete",
        false,
        "HasNotBeenUploaded",
        "item hasn't been uploaded yet",
        t,
    );
    let uploaded = |reason: &str, message: &str| {
        vec![
            not_uploaded.clone(),
            valid[0].clone(),
            valid[1].clone(),
            condition("Uploaded", false, reason, message, t),
        ]
    };
    let base = json!({
        "startTime": t, "attempts": 1, "lastAttemptTime": t,
        "sourceRef": {"name": "src"},
        "targetRef": {"item": {"name": item}, "location": {"name": "lib",
                      "apiVersion": "imageregistry.vmware.com/v1alpha2", "kind": "ContentLibrary"}},
    });
    // (conditions, the stage `publish list` shows)
    let states: Vec<(Vec<Value>, &str)> = vec![
        (valid.to_vec(), "Uploaded"),
        (
            uploaded("NotStarted", "VM Publish task hasn't started."),
            "Uploaded (NotStarted)",
        ),
        (
            uploaded("Queued", "VM Publish task is queued."),
            "Uploaded (Queued)",
        ),
        (
            uploaded("Uploading", "Uploading item to content library."),
            "Uploaded (Uploading)",
        ),
        (
            vec![
                condition(
                    "Complete",
                    false,
                    "ImageUnavailable",
                    "VirtualMachineImage is not available",
                    t,
                ),
                condition(
                    "ImageAvailable",
                    false,
                    "VirtualMachineImageNotFound",
                    "VirtualMachineImage not found",
                    t,
                ),
                valid[0].clone(),
                valid[1].clone(),
                condition("Uploaded", true, "True", "", t),
            ],
            "ImageAvailable (VirtualMachineImageNotFound)",
        ),
    ];
    for (conditions, stage) in states {
        let mut status = base.clone();
        status["conditions"] = json!(conditions);
        requests
            .patch_status(
                item,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await
            .with_context(|| format!("writing the {stage} state"))?;
        let list = ctx.kubectl_ok(&["vmimage", "publish", "list", "-n", ns])?;
        let row = list.lines().find(|l| l.starts_with(item)).unwrap_or_default();
        ensure!(row.contains(stage), "publish list should show {stage:?}:\n{list}");
        // The plugin polls every 250 ms: give it time to see the state.
        tokio::time::sleep(Duration::from_millis(600)).await;
        if let Some(status) = wait.0.as_mut().context("running")?.try_wait()? {
            let out = wait.0.take().context("running")?.wait_with_output()?;
            bail!(
                "publish --wait exited ({status}) at the in-progress state {stage}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The library sync creates the image; the controller then finds it and completes.
    catalog::apply_image(
        &client,
        json!({
            "kind": "VirtualMachineImage",
            "metadata": {"name": image, "namespace": ns},
            "spec": {"providerRef": {"apiVersion": "imageregistry.vmware.com/v1alpha2",
                                     "kind": "ContentLibraryItem", "name": "clitem-by-hand"}},
            "status": {"name": item, "type": "OVF", "providerItemID": uuid,
                       "conditions": [condition("Ready", true, "True", "", t)]}
        }),
    )
    .await?;
    let mut status = base.clone();
    status["conditions"] = json!(
        [
            "Complete",
            "ImageAvailable",
            "SourceValid",
            "TargetValid",
            "Uploaded"
        ]
        .map(|c| condition(c, true, "True", "", t))
    );
    status["imageName"] = json!(image);
    status["ready"] = json!(true);
    status["completionTime"] = json!(t);
    requests
        .patch_status(
            item,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .context("writing the Complete state")?;
    let out = wait.exited_within_30s("Complete").await?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    ensure!(out.status.success(), "publish failed:\n{stdout}\n{stderr}");
    ensure!(
        stdout.contains(&format!("published: VirtualMachineImage {image}")),
        "{stdout}"
    );
    for line in [
        "Uploaded: NotStarted: VM Publish task hasn't started.",
        "Uploaded: Queued: VM Publish task is queued.",
        "Uploaded: Uploading: Uploading item to content library.",
        "ImageAvailable: VirtualMachineImageNotFound: VirtualMachineImage not found",
    ] {
        ensure!(stderr.contains(line), "progress line {line:?} missing:\n{stderr}");
    }
    ensure!(!stderr.contains("failed"), "{stderr}");
    Ok(())
}

/// A terminal reason written by hand ends `publish --wait` with exit 1 and VM Operator's
/// message; for UploadFailure it says which attempt failed and how to keep following.
pub async fn publish_wait_stops_at_a_terminal_reason(ctx: Ctx) -> Result<()> {
    let ns = ctx.namespace.as_str();
    let item = "src-failing";
    let (_, mut wait, requests) = publish_by_hand(&ctx, item, "60s").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while requests.get_opt(item).await?.is_none() {
        ensure!(Instant::now() < deadline, "no request {item} after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = "2026-12-01T10:00:00Z";
    let status = json!({
        "startTime": t, "attempts": 1, "lastAttemptTime": t,
        "sourceRef": {"name": "src"},
        "targetRef": {"item": {"name": item}, "location": {"name": "lib"}},
        "conditions": [
            condition("Complete", false, "HasNotBeenUploaded", "item hasn't been uploaded yet", t),
            condition("SourceValid", true, "True", "", t),
            condition("TargetValid", true, "True", "", t),
            condition("Uploaded", false, "UploadFailure", "the datastore is full", t),
        ],
    });
    requests
        .patch_status(
            item,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await?;
    let out = wait.exited_within_30s("UploadFailure").await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{:?}: {stderr}", out.status);
    ensure!(
        stderr.contains(
            "publish failed at Uploaded: UploadFailure: the datastore is full (attempt 1 of at most 3;"
        ) && stderr.contains(&format!("kubectl vmimage publish status {item} -n {ns}")),
        "{stderr}"
    );
    let list = ctx.kubectl_ok(&["vmimage", "publish", "list", "-n", ns])?;
    ensure!(list.contains("Uploaded failed: UploadFailure"), "{list}");
    Ok(())
}

/// The tests of this module.
pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::publish::publish_waits_for_the_new_image_and_resolve_finds_it,
        crate::publish::publish_failures_are_clear_and_create_nothing,
        crate::publish::publish_reports_a_failed_upload,
        crate::publish::publish_wait_follows_vm_operators_own_status_sequence,
        crate::publish::publish_wait_stops_at_a_terminal_reason,
    ]
}
