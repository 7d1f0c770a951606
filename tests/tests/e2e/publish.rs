//! `kubectl vmimage publish` end to end, against the simulated publisher.

use anyhow::{Result, ensure};
use serde_json::json;
use vmimage_testenv::{publisher::create_library, suite::Ctx};

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

/// The tests of this module.
pub fn all() -> Vec<(&'static str, vmimage_testenv::suite::TestFn)> {
    vmimage_testenv::tests![
        crate::publish::publish_waits_for_the_new_image_and_resolve_finds_it,
        crate::publish::publish_failures_are_clear_and_create_nothing,
        crate::publish::publish_reports_a_failed_upload,
    ]
}
